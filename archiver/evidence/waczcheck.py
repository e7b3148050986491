"""`archiver verify --wacz FILE`: a WACZ package checked as the WACZ signing specification's
verification steps say, by anyone holding the file.

1. Every file the package holds against the size and hash `datapackage.json` lists for it (and no
   file unlisted but the two datapackage files).
2. `datapackage.json` against the hash in `datapackage-digest.json`.
3. The anonymous signature of that hash against the public key it names (signing.py); its
   `created` against the datapackage's.

The package is hostile input: every read is bounded and every failure a check that failed.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..words import counted
from . import signing
from .claims import Check

METADATA_LIMIT = 64 * 1024 * 1024  # datapackage.json of a 100,000-file package is ~20 MB
CHUNK = 1024 * 1024
DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"
SIGNER = re.compile(r"sha256:[0-9a-fA-F]{64}")
# What a damaged or hostile zip raises when read.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


@dataclass
class PackageReport:
    path: Path
    checks: list[Check] = field(default_factory=list)
    signed_by: str | None = None  # fingerprint of the key whose signature holds

    @property
    def damaged(self) -> bool:
        return any(not c.ok for c in self.checks)

    def summary(self) -> str:
        if self.damaged:
            failed = sum(not c.ok for c in self.checks)
            return f"{self.path}: {counted(failed, 'check')} failed; do not trust this package"
        if self.signed_by:
            return f"{self.path}: intact, signed by {self.signed_by}"
        return f"{self.path}: intact, not signed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "ok": not self.damaged,
            "signed_by": self.signed_by,
            "checks": [c.as_dict() for c in self.checks],
        }


def check_package(path: Path, signer: str | None = None) -> PackageReport:
    """Every check of the package at `path`; with `signer` (a fingerprint, "sha256:<hex>"), also
    that the signature is that key's."""
    if signer is not None and not SIGNER.fullmatch(signer):
        raise UsageError(
            f"--signer takes a fingerprint as `archiver keys show` prints it: {signer}"
        )
    if not path.is_file():
        raise UsageError(f"no WACZ file at {path}")
    report = PackageReport(path)
    try:
        package = zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        report.checks.append(Check("zip", False, f"not a readable ZIP file ({exc})"))
        return report
    with package:
        datapackage = _json_member(package, DATAPACKAGE, report)
        if datapackage is None:
            return report
        data, listing = datapackage
        report.checks.append(_files(package, listing))
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        digest_member = _json_member(package, DIGEST, report)
        if digest_member is None:
            return report
        _, digest_file = digest_member
        stated = digest_file.get("hash")
        report.checks.append(
            Check("datapackage", True, f"{DATAPACKAGE} matches {DIGEST} ({digest})")
            if stated == digest
            else Check(
                "datapackage", False, f"{DATAPACKAGE} is {digest}, {DIGEST} says {_short(stated)}"
            )
        )
        report.checks.append(_signature(digest_file.get("signedData"), digest, listing, report))
    if signer is not None:
        report.checks.append(
            Check("signer", True, f"the signature is by {signer}")
            if report.signed_by == signer.lower()
            else Check(
                "signer", False, f"the package is not signed by {signer}: its signer is unknown"
            )
        )
    return report


def _json_member(
    package: zipfile.ZipFile, name: str, report: PackageReport
) -> tuple[bytes, dict[str, Any]] | None:
    """A metadata file's bytes and its JSON object, or None with the failed check reported."""
    data = _member(package, name, report)
    if data is None:
        return None
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        report.checks.append(Check(name, False, "is not a JSON object"))
        return None
    return data, value


def _member(package: zipfile.ZipFile, name: str, report: PackageReport) -> bytes | None:
    try:
        info = package.getinfo(name)
    except KeyError:
        report.checks.append(Check(name, False, "missing from the package"))
        return None
    if info.file_size > METADATA_LIMIT:
        report.checks.append(Check(name, False, f"larger than {METADATA_LIMIT} bytes"))
        return None
    try:
        with package.open(info) as f:
            return f.read(METADATA_LIMIT + 1)[:METADATA_LIMIT]
    except ZIP_ERRORS as exc:
        report.checks.append(Check(name, False, f"cannot be read ({exc})"))
        return None


def _files(package: zipfile.ZipFile, listing: dict[str, Any]) -> Check:
    resources = listing.get("resources")
    if not isinstance(resources, list) or not all(
        isinstance(r, dict) and isinstance(r.get("path"), str) for r in resources
    ):
        return Check("files", False, f"{DATAPACKAGE} has no list of resources with paths")
    listed = {r["path"]: r for r in resources}
    names = package.namelist()
    if len(set(names)) != len(names):  # readers differ on which of two same-named files they take
        twice = next(n for n in names if names.count(n) > 1)
        return Check("files", False, f"the package holds two files named {_short(twice)}")
    unlisted = sorted(set(names) - set(listed) - {DATAPACKAGE, DIGEST})
    if unlisted:
        return Check("files", False, f"{_short(unlisted[0])} is not in {DATAPACKAGE}")
    for name, resource in listed.items():
        found = _hash_member(package, name)
        if isinstance(found, str):
            return Check("files", False, f"{_short(name)} {found}")
        digest, size = found
        if resource.get("hash") != f"sha256:{digest}" or resource.get("bytes") != size:
            return Check("files", False, f"{_short(name)} does not match its hash in {DATAPACKAGE}")
    return Check("files", True, f"{len(listed)} files match {DATAPACKAGE}")


def _hash_member(package: zipfile.ZipFile, name: str) -> tuple[str, int] | str:
    digest, size = hashlib.sha256(), 0
    try:
        with package.open(name) as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except KeyError:
        return "is missing from the package"
    except ZIP_ERRORS as exc:
        return f"cannot be read ({exc})"
    return digest.hexdigest(), size


def _signature(
    signed_data: Any, digest: str, listing: dict[str, Any], report: PackageReport
) -> Check:
    if signed_data is None:
        return Check("signature", True, "none: the package is not signed")
    result = signing.check(signed_data, digest)
    if result.problem:
        return Check("signature", False, _short(result.problem, 300))
    if signed_data.get("created") != listing.get("created"):
        return Check(
            "signature", False, f"signedData.created is not the created date of {DATAPACKAGE}"
        )
    report.signed_by = result.fingerprint
    return Check("signature", True, f"valid, by the ECDSA public key {result.fingerprint} it names")


def _short(value: object, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
