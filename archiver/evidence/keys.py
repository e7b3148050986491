"""The signing key pair of `archiver keys` and `export --sign`: ECDSA P-256, made and read with
`cryptography`, kept outside every archive.

The private key is a PKCS#8 PEM file of mode 0600; the public key beside it a SubjectPublicKeyInfo
PEM file, which is what a WACZ's `signedData.publicKey` holds (as base64 DER). The fingerprint is the
SHA-256 of that DER, so anyone can recompute it with standard tools:
`openssl pkey -pubin -in signing-key.pub.pem -outform DER | sha256sum`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import UsageError

log = logging.getLogger(__name__)

PRIVATE_NAME = "signing-key.pem"
PUBLIC_NAME = "signing-key.pub.pem"
MAX_KEY_BYTES = 64 * 1024  # a P-256 PEM is under 300 bytes: anything larger is not a key


@dataclass(frozen=True)
class KeyInfo:
    """Where a key pair is and who it identifies."""

    private_key: Path | None  # None when only the public key was read
    public_key: Path | None
    fingerprint: str  # "sha256:<hex>" of the public key's DER
    public_pem: str

    def line(self) -> str:
        return f"public key fingerprint {self.fingerprint}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "private_key": str(self.private_key) if self.private_key else None,
            "public_key": str(self.public_key) if self.public_key else None,
            "fingerprint": self.fingerprint,
            "public_key_pem": self.public_pem,
        }


def default_dir() -> Path:
    """$XDG_CONFIG_HOME/archiver/keys, or ~/.config/archiver/keys (the XDG base directory rule)."""
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if Path(base).is_absolute() else Path.home() / ".config"
    return root / "archiver" / "keys"


def public_der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: ec.EllipticCurvePublicKey) -> str:
    return "sha256:" + hashlib.sha256(public_der(key)).hexdigest()


def public_b64(key: ec.EllipticCurvePublicKey) -> str:
    return base64.b64encode(public_der(key)).decode("ascii")


def create(directory: Path | None = None) -> KeyInfo:
    """A new key pair in `directory` (default: `default_dir()`); never over an existing one, never
    inside an archive or a git work tree."""
    directory = (directory or default_dir()).expanduser().absolute()
    _refuse_inside_repository(directory)
    private_path, public_path = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    for existing in (private_path, public_path):
        if existing.exists():
            raise UsageError(
                f"a key already exists at {existing}; move it aside to make a new one "
                "(packages signed with it name its public key)"
            )
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror or exc}") from None
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_new(private_path, pem, 0o600)  # created 0600: never readable by others, even briefly
    _write_new(public_path, public_pem, 0o644)
    log.info("made a signing key at %s", private_path)
    return KeyInfo(private_path, public_path, fingerprint(key.public_key()), public_pem.decode())


def load_private(path: Path | None = None) -> ec.EllipticCurvePrivateKey:
    """The private key at `path` (default: the one in `default_dir()`), refused if others may read
    it, if it lies in an archive or git work tree, or if it is not an ECDSA P-256 key."""
    path = (path or default_dir() / PRIVATE_NAME).expanduser().absolute()
    data = _read_key_file(path)
    _refuse_inside_repository(path.parent)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsageError(
            f"{path} may be read by others (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 600 {path}` first"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # an encrypted key: asks for a passphrase, which we do not take
        raise UsageError(f"{path} is encrypted; archiver needs an unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(f"{path} is not a PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise UsageError(f"{path} is not an ECDSA P-256 key (make one with `archiver keys init`)")
    return key


def show(directory: Path | None = None) -> KeyInfo:
    """The public key of the pair in `directory`: from its private key if present (which is what
    signs), else from the public key file."""
    directory = (directory or default_dir()).expanduser().absolute()
    private_path, public_path = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    if private_path.exists():
        public = load_private(private_path).public_key()
        has_private: Path | None = private_path
    else:
        data = _read_key_file(public_path)
        try:
            loaded = serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm):
            raise UsageError(f"{public_path} is not a PEM public key") from None
        if not isinstance(loaded, ec.EllipticCurvePublicKey):
            raise UsageError(f"{public_path} is not an ECDSA public key")
        public, has_private = loaded, None
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return KeyInfo(
        has_private, public_path if public_path.exists() else None, fingerprint(public), pem
    )


def _read_key_file(path: Path) -> bytes:
    if not path.exists():
        raise UsageError(f"no signing key at {path}: run `archiver keys init` to make one")
    if not path.is_file():
        raise UsageError(f"{path} is not a key file")
    try:
        with path.open("rb") as f:
            data = f.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {(exc.strerror or str(exc)).lower()}") from None
    if len(data) > MAX_KEY_BYTES:
        raise UsageError(f"{path} is not a PEM key (larger than {MAX_KEY_BYTES} bytes)")
    return data


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        path.chmod(mode)  # the umask may have taken bits off the public key's mode
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None


def _refuse_inside_repository(directory: Path) -> None:
    """A private key in an archive or a git work tree is one `git add` away from being published."""
    for place in (directory, *directory.parents):
        if (place / "archiver.toml").is_file():
            raise UsageError(
                f"{directory} is inside the archive {place}; keep keys outside it (--dir)"
            )
        if (place / ".git").exists():
            raise UsageError(
                f"{directory} is inside the git work tree {place}; keep keys outside it (--dir)"
            )
