"""End to end through the library: fetch → WARC → normalized text → git, against a loopback site."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from support.commands import git
from support.newssite import Response, article
from support.userview import cpu_seconds, worker_processes

from archiver import Archive
from archiver.urls import page_dir

PARAGRAPHS = [
    "The finance minister resigned on Tuesday after an audit found irregular payments worth millions.",
    "Auditors said the payments were approved without the required signatures. The ministry disputed that.",
    "Opposition leaders called for a full public inquiry and the release of all related documents.",
    "The prime minister thanked the minister for her service and named an interim successor on Wednesday.",
]


def serve_story(
    site,
    path="/news/minister-resigns",
    paragraphs=PARAGRAPHS,
    title="Finance minister resigns",
    links=(),
):
    site.page(path, lambda: article(title, list(paragraphs), links=list(links)))
    return site.url(path)


def page_files(archive: Archive, url: str) -> Path:
    from archiver.urls import page_dir

    return archive.root / page_dir(url)


def commits(root: Path) -> list[str]:
    return git(root, "rev-list", "HEAD").split()


def test_first_capture_writes_text_links_meta_and_one_commit(site, archive):
    url = serve_story(site, links=[(site.url("/reports/audit.pdf"), "the audit report")])
    added, summary = archive.add([url])

    assert added == [url]
    assert [(r.url, r.role, r.outcome) for r in summary.results] == [
        (url, "article", "new"),
        (site.url("/reports/audit.pdf"), "source", "gone"),
    ]
    folder = page_files(archive, url)
    text = (folder / "article.md").read_text()
    assert text.startswith("# Finance minister resigns\n\nBy Jane Doe · Published 2026-11-20\n\n")
    assert (
        "Auditors said the payments were approved without the required signatures.\n"
        "The ministry disputed that.\n" in text
    )
    for noise in ("Trending", "Sponsored", "Page generated", "Privacy", "Home"):
        assert noise not in text
    assert (
        folder / "links.txt"
    ).read_text() == f"{site.url('/reports/audit.pdf')}\tthe audit report\n"

    meta = json.loads((folder / "meta.json").read_text())
    assert meta["url"] == url and meta["final_url"] == url and meta["status"] == 200
    assert meta["title"] == "Finance minister resigns" and meta["byline"] == "Jane Doe"
    assert meta["published"] == "2026-11-20" and meta["content_type"] == "text/html"
    assert meta["extractor"]["trafilatura"] and meta["version"] == 1 and meta["kind"] == "new"
    assert (archive.root / meta["warc"]["file"]).is_file()
    assert meta["warc"]["payload_digest"].startswith("sha1:")
    assert list(meta) == sorted(meta), "meta.json keys are sorted"

    log = git(archive.root, "log", "-1", "--format=%s%n%b%n%cI").strip().splitlines()
    assert log[0] == "archiver: 1 new, 1 gone"
    assert f"new: {url}" in log
    committed_at = datetime.fromisoformat(log[-1])
    # dated at the run's last capture, rounded up to git's whole seconds: never before a capture it
    # holds
    assert (
        datetime.fromisoformat(meta["captured_at"])
        <= committed_at
        < summary.finished + timedelta(seconds=1)
    )
    tracked = git(archive.root, "ls-files").split()
    assert meta["warc"]["file"] in tracked and "urls.txt" in tracked
    assert url in (archive.root / "urls.txt").read_text().splitlines()
    assert git(archive.root, "status", "--porcelain") == ""


def test_recapture_with_rotating_boilerplate_makes_no_version_only_a_confirmation(site, archive):
    url = serve_story(site)
    archive.add([url])
    before = commits(archive.root)
    pages = git(archive.root, "log", "--format=%H", "--", "pages/")
    text = (page_files(archive, url) / "article.md").read_bytes()
    warcs = sorted((archive.root / "warcs").rglob("*"))

    summary = archive.snapshot(all_pages=True)

    assert site.hits["/news/minister-resigns"] == 2
    assert [r.outcome for r in summary.results] == ["unchanged"]
    assert summary.warc is None and summary.confirmed == 1
    # One commit, of the run's checks WARC alone: the revisit that shows the page still said the
    # same.
    assert commits(archive.root)[1:] == before
    assert git(archive.root, "show", "--name-only", "--format=%s", "HEAD").split() == [
        "archiver:",
        "1",
        "confirmed",
        "unchanged",
        summary.checks,
    ]
    assert git(archive.root, "log", "--format=%H", "--", "pages/") == pages
    assert (
        sorted(p for p in (archive.root / "warcs").rglob("*") if "checks" not in p.parts) == warcs
    )
    assert (page_files(archive, url) / "article.md").read_bytes() == text
    assert git(archive.root, "status", "--porcelain") == ""


def test_edited_sentence_commit_touches_only_that_line(site, archive):
    url = serve_story(site)
    archive.add([url])
    edited = list(PARAGRAPHS)
    edited[1] = edited[1].replace(
        "The ministry disputed that.", "The ministry strongly disputed that."
    )
    serve_story(site, paragraphs=edited)

    summary = archive.snapshot(all_pages=True)

    assert [r.outcome for r in summary.results] == ["changed"]
    assert summary.commit == git(archive.root, "rev-parse", "HEAD").strip()
    folder = page_files(archive, url).relative_to(archive.root).as_posix()
    numstat = git(archive.root, "diff", "--numstat", "HEAD~1", "HEAD", "--", f"{folder}/article.md")
    assert numstat.split()[:2] == ["1", "1"]
    diff = git(archive.root, "diff", "-U0", "HEAD~1", "HEAD", "--", f"{folder}/article.md")
    changed = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == ["-The ministry disputed that.", "+The ministry strongly disputed that."]
    meta = json.loads((page_files(archive, url) / "meta.json").read_text())
    assert meta["version"] == 2 and meta["kind"] == "edited"
    assert meta["summary"] == "1 sentence changed" and meta["changes"]["sentences_changed"] == 1
    assert git(archive.root, "log", "-1", "--format=%s").strip() == "archiver: 1 changed"


def test_failing_url_leaves_the_archive_untouched(site, archive):
    url = serve_story(site)
    archive.add([url])
    folder = page_files(archive, url)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    head = commits(archive.root)

    site.routes["/news/minister-resigns"] = Response(
        status=503, body=b"<h1>Service unavailable</h1>"
    )
    summary = archive.snapshot(all_pages=True)
    assert [(r.outcome, r.status) for r in summary.results] == [("failed", 503)]
    assert "503" in summary.results[0].error

    site.stop()  # connection refused from now on
    summary = archive.snapshot(all_pages=True)
    assert summary.results[0].outcome == "failed" and "connection" in summary.results[0].error

    assert commits(archive.root) == head
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    assert git(archive.root, "status", "--porcelain") == ""


def test_redirects_are_followed_hop_by_hop_and_recorded(site, archive):
    target = serve_story(site, path="/2026/11/minister-resigns")
    site.redirect("/short/abc", "/go/abc", status=302)
    site.redirect("/go/abc", "/2026/11/minister-resigns", status=301)
    url = site.url("/short/abc")

    archive.add([url])

    meta = json.loads((page_files(archive, url) / "meta.json").read_text())
    assert meta["final_url"] == target
    assert meta["redirects"] == [
        {"url": url, "status": 302},
        {"url": site.url("/go/abc"), "status": 301},
    ]
    assert meta["warc"]["target_uri"] == target
    assert (
        site.hits["/short/abc"]
        == site.hits["/go/abc"]
        == site.hits["/2026/11/minister-resigns"]
        == 1
    )


def test_non_html_is_kept_in_the_warc_without_text(site, archive):
    data = bytes(range(256)) * 40
    site.routes["/files/data.bin"] = Response(body=data, content_type="application/octet-stream")
    url = site.url("/files/data.bin")

    archive.add([url])

    folder = page_files(archive, url)
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json"]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["content_type"] == "application/octet-stream" and meta["content_length"] == len(
        data
    )
    assert meta["content_digest"] == meta["warc"]["payload_digest"]
    assert archive.snapshot(all_pages=True).results[0].outcome == "unchanged"


def test_gone_page_is_a_version_that_removes_the_text(site, archive):
    url = serve_story(site)
    archive.add([url])
    del site.routes["/news/minister-resigns"]

    summary = archive.snapshot(all_pages=True)

    assert [(r.outcome, r.status) for r in summary.results] == [("gone", 404)]
    folder = page_files(archive, url)
    assert not (folder / "article.md").exists()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["status"] == 404 and meta["kind"] == "gone" and meta["version"] == 2
    rel = folder.relative_to(archive.root).as_posix()
    assert (
        git(archive.root, "log", "--format=%s", "--", f"{rel}/article.md").splitlines()[0]
        == "archiver: 1 gone"
    )


def test_many_urls_fetched_concurrently_with_one_warc(site, archive):
    urls = [
        serve_story(site, path=f"/news/story-{i}", title=f"Story number {i} about the budget")
        for i in range(12)
    ]

    _, summary = archive.add(urls)

    assert [r.url for r in summary.results] == urls
    assert {r.outcome for r in summary.results} == {"new"}
    warcs = [p for p in (archive.root / "warcs").rglob("*") if p.is_file()]
    assert len(warcs) == 1 and warcs[0].name.endswith(".warc.gz")
    assert not list(archive.root.rglob("*.open"))
    assert len(commits(archive.root)) == 2  # the archive's first commit, then this run's


def test_list_reports_status_title_versions(site, archive):
    url = serve_story(site)
    archive.add([url])
    serve_story(site, title="Finance minister resigns amid audit")
    archive.snapshot(all_pages=True)

    [page] = archive.pages()
    assert (page.url, page.status, page.title, page.versions) == (
        url,
        "200",
        "Finance minister resigns amid audit",
        2,
    )
    assert page.last_change is not None


def test_one_or_two_worker_processes_extract_the_same_text(site, tmp_path):
    count = 16  # a run of 16 pages or more starts two workers up front
    started = []
    urls = [
        serve_story(
            site,
            path=f"/news/pool-{i}",
            title=f"Story {i} on the harbour dredging plan",
            paragraphs=[*PARAGRAPHS, f"This is story number {i} of the series."],
        )
        for i in range(count)
    ]
    texts = {}
    for processes in (2, 1):
        root = tmp_path / f"processes-{processes}"
        Archive.init(root)
        toml = root / "archiver.toml"
        toml.write_text(
            toml.read_text().replace("extract_processes = 0", f"extract_processes = {processes}")
        )
        _, summary = Archive.open(root).add(urls, depth=0)
        assert [r.outcome for r in summary.results] == ["new"] * count, [
            (r.url, r.error) for r in summary.results if r.error
        ]
        started.append(summary.extract_processes)
        texts[processes] = {u: (root / page_dir(u) / "article.md").read_bytes() for u in urls}
    assert started == [2, 1]
    assert texts[2] == texts[1]
    assert b"This is story number 7 of the series." in texts[2][urls[7]]


def test_a_killed_extraction_process_costs_no_page(site, tmp_path):
    """Killed once (as the OOM killer would), a page is extracted again in a new process; queued
    pages wait."""
    count = 30
    urls = [
        serve_story(
            site,
            path=f"/news/kill-{i}",
            title=f"Story {i} on the harbour dredging plan",
            paragraphs=[*PARAGRAPHS, f"This is story number {i} of the series."],
        )
        for i in range(count)
    ]
    served = site.routes["/news/kill-10"]

    killed = []

    def kill_the_workers(handler):  # halfway through the run
        # One process, as the OOM killer kills one (the busiest): killing them one after another,
        # the pool may hand a page to the next one killed, which is a second death, and fails it.
        workers = worker_processes(os.getpid())
        if workers:
            busiest = max(workers, key=cpu_seconds)
            os.kill(busiest, signal.SIGKILL)
            killed.append(busiest)
        return served

    site.routes["/news/kill-10"] = kill_the_workers
    root = tmp_path / "archive"
    Archive.init(root)
    _, summary = Archive.open(root).add(urls, depth=0)

    assert killed and summary.extract_processes > 0
    assert [r.outcome for r in summary.results] == ["new"] * count, [
        (r.url, r.error) for r in summary.results if r.error
    ]
    for i, url in enumerate(urls):
        assert (
            f"This is story number {i} of the series."
            in (root / page_dir(url) / "article.md").read_text()
        )
    assert not [
        pid for pid in killed if Path(f"/proc/{pid}").exists()
    ]  # reaped, not left as zombies


def test_a_library_users_unguarded_script_runs_once(site, tmp_path):
    """Worker processes do not import the program's main module again (multiprocessing's would, and
    run an unguarded script once per worker): a script need not guard itself, nor turn anything
    on."""
    url = serve_story(site, path="/news/script")
    root = tmp_path / "archive"
    script = tmp_path / "snapshot.py"
    script.write_text(f"""import sys
from archiver import Archive
print("script body ran", file=sys.stderr)
_, summary = Archive.open({str(root)!r}, create=True).add([{url!r}], depth=0)
print(summary.results[0].outcome, summary.extract_processes)
""")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["new", "1"]
    assert done.stderr.count("script body ran") == 1
