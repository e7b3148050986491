"""A receipt: one version of one page as a zip a third party checks without archiver.

It holds the WARC records that evidence the version (`evidence/`), its page files and those of the
sources it cited, as the version's commit holds them (`files/`, by their path in the archive), the
git objects that tie those files to the commit (`git/commit`, `git/trees/<id>`: raw, as git hashes
them), `receipt.json` (what the receipt is of), `SHA256SUMS`, and `VERIFY.md`, which says how to check
every claim with `sha256sum`, `git hash-object`, `git ls-tree` and `warcio check`. `check` makes the
same checks and says each.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography import x509

from ..errors import ArchiveDamaged, UsageError
from ..storage.meta import load as load_meta
from ..storage.plumbing import object_id
from ..storage.store import ARTICLE, LINKS, META, WORK_DIR, Proof, Store
from ..storage.versions import Version
from . import tsa
from .claims import Check
from .verify import check_warc
from .wacz import version_records

RECEIPT_JSON = "receipt.json"
SUMS = "SHA256SUMS"
VERIFY_MD = "VERIFY.md"
PAGE_FILES = (ARTICLE, LINKS, META)


@dataclass(frozen=True)
class Stamp:
    """A trusted timestamp that dates a version's commit: the token of that commit, or of a later
    one whose history holds it (`commits`: the raw commit objects from that one back to the
    version's, which chain them), and the certificates it is checked against."""

    commit: str  # the commit the token's manifest names
    commits: list[bytes]  # raw commit objects from `commit` down to the version's commit's child
    manifest: str
    reply: bytes  # the TSA's reply, DER, as `openssl ts -verify -in` reads it
    anchors: dict[str, bytes]  # name -> PEM


@dataclass
class ReceiptSummary:
    """A receipt written."""

    path: str
    url: str
    version: int
    commit: str
    files: int
    size: int

    def line(self) -> str:
        return (
            f"receipt of {self.url} v{self.version} (commit {self.commit[:10]}): {self.path}, "
            f"{self.files} files, {self.size:,} bytes"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "url": self.url,
            "version": self.version,
            "commit": self.commit,
            "files": self.files,
            "size": self.size,
        }


@dataclass
class ReceiptReport:
    """Every check of a receipt."""

    path: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def line(self) -> str:
        failed = sum(not c.ok for c in self.checks)
        if not failed:
            return f"{self.path}: every claim checked ({len(self.checks)} checks)"
        return f"{self.path}: {failed} of {len(self.checks)} checks failed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "passed": self.passed,
            "checks": [c.as_dict() for c in self.checks],
        }


# -- writing ----------------------------------------------------------------------------------


def write(
    store: Store,
    version: Version,
    sources: list[str],
    out: Path,
    software: str,
    stamp: Stamp | None = None,
) -> ReceiptSummary:
    """Write the receipt of `version`, with the versions of `sources` (the URLs it cited) its
    commit holds, to `out` (a zip, replaced whole, never left half-written)."""
    folder = PurePosixPath(version.path).parent.as_posix()
    paths = [f"{folder}/{name}" for name in PAGE_FILES]
    cited = [(url, store.folder(url).as_posix()) for url in sources if url != version.url]
    paths += [f"{path}/{name}" for _, path in cited for name in PAGE_FILES]
    proof = store.proof(version.commit, paths)
    entries: dict[str, bytes] = {}
    for name, content in proof.files.items():
        if content is not None:
            entries[f"files/{name}"] = content
    entries["git/commit"] = proof.commit
    for tree in proof.trees.values():
        entries[f"git/trees/{object_id('tree', tree)}"] = tree
    (store.root / WORK_DIR).mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store.root / WORK_DIR) as work:
        for name, warc in version_records(store.root, version, Path(work)).items():
            entries[f"evidence/{name}"] = warc.read_bytes()
    if stamp is not None:
        entries.update(_stamp_entries(stamp))
    described = _description(version, folder, cited, proof, software)
    described["timestamp"] = (
        {"commit": stamp.commit, "chain": len(stamp.commits)} if stamp is not None else None
    )
    entries[RECEIPT_JSON] = (json.dumps(described, indent=2, ensure_ascii=False) + "\n").encode()
    entries[VERIFY_MD] = _verify_md(described).encode()
    entries[SUMS] = "".join(
        f"{_sha256(data)}  {name}\n" for name, data in sorted(entries.items())
    ).encode()
    size = _zip(entries, out)
    return ReceiptSummary(str(out), version.url, version.number, version.commit, len(entries), size)


def _description(
    version: Version, folder: str, sources: list[tuple[str, str]], proof: Proof, software: str
) -> dict[str, Any]:
    cited = []
    for url, path in sources:
        raw = proof.files.get(f"{path}/{META}")
        meta = load_meta(raw) if raw else None
        cited.append(
            {
                "url": url,
                "folder": path,
                "version": meta.get("version") if meta else None,
                "kind": meta.get("kind") if meta else None,
                "archived": meta is not None,
            }
        )
    return {
        "url": version.url,
        "version": version.number,
        "kind": version.kind,
        "captured_at": version.captured_at,
        "commit": version.commit,
        "folder": folder,
        "warc": version.meta.get("warc", {}),
        "sources": cited,
        "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "software": software,
    }


def _stamp_entries(stamp: Stamp) -> dict[str, bytes]:
    entries = {
        "timestamp/manifest.txt": stamp.manifest.encode(),
        "timestamp/token.tsr": stamp.reply,
    }
    for n, raw in enumerate(stamp.commits):
        entries[f"timestamp/chain/{n}-{object_id('commit', raw)}"] = raw
    for name, pem in stamp.anchors.items():
        entries[f"timestamp/tsa/{name}"] = pem
    return entries


def _zip(entries: dict[str, bytes], out: Path) -> int:
    temporary = out.with_name(f".{out.name}.part")
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as package:
            for name, data in sorted(entries.items()):
                package.writestr(name, data)
        temporary.replace(out)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    return out.stat().st_size


def _verify_md(described: dict[str, Any]) -> str:
    folder, commit = described["folder"], described["commit"]
    record = described["warc"].get("record_id", "")
    return f"""# Checking this receipt

This receipt is of **{described["url"]}**, version {described["version"]} ({described["kind"]}),
captured at {described["captured_at"]}, as committed in `{commit}`. Every claim below is
checked with standard tools, in this folder once the zip is unpacked (`unzip receipt.zip`).
`archiver verify --receipt FILE.zip` makes the same checks.

1. **Nothing in it changed since it was made.** Every file's SHA-256:

       sha256sum -c {SUMS}

2. **The page files are those the commit holds.** Git names every object by the SHA-1 of its type,
   size and bytes. The commit object gives its own id, and names its root tree:

       git hash-object -t commit git/commit        # prints {commit}
       grep '^tree' git/commit

   Every tree under `git/trees/` is named by its own id, and lists the ids of what it holds (read
   one with `git ls-tree` in any repository, e.g. a new one made by `git init`):

       for t in git/trees/*; do git hash-object -t tree "$t"; done   # each prints its file name
       git init -q /tmp/receipt-check
       git -C /tmp/receipt-check hash-object -w -t tree git/trees/ID   # then:
       git -C /tmp/receipt-check ls-tree ID

   Walk from the root tree through `pages`, the host and the page's folder (`{folder}`): the folder's
   tree lists the ids of `article.md`, `links.txt` and `meta.json`, which are those of the files here:

       git hash-object files/{folder}/article.md files/{folder}/links.txt files/{folder}/meta.json

   The sources the article cited then are under `files/pages/…` too, tied the same way.

3. **The bytes that crossed the wire.** `files/{folder}/meta.json` names the WARC record of this
   version (`warc.record_id`: `{record}`), which is in `evidence/`:

       warcio check -v evidence/*.warc.gz
       warcio index evidence/*.warc.gz

   (`warcio check` digests a chunked body with its framing, where WARC 1.1 digests the payload
   without it: for a record stored with `Transfer-Encoding: chunked` it may report the payload
   digest failed; `archiver verify --receipt` checks those payloads as the standard says.)

{_verify_stamp(described)}What the receipt is of, and the sources' versions, are in `{RECEIPT_JSON}`.
"""


def _verify_stamp(described: dict[str, Any]) -> str:
    stamp = described.get("timestamp")
    if not stamp:
        return (
            "4. **No trusted timestamp** was kept for this version's commit or any later one when "
            "the receipt was made.\n\n"
        )
    dated = stamp["commit"]
    chained = (
        ""
        if not stamp["chain"]
        else f"""   The token is of a later commit, `{dated}`, whose history holds this one: each file under
   `timestamp/chain/` is a commit object named by its id (check each with
   `git hash-object -t commit FILE`), the first is `{dated}`, and each names the next by its
   `parent` line, the last naming `{described["commit"]}`.

"""
    )
    return f"""4. **When: a trusted timestamp.** A time-stamp authority signed the SHA-256 of
   `timestamp/manifest.txt`, whose `commit` and `tree` lines name `{dated}` and its tree:

       openssl ts -verify -data timestamp/manifest.txt -in timestamp/token.tsr \\
           -CAfile timestamp/tsa/CA.pem     # the TSA's certificate(s) under timestamp/tsa/
       openssl ts -reply -in timestamp/token.tsr -text   # the time it states

{chained}"""


# -- checking ---------------------------------------------------------------------------------


def check(path: Path) -> ReceiptReport:
    """Every claim of the receipt at `path`, checked; ArchiveDamaged if it cannot be read at all."""
    report = ReceiptReport(str(path))
    try:
        with zipfile.ZipFile(path) as package:
            entries = {name: package.read(name) for name in package.namelist()}
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise ArchiveDamaged(f"{path}: not a readable receipt: {exc}") from None
    if RECEIPT_JSON not in entries or SUMS not in entries:
        raise UsageError(f"{path}: not a receipt: no {RECEIPT_JSON} or {SUMS}")
    report.checks += list(_sums(entries))
    try:
        described = json.loads(entries[RECEIPT_JSON])
    except ValueError as exc:
        report.checks.append(Check(RECEIPT_JSON, False, f"not JSON: {exc}"))
        return report
    report.checks += list(_git(entries, described))
    report.checks += list(_records(entries, described))
    report.checks += list(_stamp(entries, described))
    return report


def _sums(entries: dict[str, bytes]) -> Iterator[Check]:
    listed = {}
    for line in entries[SUMS].decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    bad = [n for n, d in listed.items() if n not in entries or _sha256(entries[n]) != d]
    unlisted = sorted(set(entries) - set(listed) - {SUMS})
    detail = f"changed or missing: {', '.join(bad)}" if bad else ""
    if unlisted:
        detail += ("; " if detail else "") + f"not listed: {', '.join(unlisted)}"
    yield Check(f"every file's SHA-256 ({len(listed)} files)", not detail, detail)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _git(entries: dict[str, bytes], described: dict[str, Any]) -> Iterator[Check]:
    commit = entries.get("git/commit", b"")
    commit_id = object_id("commit", commit)
    yield Check(
        "the commit object is the commit named",
        commit_id == described.get("commit"),
        f"it hashes to {commit_id}" if commit_id != described.get("commit") else commit_id,
    )
    root = _tree_named(commit)
    files = sorted(n.removeprefix("files/") for n in entries if n.startswith("files/"))
    for name in files:
        found = _walk(entries, root, name)
        expected = object_id("blob", entries[f"files/{name}"])
        yield Check(
            f"{name} is the file the commit holds",
            found == expected,
            "" if found == expected else f"the commit's tree has {found or 'no such file'}",
        )


def _tree_named(commit: bytes) -> str | None:
    first = commit.split(b"\n", 1)[0]
    return first[5:].decode("ascii", "replace") if first.startswith(b"tree ") else None


def _walk(entries: dict[str, bytes], tree_id: str | None, path: str) -> str | None:
    """The id the trees give `path`, from the tree `tree_id` down; None where a tree is missing,
    is not what its name says, or lacks the entry."""
    for part in path.split("/"):
        tree = entries.get(f"git/trees/{tree_id}") if tree_id else None
        if tree is None or object_id("tree", tree) != tree_id:
            return None
        tree_id = _entries(tree).get(part)
    return tree_id


def _entries(tree: bytes) -> dict[str, str]:
    """A raw tree's entries: name → id (git's format: "<mode> <name>\\0" and 20 bytes of id)."""
    found, at = {}, 0
    while at < len(tree):
        space, nul = tree.index(b" ", at), tree.index(b"\0", at)
        found[tree[space + 1 : nul].decode("utf-8", "surrogateescape")] = tree[
            nul + 1 : nul + 21
        ].hex()
        at = nul + 21
    return found


def _records(entries: dict[str, bytes], described: dict[str, Any]) -> Iterator[Check]:
    ids: set[str] = set()
    with tempfile.TemporaryDirectory() as work:
        for name, data in sorted(entries.items()):
            if not name.startswith("evidence/"):
                continue
            path = Path(work) / PurePosixPath(name).name
            path.write_bytes(data)
            found, problems = check_warc(path)
            ids |= found
            yield Check(
                f"{name}: every record whole, every digest right",
                not problems,
                "; ".join(problems[:3]),
            )
    meta_raw = entries.get(f"files/{described.get('folder', '')}/{META}")
    ref = (load_meta(meta_raw).get("warc") if meta_raw else None) or {}
    wanted = [r for r in (ref.get("record_id"), (ref.get("refers_to") or {}).get("record_id")) if r]
    missing = [r for r in wanted if r not in ids]
    yield Check(
        "the records meta.json names are in the receipt",
        bool(wanted) and not missing,
        f"missing: {', '.join(missing)}" if missing else ", ".join(wanted),
    )


def _stamp(entries: dict[str, bytes], described: dict[str, Any]) -> Iterator[Check]:
    stamp = described.get("timestamp")
    if not stamp:
        return
    manifest = entries.get("timestamp/manifest.txt", b"")
    lines = manifest.decode("utf-8", "replace").splitlines()
    dated = stamp.get("commit")
    names = sorted(
        (n for n in entries if n.startswith("timestamp/chain/")),
        key=lambda n: int(PurePosixPath(n).name.split("-", 1)[0]),
    )
    chain = [entries[n] for n in names]
    expected = [dated, *(_parent(raw) for raw in chain)]
    ids = [object_id("commit", raw) for raw in chain]
    linked = ids == expected[: len(ids)] and expected[-1] == described.get("commit")
    if not chain:
        linked = dated == described.get("commit")
    yield Check(
        "the timestamped commit is this version's or holds it in its history",
        linked and f"commit {dated}" in lines,
        "" if linked else "the chain of commits does not lead to the version's commit",
    )
    roots = [
        cert
        for name, pem in entries.items()
        if name.startswith("timestamp/tsa/")
        for cert in _certificates(pem)
    ]
    try:
        when = tsa.check(entries.get("timestamp/token.tsr", b""), manifest, roots)
    except tsa.TokenRefused as exc:
        yield Check("the time-stamp authority signed the manifest", False, str(exc))
    else:
        yield Check("the time-stamp authority signed the manifest", True, when.isoformat())


def _parent(raw: bytes) -> str | None:
    for line in raw.split(b"\n"):
        if line.startswith(b"parent "):
            return line[7:].decode("ascii", "replace")
        if not line:
            break
    return None


def _certificates(pem: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        return []
