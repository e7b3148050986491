"""A real RFC 3161 time-stamping authority on loopback: `openssl ts -reply` behind http.server.

The certificates are made once with `cryptography`: a CA, a TSA certificate with the critical
timeStamping extended key usage, and for the hostile modes one without it and one that expired.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from rfc3161_client._rust import parse_timestamp_request

CONFIG = """\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {serial}
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

# What the TSA answers, by mode: a correct token, or one of the ways a TSA can be wrong.
GOOD, GARBAGE, DOWN, OTHER_HASH, WRONG_NONCE, NO_EKU, EXPIRED, REJECTED = (
    "good",
    "garbage",
    "down",
    "other-hash",
    "wrong-nonce",
    "no-eku",
    "expired",
    "rejected",
)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Pki:
    """The CA and the TSA's certificates, as files in `folder`."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    def signer(self, mode: str) -> tuple[Path, Path]:
        name = {NO_EKU: "noeku", EXPIRED: "expired"}.get(mode, "tsa")
        return self.folder / f"{name}.pem", self.folder / f"{name}.key"

    @classmethod
    def make(cls, folder: Path) -> Pki:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (
            x509.CertificateBuilder()
            .subject_name(_name("archiver test CA"))
            .issuer_name(_name("archiver test CA"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=30))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        (folder / "ca.pem").write_bytes(_pem(ca))
        leaves = {
            "tsa": (True, now + datetime.timedelta(days=365)),
            "noeku": (False, now + datetime.timedelta(days=365)),
            "expired": (True, now - datetime.timedelta(days=1)),
        }
        for name, (eku, until) in leaves.items():
            key = ec.generate_private_key(ec.SECP256R1())
            builder = (
                x509.CertificateBuilder()
                .subject_name(_name(f"archiver test TSA ({name})"))
                .issuer_name(ca.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=10))
                .not_valid_after(until)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            )
            if eku:
                builder = builder.add_extension(
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
                )
            (folder / f"{name}.pem").write_bytes(_pem(builder.sign(ca_key, hashes.SHA256())))
            (folder / f"{name}.key").write_bytes(_key_pem(key))
        (folder / "serial").write_text("01\n")
        (folder / "tsa.cnf").write_text(CONFIG.format(serial=folder / "serial"))
        return cls(folder)

    def reply(self, query: bytes, mode: str = GOOD) -> bytes:
        """`openssl ts -reply` to `query` (DER), signed as `mode` says."""
        with tempfile.TemporaryDirectory() as tmp:
            queryfile = Path(tmp) / "query.tsq"
            queryfile.write_bytes(query)
            signer, key = self.signer(mode)
            command = ["openssl", "ts", "-reply", "-queryfile", str(queryfile)]
            if mode == REJECTED:  # a query openssl cannot read: it answers "rejection"
                queryfile.write_bytes(b"\x30\x03\x02\x01\x07")
            command += ["-signer", str(signer), "-inkey", str(key)]
            command += ["-config", str(self.folder / "tsa.cnf"), "-out", str(Path(tmp) / "r.tsr")]
            subprocess.run(command, check=True, capture_output=True)
            return (Path(tmp) / "r.tsr").read_bytes()


class Tsa:
    """The TSA server; `mode` may be changed while it runs, `queries` counts what it was asked."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.mode = GOOD
        self.queries = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/tsa"

    def start(self) -> Tsa:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                query = self.rfile.read(length)
                tsa.queries += 1
                if tsa.mode == DOWN:
                    self.send_error(503)
                    return
                body = (
                    b"0\x82 this is not a time-stamp reply"
                    if tsa.mode == GARBAGE
                    else tsa.answer(query)
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def answer(self, query: bytes) -> bytes:
        if self.mode in (OTHER_HASH, WRONG_NONCE):
            query = _flipped(query, self.mode)
        return self.pki.reply(query, self.mode)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _flipped(query: bytes, mode: str) -> bytes:
    """`query` with one bit of its message imprint (or of its nonce) flipped: a correct token for
    it is a token for another hash (or with another nonce). The fields are found by parsing the
    query with rfc3161-client, not by hand."""
    parsed = parse_timestamp_request(query)
    if mode == OTHER_HASH:
        field = parsed.message_imprint.message
    else:
        nonce = parsed.nonce
        field = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
    index = query.rindex(field) + len(field) - 1
    flipped = bytearray(query)
    flipped[index] ^= 1
    return bytes(flipped)


def openssl_verify(token: Path, ca: Path, *, data: Path | None = None, digest: str = "") -> bool:
    """`openssl ts -verify` of a reply, independently of archiver's code."""
    command = ["openssl", "ts", "-verify", "-in", str(token), "-CAfile", str(ca)]
    command += ["-data", str(data)] if data is not None else ["-digest", digest]
    return subprocess.run(command, capture_output=True).returncode == 0


def available() -> bool:
    return shutil.which("openssl") is not None
