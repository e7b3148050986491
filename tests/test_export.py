"""Interoperability: `archiver index` (CDXJ for pywb) and `archiver export --wacz` (replay:
tests/test_replay.py).

What a user checks: the index has a line for each response and revisit warcio finds, keyed as pywb
looks them up; `wacz validate` accepts the package and its page list is the archive's versions.
The archive with history is built once per module and copied for each test; the real command
writes the index and the package of the whole archive, and fails on a damaged WARC; the others run
in-process (the same code, without a new interpreter).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from pywb.utils.canonicalize import canonicalize
from support.commands import git, run_cli
from support.evidence import History
from support.newssite import article
from support.replay import BIN
from support.userview import run
from support.warcs import records
from warcio.timeutils import iso_date_to_timestamp

from archiver.evidence import cdxj
from archiver.urls import page_dir


def cli_ok(root: Path, *args: str) -> str:
    """The real command, in a subprocess: its stdout."""
    result = run_cli(*args, "--archive", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def ok(root: Path, *args: str) -> str:
    """The command in this process: its stdout."""
    result = run(root, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def index_entries(lines: list[str]) -> list[tuple[str, str, dict]]:
    return [
        (key, stamp, json.loads(data))
        for key, stamp, data in (line.split(" ", 2) for line in lines)
    ]


def expected_entries(root: Path, warcs: list[Path], name=None) -> dict[tuple[str, int], tuple]:
    """(file, offset) -> (key, timestamp, url, status, digest) of each response and revisit
    record."""
    name = name or (lambda path: path.relative_to(root / "warcs").as_posix())
    found = {}
    for path in warcs:
        for r in records(path):
            if r.type in ("response", "revisit"):
                found[(name(path), r.offset)] = (
                    canonicalize(r.uri),
                    iso_date_to_timestamp(r.warc.get_header("WARC-Date")),
                    r.uri,
                    r.http_status,
                    r.warc.get_header("WARC-Payload-Digest"),
                )
    return found


def as_found(entries: list[tuple[str, str, dict]]) -> dict[tuple[str, int], tuple]:
    return {
        (e["filename"], int(e["offset"])): (key, stamp, e["url"], e["status"], e["digest"])
        for key, stamp, e in entries
    }


def test_the_index_has_a_line_for_every_response_and_revisit_keyed_as_pywb_looks_up(history):
    # 5 lines of versions; 4 of confirmations (`source` and `other`, twice).
    assert cli_ok(history.root, "index").startswith(
        "indexed 5 new WARC files: 9 lines for 5 WARC files in "
    )

    lines = cdxj.index_path(history.root).read_text().splitlines()
    assert lines == sorted(lines) and len(lines) == len(set(lines))
    entries = index_entries(lines)
    assert as_found(entries) == expected_entries(history.root, history.warcs() + history.checks())
    # Requests, warcinfo and metadata records have no line; the revisit has pywb's mime for it.
    article_lines = [e for key, _, e in entries if e["url"] == history.article]
    assert [e["mime"] for e in article_lines] == ["text/html", "text/html", "warc/revisit"]
    assert git(history.root, "status", "--porcelain") == ""  # derived data: not in git


def test_index_after_a_second_snapshot_reads_only_the_new_file(site, archive):
    url = site.url("/news/budget")
    text = ["The council approved the budget on Monday after a debate that lasted eleven hours."]
    site.page("/news/budget", lambda: article("Council approves budget", text))
    archive.add([url])
    ok(archive.root, "index")
    before = cdxj.index_path(archive.root).read_text().splitlines()
    [first] = sorted((archive.root / "warcs").rglob("*.warc.gz"))
    # Proof that indexed files are not read again: the first file is garbled, same size, same mtime.
    stat, kept = first.stat(), first.read_bytes()
    first.write_bytes(b"\0" * stat.st_size)
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    text.append("The mayor said she would sign it into law before the end of the month.")
    archive.snapshot(all_pages=True)
    [second] = [p for p in (archive.root / "warcs").rglob("*.warc.gz") if p != first]
    assert ok(archive.root, "index").startswith("indexed 1 new WARC file: 2 lines for 2 WARC files")
    after = cdxj.index_path(archive.root).read_text().splitlines()
    assert set(before) < set(after) and after == sorted(after)
    new = index_entries(sorted(set(after) - set(before)))
    assert as_found(new) == expected_entries(archive.root, [second])
    assert ok(archive.root, "index").startswith("indexed 0 new WARC files: 2 lines")
    first.write_bytes(kept)


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "wacz"), "validate", "-f", str(path)], capture_output=True, text=True
    )


def versions(root: Path, url: str) -> list[dict]:
    return json.loads(ok(root, "log", url, "--json"))


def expected_pages(history: History, urls: list[str]) -> set[tuple[str, datetime, str | None]]:
    """(url, record date, title) of every version of these pages, as `archiver log` and git know
    them: the WARC-Date of the version's record, to the second, which replay tools look captures up
    by."""
    pages = set()
    for url in urls:
        for v in versions(history.root, url):
            meta = json.loads(
                git(history.root, "show", f"{v['commit']}:{page_dir(url).as_posix()}/meta.json")
            )
            pages.add((url, datetime.fromisoformat(meta["warc"]["date"]), meta.get("title")))
    return pages


def package_pages(package: zipfile.ZipFile) -> set[tuple[str, datetime, str | None]]:
    header, *pages = (json.loads(line) for line in package.read("pages/pages.jsonl").splitlines())
    assert header["format"] == "json-pages-1.0"
    assert len({p["id"] for p in pages}) == len(pages)
    return {
        (p["url"], datetime.fromisoformat(p["ts"]).astimezone(UTC), p.get("title")) for p in pages
    }


def check_package(package: zipfile.ZipFile) -> None:
    """What the WACZ spec asks beyond `wacz validate`: stored WARCs, and the datapackage's fixity of
    each file."""
    data = json.loads(package.read("datapackage.json"))
    assert data["wacz_version"] == "1.1.1" and data["profile"] == "data-package"
    listed = {r["path"]: r for r in data["resources"]}
    assert set(listed) == set(package.namelist()) - {"datapackage.json", "datapackage-digest.json"}
    for name, resource in listed.items():
        content = package.read(name)
        assert resource["hash"] == "sha256:" + hashlib.sha256(content).hexdigest() and resource[
            "bytes"
        ] == len(content)
        if name.startswith("archive/"):
            assert package.getinfo(name).compress_type == zipfile.ZIP_STORED
    digest = json.loads(package.read("datapackage-digest.json"))
    assert (
        digest["hash"] == "sha256:" + hashlib.sha256(package.read("datapackage.json")).hexdigest()
    )


def test_a_wacz_of_the_whole_archive_validates_and_lists_every_version(history, tmp_path):
    out = tmp_path / "harbour.wacz"
    assert cli_ok(history.root, "export", "--wacz", str(out)).startswith(
        f"wrote {out}: 5 page versions"
    )

    check = wacz_validate(out)
    assert check.returncode == 0 and "Validation succeeded" in check.stdout, (
        check.stdout + check.stderr
    )
    with zipfile.ZipFile(out) as package:
        check_package(package)
        assert package_pages(package) == expected_pages(
            history, [history.article, history.source, history.other]
        )
        # The WARC files as they are, and an index of them under their names in the package.
        warcs = history.warcs() + history.checks()  # names apart: no file is renamed in the package
        assert {n: package.read(n) for n in package.namelist() if n.startswith("archive/")} == {
            f"archive/{p.name}": p.read_bytes() for p in warcs
        }
        entries = index_entries(package.read("indexes/index.cdxj").decode().splitlines())
        assert as_found(entries) == expected_entries(history.root, warcs, name=lambda p: p.name)


def test_a_wacz_of_one_article_holds_it_and_its_source_record_for_record(history, tmp_path):
    out = tmp_path / "article.wacz"
    assert ok(history.root, "export", "--wacz", str(out), history.article).startswith(
        f"wrote {out}: 4 page versions"
    )  # the article's three, its source's one

    check = wacz_validate(out)
    assert check.returncode == 0 and "Validation succeeded" in check.stdout, (
        check.stdout + check.stderr
    )
    originals = {
        r.headers["WARC-Record-ID"]: r
        for path in history.warcs() + history.checks()
        for r in records(path)
    }
    with zipfile.ZipFile(out) as package:
        check_package(package)
        assert package_pages(package) == expected_pages(history, [history.article, history.source])
        names = [n for n in package.namelist() if n.startswith("archive/")]
        packed = []
        for name in names:
            path = tmp_path / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(package.read(name))
            found = records(path)
            assert found[0].type == "warcinfo"
            packed += found
        entries = index_entries(package.read("indexes/index.cdxj").decode().splitlines())
        assert as_found(entries) == expected_entries(
            tmp_path, [tmp_path / n for n in names], name=lambda p: p.name
        )
    # Copied byte for byte (same ids, same blocks), the source's confirmations with them; the
    # unrelated article is left out, its confirmations too.
    assert len(names) == 5
    assert all(r.payload == originals[r.headers["WARC-Record-ID"]].payload for r in packed)
    assert {r.uri for r in packed if r.type in ("response", "revisit")} == {
        history.article,
        history.source,
    }
    assert not any(history.other in (r.uri or "") for r in packed)
    wanted = {
        r.headers["WARC-Record-ID"]
        for r in originals.values()
        if r.type != "warcinfo"
        and r.uri
        and r.uri.removeprefix("urn:archiver:metadata:") in (history.article, history.source)
    }
    assert {r.headers["WARC-Record-ID"] for r in packed if r.type != "warcinfo"} == wanted


def test_a_damaged_warc_makes_export_fail_in_two_short_lines(history, tmp_path):
    """warcio quotes the bytes it could not read; the user gets what and where, never raw gzip."""
    damaged = history.warcs()[0]
    data = bytearray(damaged.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 400):
        data[i] ^= 0x55
    damaged.write_bytes(bytes(data))
    result = run_cli("export", "--wacz", str(tmp_path / "all.wacz"), "--archive", str(history.root))
    assert result.returncode == 5
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(len(line) < 200 and line.isprintable() for line in lines), lines
    assert "run `archiver verify`" in lines[-1]
