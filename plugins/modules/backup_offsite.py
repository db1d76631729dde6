#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Copy complete opsbook backups to S3-compatible storage, each file checked after upload."""

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_offsite
short_description: Copy complete backups to S3-compatible storage and check every object after upload
description:
  - Uploads the data files, then the manifest, then the completion marker (last, as on disk) of
    each complete backup of O(targets) under C(<prefix>/<target>/<tier>/<id>/), the third copy of
    seed 004's 3-2-1 strategy.
  - After each upload the object is read back and its SHA-256 compared with the manifest; a
    mismatch or an unreachable endpoint fails the task and never uploads the marker, so an
    interrupted copy is incomplete offsite too.
  - A backup whose marker is already in the bucket with matching objects is skipped (reruns change nothing).
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.backup.catalog
  - opsbook.runbooks.attributes
options:
  latest_only:
    description: Copy only the newest complete backup of each target (instead of every one).
    type: bool
    default: true
  bucket:
    description: The bucket; created when missing.
    type: str
    required: true
  prefix:
    description: Key prefix in the bucket.
    type: str
    default: opsbook
  endpoint_url:
    description: S3 endpoint (for MinIO, moto or another S3-compatible store). Unset uses AWS.
    type: str
  region:
    description: Region.
    type: str
    default: us-east-1
  access_key:
    description: Access key id.
    type: str
  secret_key:
    description: Secret access key. Never logged.
    type: str
  timeout:
    description: Connect and read timeout in seconds.
    type: int
    default: 30
requirements:
  - boto3
attributes:
  check_mode:
    support: full
    details: In check mode it lists what it would upload.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Copy the newest backups offsite
  opsbook.runbooks.backup_offsite:
    root: /var/backups/opsbook
    bucket: ecommerce-backups-offsite
    region: eu-central-1
    access_key: "{{ vault_s3_access_key }}"
    secret_key: "{{ vault_s3_secret_key }}"
"""

RETURN = r"""
uploaded:
  description: Backups copied, as C(target/tier/id) with their object count.
  returned: always
  type: list
  elements: dict
  sample: [{backup: mongodb/daily/20250111T020000Z, objects: 3, bytes: 104857600}]
skipped:
  description: Backups already complete in the bucket.
  returned: always
  type: list
  elements: str
  sample: [postgres/daily/20250111T020000Z]
"""

import hashlib
import json
import traceback
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import (
    MANIFEST,
    MARKER,
    BackupError,
    catalog_argument_spec,
    list_backups,
)

BOTO3_IMPORT_ERROR = None
try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    BOTO3_IMPORT_ERROR = traceback.format_exc()
    BotoCoreError = ClientError = Exception  # type: ignore[assignment,misc]


def object_sha256(s3, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(1024 * 1024), b""):
        digest.update(chunk)
    return digest.hexdigest()


def already_offsite(s3, bucket: str, key_prefix: str, manifest: dict) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=f"{key_prefix}/{MARKER}")
        remote = json.loads(s3.get_object(Bucket=bucket, Key=f"{key_prefix}/{MANIFEST}")["Body"].read())
    except ClientError:
        return False
    return remote.get("files") == manifest.get("files")


def upload_backup(s3, bucket: str, key_prefix: str, record: dict) -> dict:
    path = Path(record["path"])
    sizes = 0
    for entry in record["manifest"]["files"]:
        key = f"{key_prefix}/{entry['name']}"
        s3.upload_file(str(path / entry["name"]), bucket, key, ExtraArgs={"Metadata": {"sha256": entry["sha256"]}})
        got = object_sha256(s3, bucket, key)
        if got != entry["sha256"]:
            raise BackupError(f"s3://{bucket}/{key} reads back with SHA-256 {got}, manifest says {entry['sha256']}")
        sizes += entry["size"]
    for name in (MANIFEST, MARKER):
        s3.upload_file(str(path / name), bucket, f"{key_prefix}/{name}")
    return {
        "backup": f"{record['target']}/{record['tier']}/{record['id']}",
        "objects": len(record["manifest"]["files"]) + 2,
        "bytes": sizes,
    }


def bucket_location(region: str) -> dict:
    """create_bucket's location: every region but us-east-1 must be named (S3 refuses a bucket
    created without it at a region's endpoint, IllegalLocationConstraintException)."""
    return {} if region in ("", "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}


def main() -> None:
    module = AnsibleModule(
        argument_spec=catalog_argument_spec(
            latest_only={"type": "bool", "default": True},
            bucket={"type": "str", "required": True},
            prefix={"type": "str", "default": "opsbook"},
            endpoint_url={"type": "str"},
            region={"type": "str", "default": "us-east-1"},
            access_key={"type": "str", "no_log": False},
            secret_key={"type": "str", "no_log": True},
            timeout={"type": "int", "default": 30},
        ),
        supports_check_mode=True,
    )
    if BOTO3_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)
    p = module.params
    catalog = list_backups(p["root"], p["targets"])
    records = catalog["backups"]
    if p["latest_only"]:
        records = [r for r in records if catalog["targets"][r["target"]]["latest"] == r["id"]]
    uploaded, skipped = [], []
    s3 = boto3.client(
        "s3",
        endpoint_url=p["endpoint_url"],
        region_name=p["region"],
        aws_access_key_id=p["access_key"],
        aws_secret_access_key=p["secret_key"],
        config=Config(connect_timeout=p["timeout"], read_timeout=p["timeout"], retries={"max_attempts": 2}),
    )
    where = f"s3://{p['bucket']} at {p['endpoint_url'] or 'AWS'}"
    try:
        try:
            s3.head_bucket(Bucket=p["bucket"])
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
            if not module.check_mode:
                s3.create_bucket(Bucket=p["bucket"], **bucket_location(p["region"]))
        for record in records:
            key_prefix = f"{p['prefix']}/{record['target']}/{record['tier']}/{record['id']}"
            if not module.check_mode and already_offsite(s3, p["bucket"], key_prefix, record["manifest"]):
                skipped.append(f"{record['target']}/{record['tier']}/{record['id']}")
                continue
            if module.check_mode:
                uploaded.append(
                    {
                        "backup": key_prefix,
                        "objects": len(record["manifest"]["files"]) + 2,
                        "bytes": record["size_bytes"],
                    }
                )
                continue
            uploaded.append(upload_backup(s3, p["bucket"], key_prefix, record))
    except (BotoCoreError, ClientError, BackupError, OSError) as err:
        module.fail_json(
            msg=f"Offsite copy to {where} failed; copies without their marker are incomplete: {err}",
            uploaded=uploaded,
            exception=traceback.format_exc(),
        )
    module.exit_json(changed=bool(uploaded), uploaded=uploaded, skipped=skipped)


if __name__ == "__main__":
    main()
