"""Pages that go away and come back: a 404 or 410 is a `gone` version with its evidence, a redirect
to the home page or a section front and a 200 "not found" page are soft 404s, and the page coming
back is `restored`; what `log`, `diff`, `show` and plain git say of each.

The archive with the story's first version is made once per module and copied for each test. The
real command lists the checks, shows a gone version and diffs a restoration; the other readings run
in-process (the same code, without a new interpreter).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.archives import allow_loopback_sources, folder, meta
from support.commands import git
from support.history import (
    HEADLINE,
    NOT_FOUND_PAGE,
    PATH,
    SENTENCES,
    Story,
    cli,
    cli_ok,
    head,
    kinds,
    message,
    minute,
    only_confirmed,
    outcome,
    recheck,
    rel,
)
from support.newssite import Response, Site, article
from support.userview import run
from warcio.archiveiterator import ArchiveIterator

from archiver import Archive


def here(archive: Archive, *args: str) -> subprocess.CompletedProcess[str]:
    """`archiver ARGS --archive ROOT` in this process."""
    return run(archive.root, *args)


def here_ok(archive: Archive, *args: str) -> str:
    result = here(archive, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def here_json(archive: Archive, *args: str):
    return json.loads(here_ok(archive, *args, "--json"))


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Story, Path]]:
    """A news site serving the story, and an archive to which it was added: made once."""
    site = Site().start()
    story = Story(site)
    root = tmp_path_factory.mktemp("added") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    Archive.open(root).add([story.url])
    yield site, story, root
    site.stop()


@pytest.fixture
def added(newsroom, tmp_path: Path) -> tuple[Site, Story, Archive]:
    """The site serving the story as first archived (and nothing else), and a copy of the archive
    holding its first version."""
    site, story, template = newsroom
    site.routes.clear()
    site.hits.clear()
    story.serve()
    root = tmp_path / "archive"
    shutil.copytree(template, root, symlinks=True)
    return site, story, Archive.open(root)


def test_404_then_410_are_gone_versions_with_evidence_then_restored(added):
    site, story, archive = added
    original = (folder(archive.root, story.url) / "article.md").read_text()
    v1 = head(archive)

    site.routes[PATH] = Response(status=404, body=NOT_FOUND_PAGE)
    summary = recheck(archive)
    assert outcome(summary, story.url) == ("gone", "gone", "HTTP 404")
    assert summary.commit == head(archive)
    page = folder(archive.root, story.url)
    assert not (page / "article.md").exists() and not (page / "links.txt").exists()
    evidence = meta(archive.root, story.url)
    assert (evidence["kind"], evidence["version"], evidence["status"]) == ("gone", 2, 404)
    assert (
        evidence["final_url"] == story.url
        and evidence["captured_at"]
        > json.loads(git(archive.root, "show", f"{v1}:{rel(story.url, 'meta.json')}"))[
            "captured_at"
        ]
    )
    with (archive.root / evidence["warc"]["file"]).open(
        "rb"
    ) as f:  # the 404 response itself, in git
        f.seek(evidence["warc"]["offset"])
        record = next(iter(ArchiveIterator(f)))
        assert record.rec_type == "response" and record.http_headers.get_statuscode() == "404"
        assert record.rec_headers.get_header("WARC-Record-ID") == evidence["warc"]["record_id"]
        assert record.content_stream().read() == NOT_FOUND_PAGE
    assert evidence["warc"]["file"] in git(archive.root, "ls-files", "warcs")
    assert archive.pages()[0].status == "404"

    assert outcome(recheck(archive), story.url)[0] == "unchanged"  # still 404: no new version...
    only_confirmed(archive, summary.commit)  # ...but a confirmation that it was still gone
    [still] = [
        line
        for line in cli_ok(archive, "log", story.url, "--checks").splitlines()
        if "confirmed" in line
    ]
    assert still.startswith("v2 confirmed unchanged at ") and still.endswith(
        " (HTTP 404, same bytes)"
    )

    site.routes[PATH] = Response(status=410, body=b"<html><title>Gone</title><h1>Gone</h1></html>")
    assert outcome(recheck(archive), story.url) == ("gone", "gone", "HTTP 410")
    assert meta(archive.root, story.url)["status"] == 410

    story.serve()
    assert outcome(recheck(archive), story.url) == ("changed", "restored", "the page is back")
    assert (page / "article.md").read_text() == original

    log = here_json(archive, "log", story.url)
    assert [(v["kind"], v["status"], v["summary"]) for v in log] == [
        ("new", 200, HEADLINE),
        ("gone", 404, "HTTP 404"),
        ("gone", 410, "HTTP 410"),
        ("restored", 200, "the page is back"),
    ]
    assert here_ok(archive, "log", story.url).splitlines()[1].split("\t")[2:] == [
        "gone",
        log[1]["commit"][:10],
        "HTTP 404",
    ]

    # show: nothing on stdout for a gone version, the reason on stderr; the text before and after.
    gone = cli(archive, "show", story.url, "--at", "2")
    assert gone.returncode == 0 and gone.stdout == ""
    assert gone.stderr.count("\n") == 1 and "v2" in gone.stderr and "gone: HTTP 404" in gone.stderr
    assert "gone: HTTP 410" in here(archive, "show", story.url, "--at", log[2]["commit"]).stderr
    assert here_ok(archive, "show", story.url, "--at", "1") == original
    assert here_ok(archive, "show", story.url) == original

    # diff: the deletion removes everything, the restoration brings it back.
    deletion = here_json(archive, "diff", story.url, "1", "2")
    assert deletion["to"]["kind"] == "gone" and deletion["headline"] == {"from": HEADLINE, "to": ""}
    assert deletion["body"] == [{"op": "delete", "old": SENTENCES, "new": [], "words": None}]
    assert deletion["counts"]["sentences_removed"] == len(SENTENCES)
    restoration = cli_ok(archive, "diff", story.url, "3", "4")
    assert (
        f"from v3 {minute(log[2]['captured_at'])} UTC gone HTTP 410 ({log[2]['commit'][:10]})\n"
        in restoration
    )
    assert (
        f"to   v4 {minute(log[3]['captured_at'])} UTC restored HTTP 200 ({log[3]['commit'][:10]})\n"
        in restoration
    )
    assert (
        f"\nheadline\n+ {HEADLINE}\n" in restoration
        and "".join(f"+ {s}\n" for s in SENTENCES) in restoration
    )
    assert here_json(archive, "diff", story.url, "1", "4")["summary"] == "no change in the text"
    # The report's "Check" command for the gone version names a file its commit holds.
    page = archive.root.parent / "report.html"
    here_ok(archive, "report", story.url, "1", "2", "-o", str(page))
    [command] = re.findall(r"git show ([0-9a-f]{10}:[^<]*meta\.json)", page.read_text())
    assert json.loads(git(archive.root, "show", command))["kind"] == "gone"
    # By default, what came back is compared with what went: the last version with text.
    back = here_json(archive, "diff", story.url)
    assert (back["from"]["version"], back["to"]["version"]) == (1, 4)
    assert back["summary"] == "no change in the text"

    # Plain git: the deletion and the restoration of article.md, with their messages.
    article_md = rel(story.url, "article.md")
    messages = git(archive.root, "log", "--format=%B", "--", article_md)
    assert (
        f"gone: {story.url} (HTTP 404)" in messages
        and f"restored: {story.url} (the page is back)" in messages
    )
    assert git(archive.root, "log", "--diff-filter=D", "--format=%H", "--", article_md).split() == [
        log[1]["commit"]
    ]
    assert git(archive.root, "log", "--diff-filter=A", "--format=%H", "--", article_md).split() == [
        log[3]["commit"],
        log[0]["commit"],
    ]
    assert git(archive.root, "log", "--follow", "--format=%H", "--", article_md).split() == [
        log[3]["commit"],
        log[1]["commit"],
        log[0]["commit"],
    ]
    assert f"gone: {story.url} (HTTP 410)" in message(archive, log[2]["commit"])


def serve_fronts(site) -> None:
    site.page(
        "/",
        lambda: article(
            "The Daily Loopback",
            [
                "Welcome to the front page of the Daily Loopback, your local news.",
                "Read our latest stories on politics, business and the world.",
                "Subscribe today for unlimited access to every story.",
            ],
        ),
    )
    site.page(
        "/politics",
        lambda: article(
            "Politics",
            [
                "All the latest political news from the capital and the regions.",
                "Elections, parliament and government, covered by our reporters.",
            ],
        ),
    )


@pytest.mark.parametrize(
    ("target", "where"), [("/", "the home page"), ("/politics", "a section front")]
)
def test_redirect_to_the_home_page_or_a_section_front_is_a_soft_404(added, target, where):
    site, story, archive = added
    serve_fronts(site)
    original = (folder(archive.root, story.url) / "article.md").read_text()

    site.redirect(PATH, target, 302)
    summary = recheck(archive)

    reason = f"redirected to {where} {site.url(target)}"
    assert outcome(summary, story.url) == ("gone", "soft-404", reason)
    assert not (folder(archive.root, story.url) / "article.md").exists()
    evidence = meta(archive.root, story.url)
    assert (evidence["kind"], evidence["status"], evidence["final_url"]) == (
        "soft-404",
        200,
        site.url(target),
    )
    assert evidence["redirects"] == [{"url": story.url, "status": 302}]
    assert evidence["warc"]["target_uri"] == site.url(target)
    assert f"soft-404: {story.url} ({reason})" in message(archive, summary.commit).splitlines()
    assert archive.pages()[0].status == "soft-404"
    assert (
        outcome(recheck(archive), story.url)[0] == "unchanged"
    )  # the same redirect again: no new version
    only_confirmed(archive, summary.commit)

    story.serve()
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "restored")
    assert (folder(archive.root, story.url) / "article.md").read_text() == original
    assert (
        git(
            archive.root,
            "log",
            "--diff-filter=D",
            "--format=%H",
            "--",
            rel(story.url, "article.md"),
        ).strip()
        == summary.commit
    )
    if target != "/":
        return  # the commands read both the same way: once is enough

    log = here_json(archive, "log", story.url)
    assert [(v["kind"], v["final_url"]) for v in log] == [
        ("new", story.url),
        ("soft-404", site.url(target)),
        ("restored", story.url),
    ]
    assert here_ok(archive, "log", story.url).splitlines()[1].split("\t")[2:] == [
        "soft-404",
        log[1]["commit"][:10],
        reason,
    ]
    back = here_json(
        archive, "diff", story.url, "2", "3"
    )  # the restoration brings every sentence back
    assert (back["from"]["kind"], back["to"]["kind"]) == ("soft-404", "restored")
    assert back["body"] == [{"op": "insert", "old": [], "new": SENTENCES, "words": None}]
    default = here_json(archive, "diff", story.url)  # what came back, against what went
    assert (default["from"]["kind"], default["to"]["kind"]) == ("new", "restored")
    assert default["summary"] == "no change in the text"
    shown = here(archive, "show", story.url, "--at", "2")
    assert shown.returncode == 0 and shown.stdout == "" and f"soft-404: {reason}" in shown.stderr
    assert here_ok(archive, "show", story.url, "--at", "-1") == original


def test_200_page_not_found_is_a_soft_404(added):
    site, story, archive = added
    original = (folder(archive.root, story.url) / "article.md").read_text()

    site.page(
        PATH,
        lambda: article(
            "Page not found",
            [
                "Sorry, the page you are looking for does not exist or has been removed.",
                "Try searching our archive, or return to the home page for the latest news.",
            ],
        ),
    )
    summary = recheck(archive)

    assert outcome(summary, story.url) == (
        "gone",
        "soft-404",
        "answers 200 with a 'not found' page",
    )
    assert not (folder(archive.root, story.url) / "article.md").exists()
    evidence = meta(archive.root, story.url)
    assert (evidence["status"], evidence["final_url"], evidence["redirects"]) == (
        200,
        story.url,
        [],
    )
    assert "Page not found" in archive.raw(archive.history(story.url).versions()[-1]).decode()
    assert (
        outcome(recheck(archive), story.url)[0] == "unchanged"
    )  # its rotating ads make no new version
    assert f"soft-404: {story.url} (answers 200 with a 'not found' page)" in git(
        archive.root, "log", "-1", "--format=%B", "--", rel(story.url, "article.md")
    )

    story.serve()
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "restored")

    log = here_json(archive, "log", story.url)
    assert kinds(log) == ["new", "soft-404", "restored"]
    out = here_ok(archive, "diff", story.url, "1", "2")
    assert (
        f"to   v2 {minute(log[1]['captured_at'])} UTC soft-404 HTTP 200 ({log[1]['commit'][:10]})\n"
        in out
    )
    assert "".join(f"- {s}\n" for s in SENTENCES) in out and "+ Sorry" not in out
    assert here_ok(archive, "show", story.url) == original


def test_200_page_titled_page_not_found_is_a_soft_404(added):
    site, story, archive = added

    site.page(
        PATH,
        "<html><head><title>Page not found | The Daily Loopback</title></head><body><h1>Sorry, we "
        "can't find that</h1><p>Try searching our archive for the story.</p></body></html>",
    )
    summary = recheck(archive)

    assert outcome(summary, story.url)[:2] == ("gone", "soft-404")
