"""What the collection's unit tests share: where the collection is, and a self-signed certificate
with a local TLS server for the TLS checks (tests/conftest.py passes the two on to the project's
integration tests).

The tests import this module by its collection path,
ansible_collections.opsbook.runbooks.tests.unit.helpers, as ansible-test units does (from the
installed collection) and as plain pytest does in the checkout (through the .collections link)."""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

# <collections dir>/ansible_collections/opsbook/runbooks/tests/unit/helpers.py; not resolved, so
# that in the checkout these are the paths under the .collections link.
COLLECTION = Path(__file__).parents[2]
COLLECTIONS_PATH = COLLECTION.parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a dead target or a server of the test's own)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    """Wait until something listens on 127.0.0.1:`port`; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def self_signed_certificate(directory: Path, common_name: str, days: int) -> tuple[Path, Path]:
    """Write a self-signed EC certificate for `common_name`, valid from yesterday for `days` days,
    and its key to directory/cert.pem and directory/key.pem; return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextlib.contextmanager
def tls_server(cert: Path, key: Path, minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2) -> Iterator[int]:
    """A TLS server on a free loopback port, in a thread, accepting `minimum` and newer; yields
    the port. Below TLS 1.2 it runs at security level 0 so that the old versions' ciphers work."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = minimum
    if minimum < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers("ALL:@SECLEVEL=0")
    context.load_cert_chain(cert, key)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _address = server.accept()
            except OSError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(2)
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
