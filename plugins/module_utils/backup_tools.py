# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The dump and restore tools behind opsbook's backup modules: command lines for mongodump,
mongorestore, pg_dump, pg_restore, tar and age; parsers for their output; credential files;
pipelines; and an oplog replayer for servers without `applyOps` (FerretDB).

Passwords never reach a command line: mongodump and mongorestore read them from a 0600 YAML
file given with --config, the PostgreSQL tools from a 0600 PGPASSFILE, both in a private
temporary directory removed when the operation ends."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import BackupError

DONE_DUMPING_RE = re.compile(r"done dumping (\S+) \((\d+) documents?\)")
OPLOG_DUMPED_RE = re.compile(r"dumped (\d+) oplog entr(?:y|ies)")
RESTORED_RE = re.compile(r"(\d+) document\(s\) restored successfully\. (\d+) document\(s\) failed to restore")
SYSTEM_DATABASES = ("admin", "config", "local")


# --- credentials ---------------------------------------------------------------------------------


@contextlib.contextmanager
def private_dir(prefix: str = "opsbook-") -> Iterator[Path]:
    """A 0700 temporary directory for credential files, removed on exit whatever happens."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        os.chmod(path, 0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_secret_file(path: Path, content: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    return path


def mongo_tools_config(password: str) -> str:
    """The --config YAML of mongodump/mongorestore holding the password (JSON is valid YAML)."""
    return f"password: {json.dumps(password)}\n"


def mongo_tool_connection(params: dict[str, Any], workdir: Path, config_name: str) -> list[str]:
    """The connection arguments of a mongo tool for the login options; a password goes into the
    0600 --config file `config_name` in the private `workdir`, never onto the command line."""
    config = None
    if params.get("login_password"):
        config = write_secret_file(workdir / config_name, mongo_tools_config(params["login_password"]))
    return mongo_connection_args(params, config)


def pgpass_line(host: str, port: int, user: str, password: str) -> str:
    """One ~/.pgpass line matching any database; ':' and '\\' escaped as libpq requires."""

    def esc(value: str) -> str:
        return str(value).replace("\\", "\\\\").replace(":", "\\:")

    return f"{esc(host)}:{port}:*:{esc(user)}:{esc(password)}\n"


# --- MongoDB -------------------------------------------------------------------------------------


def mongo_connection_args(params: dict[str, Any], config_file: Path | None) -> list[str]:
    """Connection arguments of the mongo tools for the shared connection options (no password)."""
    args: list[str] = []
    if params.get("uri"):
        # A URI may carry a password: it goes into the config file too, never argv.
        raise BackupError("give login_host/login_port for the mongo tools; a uri would reach their command line")
    args += [f"--host={params['login_host']}", f"--port={params['login_port']}"]
    if params.get("login_user"):
        args += [f"--username={params['login_user']}", f"--authenticationDatabase={params['login_database']}"]
        if config_file is not None:
            args.append(f"--config={config_file}")
    if params.get("tls"):
        args.append("--ssl")
        if params.get("tls_ca_file"):
            args.append(f"--sslCAFile={params['tls_ca_file']}")
        if params.get("tls_certificate_key_file"):
            args.append(f"--sslPEMKeyFile={params['tls_certificate_key_file']}")
        if params.get("tls_allow_invalid_hostnames"):
            args.append("--sslAllowInvalidHostnames")
    return args


def _archive_argv(binary: str, connection: list[str], archive: str, gzip: bool) -> list[str]:
    """How mongodump's and mongorestore's argv start: the tool, its connection, the archive ("-":
    stdout or stdin) and --gzip."""
    argv = [binary, *connection, f"--archive={archive}" if archive != "-" else "--archive"]
    if gzip:
        argv.append("--gzip")
    return argv


def mongodump_argv(
    binary: str,
    connection: list[str],
    *,
    archive: str,
    gzip: bool = True,
    oplog: bool = False,
    databases: Sequence[str] = (),
    parallel_collections: int = 4,
    query: str | None = None,
    collection: str | None = None,
) -> list[str]:
    """mongodump's argv; `archive` "-" writes the archive to stdout (for a pipe into age)."""
    argv = _archive_argv(binary, connection, archive, gzip)
    if oplog:
        if databases:
            raise BackupError("mongodump --oplog dumps the whole server: leave databases empty or turn oplog off")
        argv.append("--oplog")
    if len(databases) == 1:
        argv.append(f"--db={databases[0]}")
    elif len(databases) > 1:
        raise BackupError("mongodump dumps one database or all of them; list one database or none")
    if collection:
        argv.append(f"--collection={collection}")
    if query:
        argv.append(f"--query={query}")
    argv.append(f"--numParallelCollections={parallel_collections}")
    return argv


def mongorestore_argv(
    binary: str,
    connection: list[str],
    *,
    archive: str,
    gzip: bool = True,
    drop: bool = True,
    ns_include: Sequence[str] = (),
    ns_exclude: Sequence[str] = (),
    ns_from: Sequence[str] = (),
    ns_to: Sequence[str] = (),
    parallel_collections: int = 4,
    insertion_workers: int = 1,
    oplog_replay: bool = False,
    oplog_limit: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    argv = _archive_argv(binary, connection, archive, gzip)
    if drop:
        argv.append("--drop")
    argv += [f"--nsInclude={ns}" for ns in ns_include]
    argv += [f"--nsExclude={ns}" for ns in ns_exclude]
    if len(ns_from) != len(ns_to):
        raise BackupError("nsFrom and nsTo come in pairs")
    for src, dst in zip(ns_from, ns_to, strict=True):
        argv += [f"--nsFrom={src}", f"--nsTo={dst}"]
    argv += [
        f"--numParallelCollections={parallel_collections}",
        f"--numInsertionWorkersPerCollection={insertion_workers}",
    ]
    if oplog_replay:
        argv.append("--oplogReplay")
        if oplog_limit:
            argv.append(f"--oplogLimit={oplog_limit}")
    argv += list(extra)
    return argv


def parse_mongodump_output(text: str) -> dict[str, Any]:
    """Per-namespace document counts and the oplog entry count from mongodump's log."""
    counts = {ns: int(n) for ns, n in DONE_DUMPING_RE.findall(text)}
    oplog = OPLOG_DUMPED_RE.search(text)
    return {"counts": counts, "oplog_entries": int(oplog.group(1)) if oplog else None}


def parse_mongorestore_output(text: str) -> dict[str, int] | None:
    match = RESTORED_RE.search(text)
    if not match:
        return None
    return {"restored": int(match.group(1)), "failed": int(match.group(2))}


def index_specs(client: Any, namespaces: Any) -> dict[str, list[dict[str, Any]]]:
    """The secondary indexes of each namespace as JSON-safe specs (key as [field, direction]
    pairs, the other options as they are, without v and ns), for the manifest."""
    specs: dict[str, list[dict[str, Any]]] = {}
    for ns in sorted(namespaces):
        db, coll = ns.split(".", 1)
        found = []
        for index in client[db][coll].list_indexes():
            if index["name"] == "_id_":
                continue
            options = {k: v for k, v in index.items() if k not in ("v", "ns", "key")}
            found.append({"key": [[field, direction] for field, direction in index["key"].items()], **options})
        if found:
            specs[ns] = found
    return specs


def create_indexes(client: Any, specs: dict[str, list[dict[str, Any]]], rename: Any = lambda db: db) -> list[str]:
    """Create the manifest's indexes (createIndexes without the ns option that FerretDB rejects);
    returns the problems: indexes that are missing afterwards."""
    from pymongo import IndexModel

    problems = []
    for ns, indexes in specs.items():
        db, coll = ns.split(".", 1)
        collection = client[rename(db)][coll]
        models = [
            IndexModel([tuple(pair) for pair in spec["key"]], **{k: v for k, v in spec.items() if k != "key"})
            for spec in indexes
        ]
        collection.create_indexes(models)
        present = {index["name"] for index in collection.list_indexes()}
        problems += [
            f"{ns}: index {spec['name']} missing after restore" for spec in indexes if spec["name"] not in present
        ]
    return problems


def tail(text: str, lines: int = 8) -> str:
    """The last lines of a tool's output, without blank lines, for an error message."""
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def ts_dict(ts: Any) -> dict[str, int] | None:
    """A BSON Timestamp as {"t": seconds, "i": ordinal} (JSON-safe)."""
    if ts is None:
        return None
    return {"t": int(ts.time), "i": int(ts.inc)}


def oplog_limit(value: str) -> str:
    """Normalise a PITR target to mongorestore's --oplogLimit form "<seconds>[:<ordinal>]"."""
    match = re.fullmatch(r"(\d+)(?::(\d+))?", str(value).strip())
    if not match:
        raise BackupError(f"oplog limit {value!r} is not <epoch seconds>[:<ordinal>], as in 1641916800:1")
    return f"{match.group(1)}:{match.group(2) or 0}"


def ts_tuple(value: dict[str, int] | str) -> tuple[int, int]:
    if isinstance(value, dict):
        return (int(value["t"]), int(value["i"]))
    seconds, ordinal = oplog_limit(value).split(":")
    return (int(seconds), int(ordinal))


# --- PostgreSQL ----------------------------------------------------------------------------------


def pg_env(
    pgpass: Path, host: str, port: int, user: str, *, sslmode: str | None = None, sslrootcert: str | None = None
) -> dict[str, str]:
    """The environment of libpq's tools: the login (password in `pgpass`) and the TLS settings
    psycopg2 connects with (opsbook.runbooks.postgres's ssl_mode and ca_cert)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGPASSFILE": str(pgpass), "PGHOST": host, "PGPORT": str(port), "PGUSER": user, "PGAPPNAME": "opsbook"})
    if sslmode:
        env["PGSSLMODE"] = sslmode
    if sslrootcert:
        env["PGSSLROOTCERT"] = sslrootcert
    return env


def pg_dump_argv(binary: str, database: str, output: str, snapshot: str | None = None, jobs: int = 1) -> list[str]:
    argv = [binary, "--format=custom", "--no-password"]
    if output != "-":
        argv.append(f"--file={output}")
    if snapshot:
        argv.append(f"--snapshot={snapshot}")
    argv.append(f"--dbname={database}")
    return argv


def pg_restore_argv(binary: str, database: str, archive: str, jobs: int = 1, clean: bool = True) -> list[str]:
    argv = [binary, "--no-password", "--exit-on-error", f"--dbname={database}", f"--jobs={jobs}", "--no-owner"]
    if clean:
        argv += ["--clean", "--if-exists"]
    argv.append(archive)
    return argv


# --- pipelines and encryption --------------------------------------------------------------------


def run_tool(argv: list[str], env: dict[str, str] | None = None, stdin: IO[bytes] | None = None) -> tuple[int, str]:
    """Run one tool; return its exit status and combined output (text)."""
    proc = subprocess.run(argv, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def run_to_file(
    argv: list[str], output: Path, env: dict[str, str] | None = None, age_recipients: Sequence[str] = ()
) -> str:
    """Run a tool that writes its data to stdout into `output` (0600), through `age` when
    recipients are given. Returns the tool's stderr; raises BackupError naming the failing step."""
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as sink, tempfile.TemporaryFile() as err1, tempfile.TemporaryFile() as err2:
        first = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE if age_recipients else sink, stderr=err1)
        second = None
        if age_recipients:
            age = ["age", *[f"--recipient={r}" for r in age_recipients]]
            second = subprocess.Popen(age, stdin=first.stdout, stdout=sink, stderr=err2)
            if first.stdout is not None:  # always, with stdout=PIPE
                first.stdout.close()
        rc1 = first.wait()
        rc2 = second.wait() if second else 0
        err1.seek(0)
        err2.seek(0)
        out1 = err1.read().decode("utf-8", "replace")
        out2 = err2.read().decode("utf-8", "replace")
        sink.flush()
        os.fsync(sink.fileno())
    if rc1 != 0:
        raise BackupError(f"{Path(argv[0]).name} failed (exit {rc1}): {tail(out1)}")
    if rc2 != 0:
        raise BackupError(f"age encryption failed (exit {rc2}): {tail(out2)}")
    if output.stat().st_size == 0:
        raise BackupError(f"{Path(argv[0]).name} exited 0 but wrote no data to {output.name}")
    return out1


@contextlib.contextmanager
def decrypted(
    path: Path, encryption: dict[str, Any] | None, identity_file: str | None, workdir: Path
) -> Iterator[Path]:
    """The plaintext of a backup file: the file itself, or an age-decrypted copy in `workdir`."""
    if not encryption:
        yield path
        return
    if not identity_file:
        raise BackupError(f"{path.name} is encrypted with age: give the identity file (age_identity_file)")
    plain = workdir / (path.name + ".plain")
    rc, out = run_tool(["age", "--decrypt", f"--identity={identity_file}", f"--output={plain}", str(path)])
    if rc != 0:
        raise BackupError(f"age could not decrypt {path.name}: {tail(out)}")
    try:
        yield plain
    finally:
        plain.unlink(missing_ok=True)


# --- oplog replay --------------------------------------------------------------------------------


def _apply_diff(update: dict[str, Any], diff: dict[str, Any], prefix: str = "") -> None:
    """Translate a $v:2 oplog diff into $set/$unset (u/i update fields, d deletes, s<field> recurse)."""
    for key, value in diff.items():
        if key in ("u", "i"):
            for field, field_value in value.items():
                update.setdefault("$set", {})[prefix + field] = field_value
        elif key == "d":
            for field in value:
                update.setdefault("$unset", {})[prefix + field] = ""
        elif key.startswith("s") and isinstance(value, dict) and not value.get("a"):
            _apply_diff(update, value, f"{prefix}{key[1:]}.")
        else:
            raise BackupError(f"oplog diff field {key!r} (array diff) is not supported by the opsbook replayer")


def oplog_operation(entry: dict[str, Any]) -> tuple[str, str, Any]:
    """(kind, namespace, arguments) for one oplog entry, kind in insert, update, replace, delete,
    command, noop; the logic of replay_oplog, testable on plain dicts."""
    op, ns = entry.get("op"), entry.get("ns", "")
    if op == "n":
        return ("noop", ns, None)
    if op == "i":
        return ("insert", ns, entry["o"])
    if op == "d":
        return ("delete", ns, entry["o"])
    if op == "u":
        body = entry["o"]
        selector = entry.get("o2") or {"_id": body.get("_id")}
        if "diff" in body and body.get("$v") == 2:
            update: dict[str, Any] = {}
            _apply_diff(update, body["diff"])
            return ("update", ns, (selector, update))
        operators = {k: v for k, v in body.items() if k.startswith("$") and k != "$v"}
        if operators:
            return ("update", ns, (selector, operators))
        return ("replace", ns, (selector, body))
    if op == "c":
        return ("command", ns, entry["o"])
    raise BackupError(f"oplog entry op {op!r} on {ns} is not supported by the opsbook replayer")


def replay_oplog(
    client: Any, entries: Any, limit: tuple[int, int], after: tuple[int, int] | None = None, ns_filter: Any = None
) -> dict[str, Any]:
    """Apply oplog entries with after < ts < limit (mongorestore's --oplogLimit is exclusive)
    through ordinary CRUD commands, idempotently (inserts upsert, deletes of missing documents
    are no-ops). For servers without applyOps. Returns counts per kind and the last ts applied."""
    applied: dict[str, int] = {}
    last = None
    for entry in entries:
        ts = (entry["ts"].time, entry["ts"].inc)
        if after is not None and ts <= after:
            continue
        if ts >= limit:
            break
        kind, ns, args = oplog_operation(entry)
        db_name, _dot, coll_name = ns.partition(".")
        if kind == "noop" or db_name in SYSTEM_DATABASES or (ns_filter and not ns_filter(ns)):
            continue
        coll = client[db_name][coll_name]
        if kind == "insert":
            coll.replace_one({"_id": args["_id"]}, args, upsert=True)
        elif kind == "delete":
            coll.delete_one(args)
        elif kind == "update":
            coll.update_one(args[0], args[1])
        elif kind == "replace":
            coll.replace_one(args[0], args[1])
        else:
            _replay_command(client, db_name, args)
        applied[kind] = applied.get(kind, 0) + 1
        last = ts
    return {"applied": applied, "last_ts": {"t": last[0], "i": last[1]} if last else None}


def _replay_command(client: Any, db_name: str, command: dict[str, Any]) -> None:
    name = next(iter(command))
    if name == "drop":
        client[db_name].drop_collection(command["drop"])
    elif name == "dropDatabase":
        client.drop_database(db_name)
    elif name == "create":
        if command["create"] not in client[db_name].list_collection_names():
            client[db_name].create_collection(command["create"])
    else:
        raise BackupError(f"oplog command {name!r} in {db_name} is not supported by the opsbook replayer")
