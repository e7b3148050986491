"""The anonymous signature of a WACZ package, as the WACZ Signing and Verification specification
0.1.0 (Webrecorder) defines it.

`datapackage-digest.json` holds `hash`, "sha256:<hex>" of `datapackage.json`, and `signedData`:
`hash` again, `created` (the datapackage's own), `software`, `version` (of the signing
specification), `signature` and `publicKey`, and no other property. What is signed is the `hash`
string itself, its ASCII bytes, with ECDSA over SHA-256; `signature` is the DER signature in base64
and `publicKey` the key's DER SubjectPublicKeyInfo in base64. That is what authsign writes, and what
py-wacz, ReplayWeb.page and openssl (`openssl dgst -sha256 -verify`) read.

A trusted timestamp over the signature (RFC 3161) has no place in an anonymous `signedData`: a
`Timestamper` (`authority`: the TSAs of `[evidence] tsa_urls`) is handed the signature as it stands
in the file and may return a token, which the export keeps beside the package.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import tsa
from .keys import fingerprint, public_b64

log = logging.getLogger(__name__)

SPEC_VERSION = "0.1.0"
ANONYMOUS_FIELDS = frozenset({"hash", "created", "software", "version", "signature", "publicKey"})

# Takes the bytes of `signedData.signature` (its base64 text, as the specification's `timeSignature`
# stamps it) and returns an RFC 3161 time-stamp token, or None without a time-stamp authority.
Timestamper = Callable[[bytes], bytes | None]


def authority(
    urls: Iterable[str], roots: list[x509.Certificate], timeout: tuple[float, float]
) -> Timestamper:
    """A `Timestamper` asking the time-stamping authorities of `[evidence] tsa_urls` (tsa.py), the
    first that gives a token that holds. None when none does: the package is signed all the same,
    and the warning says why it has no token."""
    urls = list(urls)

    def stamp(signature: bytes) -> bytes | None:
        try:
            return tsa.stamp(signature, urls, roots, timeout).reply
        except tsa.TokenRefused as exc:
            log.warning("the signature was not time-stamped: %s", exc)
            return None

    return stamp


@dataclass(frozen=True)
class Signed:
    """A `signedData` object and what a time-stamp authority returned for it."""

    signed_data: dict[str, str]
    token: bytes | None


def sign(
    digest: str,
    created: str,
    key: ec.EllipticCurvePrivateKey,
    software: str,
    timestamper: Timestamper | None = None,
) -> Signed:
    """The anonymous `signedData` for `digest` ("sha256:<hex>" of datapackage.json)."""
    signature = key.sign(digest.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    encoded = base64.b64encode(signature).decode("ascii")
    signed_data = {
        "hash": digest,
        "created": created,
        "software": software,
        "version": SPEC_VERSION,
        "signature": encoded,
        "publicKey": public_b64(key.public_key()),
    }
    token = timestamper(encoded.encode("ascii")) if timestamper else None
    return Signed(signed_data, token)


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking an anonymous `signedData`: `problem` is None when it holds."""

    problem: str | None
    fingerprint: str | None  # of the public key that signed, when one could be read


def check(signed_data: Any, digest: str) -> SignatureCheck:
    """Whether `signed_data` is a valid anonymous signature of `digest` (the hash of the package's
    datapackage.json as computed now). Accepts the raw r||s signatures of older ArchiveWeb.page
    packages too, and their P-384 keys."""
    if not isinstance(signed_data, dict):
        return SignatureCheck("signedData is not an object", None)
    if "publicKey" not in signed_data:
        return SignatureCheck("signedData has no publicKey (not an anonymous signature)", None)
    extra = sorted(set(signed_data) - ANONYMOUS_FIELDS)
    if extra:
        return SignatureCheck(f"signedData has properties the format lacks: {extra[0]}", None)
    values = [signed_data.get(name) for name in ("hash", "signature", "publicKey")]
    if not all(isinstance(v, str) for v in values):
        return SignatureCheck("signedData lacks hash, signature or publicKey as text", None)
    signed_hash, signature_b64, key_b64 = (str(v) for v in values)
    key = _public_key(key_b64)
    if key is None:
        return SignatureCheck("signedData.publicKey is not a base64 ECDSA public key", None)
    found = fingerprint(key)
    if signed_hash != digest:
        return SignatureCheck(
            f"signedData.hash {signed_hash[:80]} is not that of datapackage.json", found
        )
    signature = _b64(signature_b64)
    if signature is None:
        return SignatureCheck("signedData.signature is not base64", found)
    if not _verifies(key, signature, signed_hash.encode("ascii", "replace")):
        return SignatureCheck("the signature does not match the hash and public key", found)
    return SignatureCheck(None, found)


def _public_key(text: str) -> ec.EllipticCurvePublicKey | None:
    der = _b64(text)
    if der is None:
        return None
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, ec.EllipticCurvePublicKey) else None


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _verifies(key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    size = (key.curve.key_size + 7) // 8
    candidates = [signature]
    if len(signature) == 2 * size:  # raw r||s (IEEE P1363, what WebCrypto returns)
        r, s = signature[:size], signature[size:]
        candidates.append(encode_dss_signature(int.from_bytes(r), int.from_bytes(s)))
    for candidate in candidates:
        try:
            key.verify(candidate, data, ec.ECDSA(hashes.SHA256()))
            return True
        except InvalidSignature:
            continue
    return False
