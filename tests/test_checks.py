"""Every check is evidence: a check that finds a version unchanged leaves a committed revisit record
of it.

Real runs against the loopback site. What a user checks: `archiver log --checks` (text and JSON)
interleaves the versions with the checks that confirmed them; each confirmation read back with
warcio has its profile and the Refers-To fields of the version's record; `verify` is clean; `index`
and the WACZ hold them; git's history of `pages/` shows only versions; a run that checks nothing
commits nothing.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import userview
from support.archives import allow_loopback_sources
from support.commands import git, run_cli
from support.newssite import Response, Site, article
from support.replay import BIN, Wayback
from support.warcs import records
from warcio.archiveiterator import ArchiveIterator

from archiver import Archive
from archiver.evidence import cdxj
from archiver.urls import page_dir

STORY = [
    "The harbour authority approved the dredging plan on Monday after a long public consultation.",
    "Fishermen said the work would damage the oyster beds. The authority disputed their figures.",
]
EDIT = "A court challenge was filed on Wednesday by a group of residents and local fishermen."
NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
IDENTICAL_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
IDENTICAL_TEXT = "tag:archiver,2026:revisit/identical-text"


@dataclass
class Checked:
    """A page with two versions and four confirmations (see `checked`)."""

    root: Path
    url: str
    served: list[bytes]  # every body served, in order: v1, same again, other bytes, v2, other bytes
    runs: list[dict]  # `snapshot --json` of each check after the first capture

    def cli(self, *args: str) -> str:
        """The command's stdout, run in this process (reading the archive back)."""
        result = userview.run(self.root, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def real(self, *args: str) -> str:
        """The real command's stdout, run in a subprocess."""
        result = run_cli(*args, "--archive", str(self.root))
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def meta_at(self, commit: str) -> dict:
        return json.loads(
            git(self.root, "show", f"{commit}:{page_dir(self.url).as_posix()}/meta.json")
        )


def served_page(site: Site, path: str) -> tuple[str, dict]:
    """A page whose answers the test chooses: `mode` "304" honours If-None-Match, "body" serves
    `body` as is."""
    state: dict = {"mode": "body", "body": b"", "etag": None, "served": []}

    def serve(handler) -> Response:
        headers = [("ETag", state["etag"])] if state["etag"] else []
        if (
            state["mode"] == "304"
            and state["etag"]
            and handler.headers.get("If-None-Match") == state["etag"]
        ):
            return Response(status=304, headers=headers, content_type=None)
        state["served"].append(state["body"])
        return Response(body=state["body"], headers=headers)

    site.routes[path] = serve
    return site.url(path), state


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checked]:
    """v1; a 304; the same bytes (validators ignored); other bytes, same text; v2 (edited); other
    bytes, same text: runs of the command, made once in this process. The site stays up, serving v2
    (other bytes, same text) to later checks."""
    site = Site().start()
    root = tmp_path_factory.mktemp("checked") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    url, state = served_page(site, "/news/harbour")
    state.update(body=article("Harbour dredging plan approved", STORY).encode(), etag='"v1"')
    assert userview.run(root, "add", url).returncode == 0
    runs = []
    steps = [
        {"mode": "304"},
        {"mode": "body"},
        {"body": article("Harbour dredging plan approved", STORY).encode(), "etag": None},
        {"body": article("Harbour dredging plan approved", [*STORY, EDIT]).encode()},
        {"body": article("Harbour dredging plan approved", [*STORY, EDIT]).encode()},
    ]
    for step in steps:
        state.update(step)
        done = userview.run(root, "snapshot", "--all", "--json")
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout))
    assert [run["counts"]["unchanged"] for run in runs] == [1, 1, 1, 0, 1]
    yield Checked(root, url, list(state["served"]), runs)
    site.stop()


@pytest.fixture
def checked(template: Checked, tmp_path: Path) -> Checked:
    """The template's archive, a copy of its own for each test."""
    root = tmp_path / "archive"
    shutil.copytree(template.root, root, symlinks=True)
    return Checked(root, template.url, template.served, template.runs)


def warc_digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def test_log_checks_interleaves_versions_with_the_checks_that_confirmed_them(checked):
    lines = checked.real("log", checked.url, "--checks").splitlines()

    assert [line.split("\t")[0] if "\t" in line else line.split(" at ")[0] for line in lines] == [
        "v1",
        "v1 confirmed unchanged",
        "v1 confirmed unchanged",
        "v1 confirmed unchanged",
        "v2",
        "v2 confirmed unchanged",
    ]
    reasons = [line.rsplit("(", 1)[1] for line in lines if "confirmed" in line]
    assert reasons == [
        "304 not modified)",
        "HTTP 200, same bytes)",
        "HTTP 200, same text, other bytes)",
        "HTTP 200, same text, other bytes)",
    ]
    # Without --checks, the versions alone, as before.
    assert [line.split("\t")[0] for line in checked.cli("log", checked.url).splitlines()] == [
        "v1",
        "v2",
    ]
    assert checked.cli("log", checked.url, "--checks", "--reverse").splitlines() == lines[::-1]
    # Read from the committed files alone: a fresh clone (no state, no index) shows the same.
    clone = checked.root.parent / "clone"
    git(checked.root.parent, "clone", "-q", str(checked.root), str(clone))
    again = userview.run(clone, "log", checked.url, "--checks")
    assert again.returncode == 0 and again.stdout.splitlines() == lines, again.stderr

    entries = json.loads(checked.cli("log", checked.url, "--checks", "--json"))
    confirmations = [e for e in entries if e["kind"] == "confirmed"]
    assert [(e["version"], e["how"], e["status"]) for e in confirmations] == [
        (1, "not-modified", 304),
        (1, "same-bytes", 200),
        (1, "same-text", 200),
        (2, "same-text", 200),
    ]
    # Each is where the run that made it says, in the commit that added its file.
    made = [(run["checks"], run["commit"]) for run in checked.runs if run["counts"]["unchanged"]]
    assert [(e["warc"]["file"], e["commit"]) for e in confirmations] == made
    versions = [e for e in entries if e["kind"] != "confirmed"]
    assert [v["version"] for v in versions] == [1, 2]
    times = [e.get("checked_at") or e["captured_at"] for e in entries]
    assert [
        datetime.fromisoformat(t).astimezone(UTC).replace(microsecond=0) for t in times
    ] == sorted(datetime.fromisoformat(t).astimezone(UTC).replace(microsecond=0) for t in times)


def test_each_confirmation_is_a_revisit_of_the_version_record_with_its_request(checked):
    entries = json.loads(checked.cli("log", checked.url, "--checks", "--json"))
    refs = {}
    for entry in entries:
        if entry["kind"] != "confirmed":
            refs[entry["version"]] = checked.meta_at(entry["commit"])["warc"]
    for entry, profile, digest in zip(
        [e for e in entries if e["kind"] == "confirmed"],
        [NOT_MODIFIED, IDENTICAL_PAYLOAD, IDENTICAL_TEXT, IDENTICAL_TEXT],
        [
            None,
            warc_digest(checked.served[0]),
            warc_digest(checked.served[2]),
            warc_digest(checked.served[4]),
        ],
        strict=True,
    ):
        original = refs[entry["version"]]
        found = records(checked.root / entry["warc"]["file"])
        assert found[0].type == "warcinfo"
        [revisit] = [r for r in found if r.type == "revisit"]
        headers, status, offset = revisit.warc, revisit.http_status, revisit.offset
        assert offset == entry["warc"]["offset"]
        assert headers["WARC-Profile"] == profile
        assert headers["WARC-Target-URI"] == checked.url
        assert headers["WARC-Refers-To"] == original["record_id"]
        assert headers["WARC-Refers-To-Target-URI"] == original["target_uri"] == checked.url
        assert headers["WARC-Refers-To-Date"] == original["date"]  # that record's own WARC-Date
        assert (
            headers.get_header("WARC-Payload-Digest") == digest
        )  # what was received: never the version's bytes
        assert status == ("304" if profile == NOT_MODIFIED else "200")
        if profile == IDENTICAL_TEXT:
            assert digest != original["payload_digest"]
        [request] = [r for r in found if r.type == "request"]
        assert request.warc["WARC-Concurrent-To"] == headers["WARC-Record-ID"]
        assert [r.type for r in found] == [
            "warcinfo",
            "revisit",
            "request",
        ]  # nothing else: no body kept


def test_confirmations_are_committed_alone_and_never_in_the_history_of_pages(checked):
    commits = git(checked.root, "log", "--format=%H %s").splitlines()
    # Newest first: a run of other bytes, same text; the edit; three runs of confirmations alone;
    # the first capture.
    subjects = [line.split(" ", 1)[1] for line in commits]
    assert subjects[:6] == [
        "archiver: 1 confirmed unchanged",
        "archiver: 1 changed",
        "archiver: 1 confirmed unchanged",
        "archiver: 1 confirmed unchanged",
        "archiver: 1 confirmed unchanged",
        "archiver: 1 new",
    ]
    for run in checked.runs:
        if run["counts"]["unchanged"]:
            added = git(
                checked.root, "show", "--name-status", "--format=", run["commit"]
            ).splitlines()
            assert added == [f"A\t{run['checks']}"]
            assert (
                run["checks"].startswith("warcs/checks/") and "-checks-" in Path(run["checks"]).name
            )
            assert run["confirmed"] == 1 and run["warc"] is None
    # A checks WARC never shares a name with a main WARC.
    names = [Path(f).name for f in git(checked.root, "ls-files", "warcs").splitlines()]
    assert len(names) == len(set(names)) == 6
    # git's history of the pages, and everything read from it, shows the versions alone.
    assert len(git(checked.root, "log", "--format=%H", "--", "pages/").split()) == 2
    assert "warcs/checks" not in git(checked.root, "log", "-p", "--", "pages/")
    assert "confirmed" not in checked.cli("report", checked.url, "-o", "-")
    listed = json.loads(checked.cli("list", "--json"))
    assert [(p["url"], p["versions"]) for p in listed] == [(checked.url, 2)]


def test_a_run_that_checks_nothing_commits_nothing(checked):
    head = git(checked.root, "rev-parse", "HEAD")
    files = sorted((checked.root / "warcs").rglob("*"))

    done = run_cli("snapshot", "--json", "--archive", str(checked.root))  # nothing is due

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["results"] == [] and summary["commit"] is None and summary["checks"] is None
    assert git(checked.root, "rev-parse", "HEAD") == head
    assert sorted((checked.root / "warcs").rglob("*")) == files
    assert git(checked.root, "status", "--porcelain", "--untracked-files=all") == ""


def test_quiet_prints_nothing_for_a_run_that_only_confirmed(checked):
    quiet = run_cli("-q", "snapshot", "--all", "--archive", str(checked.root))
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    assert (
        git(checked.root, "log", "-1", "--format=%s").strip() == "archiver: 1 confirmed unchanged"
    )
    loud = userview.run(checked.root, "snapshot", "--all")
    assert loud.stdout.startswith("1 checked: 0 new, 0 changed, 1 unchanged, 0 failed; commit ")


def test_verify_checks_the_confirmations_and_what_they_refer_to(checked):
    result = run_cli("verify", "--archive", str(checked.root))
    assert (
        result.returncode == 0
        and result.stdout == "verified 2 versions in 6 WARC files: no problems\n"
    ), result.stdout + result.stderr

    # A confirmation whose Refers-To names no record of the archive is reported, with its file and
    # page.
    entries = json.loads(checked.cli("log", checked.url, "--checks", "--json"))
    entry = next(e for e in entries if e["kind"] == "confirmed")
    path = checked.root / entry["warc"]["file"]
    data = path.read_bytes()
    original = entry["warc"]["refers_to"]["record_id"]
    forged = original[:-5] + ("0000>" if not original.endswith("0000>") else "1111>")
    rewrite_record(path, lambda text: text.replace(original.encode(), forged.encode()))
    damaged = userview.run(checked.root, "verify")
    assert damaged.returncode == 5, damaged.stdout + damaged.stderr
    assert damaged.stdout.splitlines() == [
        f"{entry['warc']['file']}: {checked.url}, offset {entry['warc']['offset']}: the revisit refers to {forged}, "
        "which is in no WARC file of the archive"
    ]
    path.write_bytes(data)
    # ...and so is one that names it under another date, where replay tools would look for it in
    # vain.
    dated = f"WARC-Refers-To-Date: {entry['warc']['refers_to']['date']}".encode()
    rewrite_record(
        path, lambda text: text.replace(dated, b"WARC-Refers-To-Date: 2001-01-01T00:00:00Z")
    )
    damaged = userview.run(checked.root, "verify")
    assert (
        damaged.returncode == 5
        and "as dated 2001-01-01T00:00:00Z, a record dated" in damaged.stdout
    )
    # A checks WARC deleted: no meta.json names it, git's history does.
    path.unlink()
    missing = userview.run(checked.root, "verify")
    assert missing.returncode == 5
    assert missing.stdout.splitlines() == [
        f"{entry['warc']['file']}: (no page) (commit {entry['commit'][:10]}): the checks WARC is missing"
    ]


def rewrite_record(path: Path, change) -> None:
    """Rewrite the revisit of a checks WARC (its WARC headers changed by `change`) and gzip it
    again: a forgery that leaves every gzip member and digest valid, and the records before it where
    they were."""
    with path.open("rb") as f:
        it = ArchiveIterator(f, no_record_parse=True)
        offsets = [it.get_record_offset() for _ in it] + [path.stat().st_size]
    data = path.read_bytes()
    out = bytearray()
    for start, end in itertools.pairwise(offsets):
        member = gzip.decompress(data[start:end])
        out += gzip.compress(change(member)) if b"WARC-Type: revisit" in member else data[start:end]
    path.write_bytes(bytes(out))


def test_index_and_wacz_hold_the_confirmations(checked, tmp_path):
    checked.real("index")
    lines = cdxj.index_path(checked.root).read_text().splitlines()
    entries = [json.loads(line.split(" ", 2)[2]) for line in lines]
    confirmations = [
        e
        for e in json.loads(checked.cli("log", checked.url, "--checks", "--json"))
        if e["kind"] == "confirmed"
    ]
    indexed = {(e["filename"], int(e["offset"])) for e in entries if e["mime"] == "warc/revisit"}
    assert indexed == {
        (c["warc"]["file"].removeprefix("warcs/"), c["warc"]["offset"]) for c in confirmations
    }

    for args in ((), (checked.url,)):  # the whole archive; the page alone
        out = tmp_path / f"export-{len(args)}.wacz"
        (checked.cli if args else checked.real)("export", "--wacz", str(out), *args)
        check = subprocess.run(
            [str(BIN / "wacz"), "validate", "-f", str(out)], capture_output=True, text=True
        )
        assert check.returncode == 0 and "Validation succeeded" in check.stdout, (
            check.stdout + check.stderr
        )
        with zipfile.ZipFile(out) as package:
            names = [n for n in package.namelist() if n.startswith("archive/")]
            assert len(names) == 6
            packed = {}
            for name in names:
                copy = tmp_path / f"{len(args)}-{Path(name).name}"
                copy.write_bytes(package.read(name))
                packed.update(
                    {r.warc["WARC-Record-ID"]: (Path(name).name, r) for r in records(copy)}
                )
            lines = package.read("indexes/index.cdxj").decode().splitlines()
        indexed = {
            (e["filename"], int(e["offset"]))
            for e in (json.loads(line.split(" ", 2)[2]) for line in lines)
        }
        for (
            confirmation
        ) in confirmations:  # each revisit, indexed where it is, and what it refers to with it
            name, record = packed[confirmation["warc"]["record_id"]]
            headers, offset = record.warc, record.offset
            assert (name, offset) in indexed
            assert (
                headers["WARC-Refers-To"]
                == confirmation["warc"]["refers_to"]["record_id"]
                in packed
            )


def test_pywb_replays_around_confirmations_and_what_it_shows_at_theirs(site, archive, tmp_path):
    """pywb resolves an identical-payload revisit to the version's record. It knows no
    identical-text profile: it looks for a record with the revisit's payload digest, finds none, and
    falls back to the closest capture it can load; with only the version besides, that is the
    version. A 304 it replays as it came: an empty 304."""
    pages = {
        kind: served_page(site, f"/news/{kind}")
        for kind in ("same-text", "same-bytes", "not-modified")
    }
    for kind, (_, state) in pages.items():
        state.update(
            body=article(f"Ferry terminal {kind}", STORY).encode(), mode="304", etag=f'"{kind}"'
        )
    archive.add([url for url, _ in pages.values()])
    pages["same-text"][1].update(
        body=article("Ferry terminal same-text", STORY).encode(), etag=None
    )
    pages["same-bytes"][1].update(etag=None)
    time.sleep(1.1)  # pywb's timestamps are seconds
    summary = archive.snapshot(all_pages=True)
    assert summary.confirmed == 3 and summary.commit
    assert userview.run(archive.root, "index").returncode == 0

    pywb = Wayback(archive.root, tmp_path).start()
    try:
        for kind, (url, state) in pages.items():
            version, confirmation = json.loads(
                userview.run(archive.root, "log", url, "--checks", "--json").stdout
            )
            assert confirmation["how"] == kind
            first = state["served"][0]
            for stamp in (version["captured_at"], confirmation["checked_at"]):
                when = datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y%m%d%H%M%S")
                replayed = pywb.get(when, "id_", url)
                if stamp == confirmation["checked_at"] and kind == "not-modified":
                    assert (replayed.status_code, replayed.content) == (304, b"")
                else:
                    assert replayed.status_code == 200 and replayed.content == first, (url, stamp)
    finally:
        pywb.stop()


def test_a_failed_check_is_kept_under_a_name_no_main_warc_has(site, archive):
    """The answers of failed checks stay in .archiver/checks/, uncommitted; their file is never
    named as the run's main WARC (same prefix, stamp and serial), which tools that put WARCs side by
    side would confuse."""
    edited, edited_state = served_page(site, "/news/edited")
    failing, failing_state = served_page(site, "/news/failing")
    for state in (edited_state, failing_state):
        state["body"] = article("Harbour dredging plan approved", STORY).encode()
    archive.add([edited, failing])
    edited_state["body"] = article("Harbour dredging plan approved", [*STORY, EDIT]).encode()
    site.routes["/news/failing"] = Response(status=500, body=b"<h1>Internal Server Error</h1>")

    summary = archive.snapshot(all_pages=True)

    assert {r.url: r.outcome for r in summary.results} == {edited: "changed", failing: "failed"}
    [failed] = sorted((archive.root / ".archiver" / "checks").rglob("*.warc.gz"))
    assert Path(summary.warc).name != failed.name and "-failed-" in failed.name
    assert (
        failed.name.replace("-failed-", "-") == Path(summary.warc).name
    )  # same run, same stamp and serial
    assert failed.relative_to(archive.root).as_posix() not in git(archive.root, "ls-files")
