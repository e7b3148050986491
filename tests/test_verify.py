"""`archiver verify`: every version's WARC evidence in the whole history, checked as a skeptic
would.

An archive with history (tests/support/evidence.py: three runs, a revisit) is verified sound, then
damaged the ways evidence gets damaged: a flipped byte on disk, a payload altered and re-gzipped so
that the file is still valid gzip, a file cut short, a file deleted. Each must exit 5 and name the
WARC file and the page. The history is built once per module and copied for each test; the real
command verifies the sound archive and the one missing a file, the others are verified in-process
(the same code, without a new interpreter).
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

from support.commands import git, run_cli
from support.evidence import STORY
from support.newssite import Response, article
from support.userview import run
from warcio.archiveiterator import ArchiveIterator

from archiver.errors import ExitCode
from archiver.urls import page_dir

WARCIO = Path(sys.executable).with_name("warcio")


def verify(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`archiver verify` in this process."""
    return run(root, "verify", *args)


def real_verify(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `archiver verify`, in a subprocess."""
    return run_cli("verify", "--archive", str(root), *args)


def span(path: Path, offset: int) -> tuple[int, int]:
    """(offset, length) of the gzip member of the record at `offset`, as warcio reads the file."""
    with path.open("rb") as f:
        it = ArchiveIterator(f)
        for _record in it:
            if it.get_record_offset() == offset:
                return offset, it.get_record_length()
    raise AssertionError(f"no record at {offset} in {path}")


def meta_at(root: Path, url: str, commit: str) -> dict:
    return json.loads(git(root, "show", f"{commit}:{page_dir(url).as_posix()}/meta.json"))


def versions(root: Path, url: str) -> list[dict]:
    result = run(root, "log", url, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def forge_v2(history, words: bytes) -> tuple[dict, dict, Path]:
    """The article's second version, its WARC reference and file, with "court challenge" in its
    record replaced by `words` and the record gzipped again (still a valid gzip file)."""
    v2 = versions(history.root, history.article)[1]
    ref = meta_at(history.root, history.article, v2["commit"])["warc"]
    path = history.root / ref["file"]
    start, length = span(path, ref["offset"])
    data = path.read_bytes()
    record = gzip.decompress(data[start : start + length])
    forged = record.replace(b"court challenge", words)
    assert forged != record
    path.write_bytes(data[:start] + gzip.compress(forged) + data[start + length :])
    return v2, ref, path


def lines_for(
    result: subprocess.CompletedProcess[str], file: str, url: str, version: int
) -> list[str]:
    return [
        line for line in result.stdout.splitlines() if line.startswith(f"{file}: {url} v{version} ")
    ]


def test_a_sound_archive_verifies_with_exit_0_and_one_line(history):
    count = sum(
        len(versions(history.root, url)) for url in (history.article, history.source, history.other)
    )
    assert count == 5

    result = real_verify(history.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"verified {count} versions in 5 WARC files: no problems\n"
    assert result.stderr == ""
    as_json = verify(history.root, "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []
    assert git(history.root, "status", "--porcelain") == ""  # verify changes nothing


def test_a_flipped_byte_is_reported_for_every_version_relying_on_the_record(history):
    original = history.meta(history.article)["warc"]["refers_to"]  # v3 is a revisit of v1's record
    path = history.root / original["file"]
    start, length = span(path, original["offset"])
    data = bytearray(path.read_bytes())
    data[start + length // 2] ^= 0x20
    path.write_bytes(bytes(data))

    result = verify(history.root)
    assert result.returncode == ExitCode.DAMAGED, result.stdout + result.stderr
    first, revisit = (lines_for(result, original["file"], history.article, n) for n in (1, 3))
    assert len(first) == 1 and len(revisit) == 1, result.stdout
    assert f"offset {original['offset']}: corrupt gzip member" in first[0]
    # The other pages of that run, in the same file, are intact and not reported.
    assert history.source not in result.stdout and history.other not in result.stdout
    assert result.stderr.startswith(
        "archiver: error: verified 5 versions in 5 WARC files: 2 problems"
    )


def test_a_payload_altered_and_gzipped_again_is_caught_by_its_digest(history):
    v2, ref, path = forge_v2(history, b"court judgement")  # same length: headers stay consistent
    assert subprocess.run(["gzip", "-t", str(path)]).returncode == 0  # still a valid gzip file

    result = verify(history.root, "--json")
    assert result.returncode == ExitCode.DAMAGED
    problems = json.loads(result.stdout)
    assert problems and all(
        p["file"] == ref["file"]
        and p["url"] == history.article
        and p["version"] == 2
        and p["commit"] == v2["commit"]
        and p["offset"] == ref["offset"]
        for p in problems
    )
    assert any(
        p["message"].startswith("payload digest is sha1:") and ref["payload_digest"] in p["message"]
        for p in problems
    )


def test_a_truncated_warc_is_found_where_warcio_check_passes(history):
    last = history.warcs()[-1]
    rel = last.relative_to(history.root).as_posix()
    last.write_bytes(
        last.read_bytes()[:-8]
    )  # the last gzip member loses its trailer (CRC-32 and length)
    check = subprocess.run([str(WARCIO), "check", str(last)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout  # why `warcio check` alone is not enough

    result = verify(history.root)
    assert result.returncode == ExitCode.DAMAGED
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{rel}: {history.article}, offset ") and "truncated" in line

    ref = history.meta(history.article)["warc"]  # now cut inside the record of the article's v3
    last.write_bytes(last.read_bytes()[: ref["offset"] + 40])
    result = verify(history.root)
    assert result.returncode == ExitCode.DAMAGED
    [line] = lines_for(result, rel, history.article, 3)
    assert f"offset {ref['offset']}: truncated" in line


def test_a_deleted_warc_is_reported_for_every_version_it_held(history):
    first = history.warcs()[0]
    rel = first.relative_to(history.root).as_posix()
    first.unlink()

    result = real_verify(history.root)
    assert result.returncode == ExitCode.DAMAGED
    # v1 of the article is no longer in the current tree: verify reads the whole history.
    for url, number in (
        (history.article, 1),
        (history.article, 3),
        (history.source, 1),
        (history.other, 1),
    ):
        [line] = lines_for(result, rel, url, number)
        assert line.endswith(": the WARC file is missing"), line
    # The later checks that confirmed `source` and `other` unchanged refer to records that are gone
    # with it.
    for checks in history.checks():
        name = checks.relative_to(history.root).as_posix()
        for url in (history.source, history.other):
            [line] = [
                line
                for line in result.stdout.splitlines()
                if line.startswith(f"{name}: {url}, offset ")
            ]
            assert (
                line.endswith(", which is in no WARC file of the archive")
                and ": the revisit refers to <" in line
            )
    assert len(result.stdout.splitlines()) == 8
    assert "archiver: error: verified 5 versions in 5 WARC files: 8 problems" in result.stderr


def test_the_checks_warcs_are_verified_too(site, archive):
    """A 304 is evidence of a check, committed in the run's checks WARC: verify reads it, and a
    flipped byte there is damage like any other."""
    etag = '"v1"'

    def serve(handler) -> Response:
        if handler.headers.get("If-None-Match") == etag:
            return Response(status=304, headers=[("ETag", etag)], content_type=None)
        return Response(body=article("Harbour plan", STORY).encode(), headers=[("ETag", etag)])

    site.routes["/news/checked"] = serve
    url = site.url("/news/checked")
    archive.add([url])
    archive.snapshot(all_pages=True)  # answered 304: a revisit record in the run's checks WARC
    checks = sorted((archive.root / "warcs" / "checks").rglob("*.warc.gz"))
    assert len(checks) == 1 and git(archive.root, "ls-files", "warcs/checks").split() == [
        checks[0].relative_to(archive.root).as_posix()
    ]
    result = verify(archive.root)
    assert (
        result.returncode == 0
        and result.stdout == "verified 1 version in 2 WARC files: no problems\n"
    )

    data = bytearray(checks[0].read_bytes())
    data[len(data) - 20] ^= 0x20  # inside the last record: the revisit
    checks[0].write_bytes(bytes(data))
    damaged = verify(archive.root)
    assert damaged.returncode == ExitCode.DAMAGED, damaged.stdout + damaged.stderr
    name = checks[0].relative_to(archive.root).as_posix()
    assert [line for line in damaged.stdout.splitlines() if line.startswith(f"{name}: {url}")], (
        damaged.stdout
    )


def test_a_payload_lengthened_past_its_content_length_is_one_problem_without_warcio_noise(history):
    """warcio writes three lines to stderr quoting the bytes after a record that does not end where
    its Content-Length says; verify's own report names the file, the page and the offset."""
    _, ref, _ = forge_v2(history, b"court challenge, which the minister lost")

    result = verify(history.root)
    assert result.returncode == ExitCode.DAMAGED
    assert lines_for(result, ref["file"], history.article, 2), result.stdout
    [summary] = result.stderr.splitlines()
    assert summary.startswith("archiver: error: verified 5 versions in 5 WARC files:")


def test_indexing_a_record_longer_than_its_content_length_adds_no_warcio_noise(history):
    """The index reads every WARC file with warcio too: its three-line warning on such a record
    stays off stderr, as in verify and export."""
    forge_v2(history, b"court challenge, which the minister lost")
    shutil.rmtree(history.root / ".archiver" / "indexes", ignore_errors=True)  # read them all again

    result = run(history.root, "index")

    assert "Record not followed by newline" not in result.stderr, result.stderr
