"""`archiver receipt`: one version's evidence in a zip a third party checks with standard tools
(sha256sum, git, warcio) without archiver, and `archiver verify --receipt`, which makes the same
checks. The archive with history (tests/support/evidence.py) has an article in three versions (the
third a revisit of the first's record) citing a source."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.commands import run_cli
from support.userview import run

from archiver.errors import ExitCode
from archiver.urls import page_dir

WARCIO = Path(sys.executable).with_name("warcio")


def sh(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def unzip(receipt: Path, to: Path) -> Path:
    with zipfile.ZipFile(receipt) as package:
        package.extractall(to)
    return to


@pytest.mark.parametrize("version", ["2", "3"], ids=["edited", "revisit-of-v1"])
def test_a_receipt_is_checked_by_standard_tools_and_by_verify(history, tmp_path, version):
    out = tmp_path / "receipt.zip"
    made = run(history.root, "receipt", history.article, version, "-o", str(out), "--json")
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert summary["version"] == int(version) and out.stat().st_size == summary["size"]

    here = unzip(out, tmp_path / "unpacked")
    described = json.loads((here / "receipt.json").read_text())
    folder = page_dir(history.article).as_posix()
    assert described["commit"] == summary["commit"] and described["folder"] == folder
    assert [s["url"] for s in described["sources"]] == [history.source]

    # What VERIFY.md tells a third party to run, run here: nothing of archiver's.
    assert "sha256sum -c SHA256SUMS" in (here / "VERIFY.md").read_text()
    sh("sha256sum", "--quiet", "-c", "SHA256SUMS", cwd=here)
    assert (
        sh("git", "hash-object", "-t", "commit", "git/commit", cwd=here).strip()
        == summary["commit"]
    )
    check = tmp_path / "check"
    sh("git", "init", "-q", str(check), cwd=tmp_path)
    for tree in (here / "git" / "trees").iterdir():
        made_id = sh(
            "git", "-C", str(check), "hash-object", "-w", "-t", "tree", str(tree), cwd=here
        )
        assert made_id.strip() == tree.name
    root_tree = (here / "git" / "commit").read_text().splitlines()[0].split()[1]
    tree_id = root_tree
    for part in folder.split("/"):  # the root tree, down to the page's folder
        listing = sh("git", "-C", str(check), "ls-tree", tree_id, cwd=here)
        tree_id = next(
            line.split()[2] for line in listing.splitlines() if line.endswith(f"\t{part}")
        )
    listing = sh("git", "-C", str(check), "ls-tree", tree_id, cwd=here)
    for name in ("article.md", "links.txt", "meta.json"):
        blob = sh("git", "hash-object", f"files/{folder}/{name}", cwd=here).strip()
        assert f"blob {blob}\t{name}" in listing
    meta = json.loads((here / "files" / folder / "meta.json").read_text())
    evidence = [str(p) for p in (here / "evidence").iterdir()]
    indexed = sh(str(WARCIO), "index", "-f", "warc-type,warc-record-id", *evidence, cwd=here)
    assert meta["warc"]["record_id"] in indexed
    sh(str(WARCIO), "check", *evidence, cwd=here)  # every digest right (no chunked body here)
    if meta["warc"].get("refers_to"):  # a revisit: the record holding the payload comes too
        assert meta["warc"]["refers_to"]["record_id"] in indexed
    assert (here / "files" / page_dir(history.source) / "meta.json").is_file()

    checked = run_cli("verify", "--receipt", str(out), cwd=tmp_path)  # no archive needed
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert all(line.startswith("ok   ") for line in lines[:-1]) and len(lines) > 8
    assert lines[-1].endswith(f"every claim checked ({len(lines) - 1} checks)")


def rewritten(receipt: Path, name: str, change) -> Path:
    """A copy of the receipt with one member's bytes changed."""
    out = receipt.with_name(f"changed-{receipt.name}")
    with zipfile.ZipFile(receipt) as old, zipfile.ZipFile(out, "w") as new:
        for item in old.namelist():
            data = old.read(item)
            new.writestr(item, change(data) if item == name else data)
    return out


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_one_flipped_byte_fails_the_receipt_naming_what(history, tmp_path):
    out = tmp_path / "receipt.zip"
    assert run(history.root, "receipt", history.article, "-o", str(out)).returncode == 0
    folder = page_dir(history.article).as_posix()
    with zipfile.ZipFile(out) as package:
        names = package.namelist()
    warc = next(n for n in names if n.startswith("evidence/"))

    for name, at in ((f"files/{folder}/article.md", 10), (warc, 200), ("git/commit", 7)):
        damaged = rewritten(out, name, lambda data, at=at: flip(data, at))
        result = run_cli("verify", "--receipt", str(damaged), cwd=tmp_path)
        assert result.returncode == ExitCode.DAMAGED, (name, result.stdout)
        failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
        assert failed and any(name in line for line in failed), (name, failed)
        assert result.stderr.startswith("archiver: error: ") and "checks failed" in result.stderr

    # The same change with SHA256SUMS made to agree: git's ids still catch it.
    article = f"files/{folder}/article.md"
    forged = rewritten(out, article, lambda data: data.replace(b"approved", b"rejected"))
    with zipfile.ZipFile(forged) as package:
        sums = package.read("SHA256SUMS").decode()
        text = package.read(article)
    import hashlib

    old = next(line for line in sums.splitlines() if line.endswith(article))
    sums = sums.replace(old, f"{hashlib.sha256(text).hexdigest()}  {article}")
    forged = rewritten(forged, "SHA256SUMS", lambda data: sums.encode())
    result = run(tmp_path, "verify", "--receipt", str(forged))
    assert result.returncode == ExitCode.DAMAGED
    assert f"FAIL {article[len('files/') :]} is the file the commit holds" in result.stdout


def test_a_receipt_of_something_not_archived_or_not_a_receipt_is_one_line(history, tmp_path):
    missing = run(
        history.root, "receipt", "https://nowhere.example/x", "-o", str(tmp_path / "r.zip")
    )
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
    assert not (tmp_path / "r.zip").exists()
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not really")
    result = run(tmp_path, "verify", "--receipt", str(junk))
    assert result.returncode == ExitCode.DAMAGED and len(result.stderr.splitlines()) == 1
