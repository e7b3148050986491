"""Version history end to end (issue 4): the kind of every version, `log`, `diff`, `show`, and plain git agreeing.

A loopback news site edits, deletes, redirects and breaks an article (and a source it cites) on demand;
the library takes the snapshots, the real `archiver` command reads the history back as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import allow_loopback_sources, git, run_cli
from newssite import Response, Site, article
from warcio.archiveiterator import ArchiveIterator

from archiver import Archive
from archiver.errors import ExitCode
from archiver.urls import page_dir

PATH = "/news/2026/11/minister-resigns"
HEADLINE = "Finance minister resigns"
BYLINE = "By Jane Doe · Published 2026-11-20"
STORY = [
    "The finance minister resigned on Tuesday after an audit found irregular payments worth millions.",
    "Auditors said the payments were approved without the required signatures. The ministry disputed that.",
    "Opposition leaders called for a full public inquiry and the release of all related documents.",
    "The prime minister thanked the minister for her service and named an interim successor on Wednesday.",
]
# The body sentences of article.md for STORY, one a line, in order.
SENTENCES = [STORY[0], "Auditors said the payments were approved without the required signatures.",
             "The ministry disputed that.", STORY[2], STORY[3]]
ADDED = "Her lawyer said she would cooperate fully with investigators and answer every question."
NOT_FOUND_PAGE = b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"


class Story:
    """The article as the site serves it now; tests change the fields, then snapshot."""

    def __init__(self, site, path: str = PATH) -> None:
        self.site, self.path, self.url = site, path, site.url(path)
        self.title, self.paragraphs, self.links, self.author = HEADLINE, list(STORY), [], "Jane Doe"
        self.archive: Archive | None = None  # where edit_history archived it
        self.serve()

    def serve(self) -> None:
        self.site.page(self.path, lambda: article(self.title, self.paragraphs, links=self.links, author=self.author))


def recheck(archive: Archive):
    """A snapshot of every tracked page and source now, due or not."""
    return archive.snapshot(all_pages=True)


def outcome(summary, url: str) -> tuple[str, str | None, str]:
    [result] = [r for r in summary.results if r.url == url]
    return result.outcome, result.kind, result.summary


def cli(archive: Archive, *args: str) -> subprocess.CompletedProcess[str]:
    """`archiver ARGS --archive ROOT` (the option goes before a `--`, which ends the options)."""
    end = args.index("--") if "--" in args else len(args)
    return run_cli(*args[:end], "--archive", str(archive.root), *args[end:])


def cli_ok(archive: Archive, *args: str) -> str:
    result = cli(archive, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def cli_json(archive: Archive, *args: str):
    end = args.index("--") if "--" in args else len(args)
    return json.loads(cli_ok(archive, *args[:end], "--json", *args[end:]))


def cli_bytes(archive: Archive, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Like run_cli, but stdout as the exact bytes written (no decoding, no newline translation)."""
    exe = Path(sys.executable).with_name("archiver")
    return subprocess.run([str(exe), *args, "--archive", str(archive.root)], capture_output=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def usage_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == ExitCode.USAGE, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("archiver: error: "), result.stderr
    for word in words:
        assert word in result.stderr


def folder(archive: Archive, url: str) -> Path:
    return archive.root / page_dir(url)


def rel(url: str, name: str = "") -> str:
    """The page's folder (or a file in it) relative to the archive root, as git names it."""
    return (page_dir(url) / name).as_posix() if name else page_dir(url).as_posix()


def meta(archive: Archive, url: str) -> dict:
    return json.loads((folder(archive, url) / "meta.json").read_text())


def head(archive: Archive) -> str:
    return git(archive.root, "rev-parse", "HEAD").strip()


def only_confirmed(archive: Archive, since: str) -> None:
    """The commits after `since` hold no version: each adds its run's checks WARC, and nothing else."""
    commits = git(archive.root, "rev-list", f"{since}..HEAD").split()
    assert commits
    for commit in commits:
        files = git(archive.root, "show", "--name-only", "--format=", commit).split()
        assert len(files) == 1 and files[0].startswith("warcs/checks/"), files


def text_at(archive: Archive, commit: str, url: str) -> str:
    return git(archive.root, "show", f"{commit}:{rel(url, 'article.md')}")


def message(archive: Archive, commit: str) -> str:
    return git(archive.root, "show", "-s", "--format=%B", commit)


def kinds(log: list[dict]) -> list[str]:
    return [v["kind"] for v in log]


def minute(stamp: str) -> str:
    return stamp[:16].replace("T", " ")


def write_settings(archive: Archive, replacements: dict[str, str]) -> Archive:
    """Edit archiver.toml ("read_timeout = 30.0" -> "read_timeout = 0.5") and open the archive again."""
    toml = archive.root / "archiver.toml"
    text = toml.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    toml.write_text(text)
    return Archive.open(archive.root)


# -- edits ---------------------------------------------------------------------------------------------


def serve_sources(site) -> dict[str, str]:
    site.page("/reports/audit", lambda: article("The audit report", [
        "The audit covered every payment the ministry made between January and June.",
        "It found twelve payments approved without the required signatures.",
        "The auditors recommend new controls on approvals and a review of past contracts."]))
    site.page("/data/payments", lambda: article("Payments table", [
        "The table lists every payment examined by the auditors, with its date and amount.",
        "Each row names the payee and the official who approved the payment.",
        "Totals were checked against the ministry ledger published in September."]))
    return {"audit": site.url("/reports/audit"), "table": site.url("/data/payments")}


def edit_history(site, archive: Archive) -> Story:
    """v1 new; v2 one sentence edited; v3 headline changed; v4 a citation dropped; v5 byline changed and a
    sentence added."""
    sources = serve_sources(site)
    story = Story(site)
    story.links = [(sources["audit"], "the audit report"), (sources["table"], "a payments table")]
    archive.add([story.url])
    story.paragraphs[0] = STORY[0].replace("on Tuesday", "on Monday")
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "edited")
    story.title = "Finance minister resigns after audit"
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "edited")
    story.links = story.links[:1]
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "edited")
    story.author = "Omar Ali"
    story.paragraphs.append(ADDED)
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "edited")
    return story


@pytest.fixture(scope="module")
def edited(tmp_path_factory) -> Iterator[Story]:
    """Five versions of an article, shared by the tests below, which only read them."""
    site = Site().start()
    root = tmp_path_factory.mktemp("edited") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    archive = Archive.open(root)
    story = edit_history(site, archive)
    story.archive = archive
    yield story
    site.stop()


def test_each_edit_is_an_edited_version_saying_what_changed(edited):
    archive = edited.archive
    url = edited.url
    log = cli_json(archive, "log", url)

    assert [(v["version"], v["kind"], v["summary"]) for v in log] == [
        (1, "new", HEADLINE),
        (2, "edited", "1 sentence changed"),
        (3, "edited", "headline changed"),
        (4, "edited", "1 sentence removed, 1 citation removed"),
        (5, "edited", "byline changed, 1 sentence added"),
    ]
    assert all(v["status"] == 200 and v["final_url"] == url for v in log)
    # The latest meta.json says the same, with the change counts.
    latest = meta(archive, url)
    assert (latest["version"], latest["kind"], latest["summary"]) == (5, "edited", "byline changed, 1 sentence added")
    assert latest["changes"] == {"sentences_added": 1, "sentences_removed": 0, "sentences_changed": 0,
                                 "citations_added": 0, "citations_removed": 0}
    assert latest["byline"] == "Omar Ali" and latest["title"] == "Finance minister resigns after audit"
    # Every version's commit message names its kind and what changed.
    for v in log[1:]:
        assert f"edited: {url} ({v['summary']})" in message(archive, v["commit"]).splitlines()
    assert f"new: {url}" in message(archive, log[0]["commit"]).splitlines()


def test_log_lists_versions_oldest_first_or_newest_first_and_agrees_with_git(edited):
    archive = edited.archive
    url = edited.url
    log = cli_json(archive, "log", url)
    lines = cli_ok(archive, "log", url).splitlines()

    assert lines == [f"v{v['version']}\t{minute(v['captured_at'])}\t{v['kind']}\t{v['commit'][:10]}\t{v['summary']}"
                     for v in log]
    assert cli_ok(archive, "log", url, "--reverse").splitlines() == lines[::-1]
    assert [v["version"] for v in cli_json(archive, "log", url, "--reverse")] == [5, 4, 3, 2, 1]
    # A URL written differently (case, tracking parameters) is the same page.
    messy = url.replace("http://", "HTTP://") + "?utm_source=newsletter"
    assert cli_json(archive, "log", messy) == log

    # Plain git tells the same story: every version changed article.md, in the same commits.
    article_md = rel(url, "article.md")
    assert git(archive.root, "log", "--reverse", "--format=%H", "--", article_md).split() == [v["commit"]
                                                                                              for v in log]
    assert git(archive.root, "log", "--follow", "--format=%H", "--", article_md).split() == [v["commit"]
                                                                                             for v in log[::-1]]
    for v in log:  # a commit is dated at the last capture it holds (rounded up to whole seconds)
        committed = datetime.fromisoformat(git(archive.root, "show", "-s", "--format=%cI", v["commit"]).strip())
        captured = datetime.fromisoformat(v["captured_at"])
        assert timedelta(0) <= committed - captured < timedelta(seconds=30)


def test_git_log_p_reads_as_the_revision_history(edited):
    archive = edited.archive
    log = cli_json(archive, "log", edited.url)
    article_md = rel(edited.url, "article.md")

    patch = git(archive.root, "show", "--format=", log[1]["commit"], "--", article_md)
    assert f"-{STORY[0]}\n" in patch and f"+{STORY[0].replace('on Tuesday', 'on Monday')}\n" in patch
    changed = [line for line in patch.splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++")]
    assert len(changed) == 2  # one line changed, nothing else

    history = git(archive.root, "log", "-p", "--format=%s", "--", article_md)
    assert f"-# {HEADLINE}\n+# Finance minister resigns after audit\n" in history
    assert "-As reported in a payments table, the matter is disputed.\n" in history
    assert f"-{BYLINE}\n+By Omar Ali · Published 2026-11-20\n" in history
    links_patch = git(archive.root, "show", "--format=", log[3]["commit"], "--", rel(edited.url, "links.txt"))
    assert "-http://" in links_patch and "/data/payments\ta payments table" in links_patch


def test_diff_defaults_to_the_last_two_versions(edited):
    archive = edited.archive
    log = cli_json(archive, "log", edited.url)
    v4, v5 = log[3], log[4]

    out = cli_ok(archive, "diff", edited.url)

    assert out == (
        f"diff {edited.url}\n"
        f"from v4 {minute(v4['captured_at'])} UTC edited HTTP 200 ({v4['commit'][:10]})\n"
        f"to   v5 {minute(v5['captured_at'])} UTC edited HTTP 200 ({v5['commit'][:10]})\n"
        "byline changed, 1 sentence added\n"
        "\nbyline\n"
        f"- {BYLINE}\n"
        "+ By Omar Ali · Published 2026-11-20\n"
        "\nbody\n"
        f"+ {ADDED}\n"
    )


def test_diff_sections_headline_byline_body_citations(edited):
    site, archive = edited.site, edited.archive
    sources = {"audit": site.url("/reports/audit"), "table": site.url("/data/payments")}
    out = cli_ok(archive, "diff", edited.url, "--", "1", "-1")

    lines = out.splitlines()
    assert lines[1].startswith("from v1 ") and " new HTTP 200 " in lines[1]
    assert lines[2].startswith("to   v5 ") and " edited HTTP 200 " in lines[2]
    assert lines[3] == ("headline changed, byline changed, 1 sentence changed, 1 sentence added, 1 sentence removed, "
                        "1 citation removed")
    assert "\n".join(lines[4:]) == "\n".join([
        "",
        "headline",
        f"- {HEADLINE}",
        "+ Finance minister resigns after audit",
        "",
        "byline",
        f"- {BYLINE}",
        "+ By Omar Ali · Published 2026-11-20",
        "",
        "body",
        f"- {STORY[0]}",
        f"+ {STORY[0].replace('on Tuesday', 'on Monday')}",
        f"+ {ADDED}",
        "- As reported in a payments table, the matter is disputed.",
        "",
        "citations",
        f"- {sources['table']}  a payments table",
    ])


def test_diff_word_marks_changed_words_inside_changed_sentences(edited):
    archive = edited.archive
    out = cli_ok(archive, "diff", edited.url, "1", "2", "--word")
    assert ("~ The finance minister resigned on [-Tuesday-] {+Monday+} after an audit found irregular payments "
            "worth millions.\n") in out
    assert "- The finance minister" not in out and "+ The finance minister" not in out

    out = cli_ok(archive, "diff", edited.url, "2", "3", "--word")
    assert "\nheadline\n~ Finance minister resigns {+after audit+}\n" in out

    # Sentences only removed or added are whole lines, with or without --word.
    out = cli_ok(archive, "diff", edited.url, "3", "4", "--word")
    assert "\n- As reported in a payments table, the matter is disputed.\n" in out and "~" not in out


def test_diff_json_has_the_same_structure(edited):
    site, archive = edited.site, edited.archive
    log = cli_json(archive, "log", edited.url)
    data = cli_json(archive, "diff", edited.url, "--", "1", "-1")

    assert data["url"] == edited.url
    assert data["from"] == log[0] and data["to"] == log[4]
    assert data["headline"] == {"from": HEADLINE, "to": "Finance minister resigns after audit"}
    assert data["byline"] == {"from": BYLINE, "to": "By Omar Ali · Published 2026-11-20"}
    assert data["body"] == [
        {"op": "replace", "old": [STORY[0]], "new": [STORY[0].replace("on Tuesday", "on Monday")],
         "words": [["=", "The finance minister resigned on"], ["-", "Tuesday"], ["+", "Monday"],
                   ["=", "after an audit found irregular payments worth millions."]]},
        {"op": "insert", "old": [], "new": [ADDED], "words": None},
        {"op": "delete", "old": ["As reported in a payments table, the matter is disputed."], "new": [],
         "words": None},
    ]
    assert data["citations"] == {"added": [],
                                 "removed": [{"url": site.url("/data/payments"), "text": "a payments table"}]}
    assert data["counts"] == {"sentences_added": 1, "sentences_removed": 1, "sentences_changed": 1,
                              "citations_added": 0, "citations_removed": 1}
    assert data["summary"] == ("headline changed, byline changed, 1 sentence changed, 1 sentence added, "
                               "1 sentence removed, 1 citation removed")

    # The default pair, as JSON too; a citation added shows under "added".
    default = cli_json(archive, "diff", edited.url)
    assert (default["from"]["version"], default["to"]["version"]) == (4, 5)
    back = cli_json(archive, "diff", edited.url, "4", "3")
    assert back["citations"] == {"added": [{"url": site.url("/data/payments"), "text": "a payments table"}],
                                 "removed": []}


def test_diff_from_and_to_by_number_commit_date_and_time(edited):
    archive = edited.archive
    url = edited.url
    log = cli_json(archive, "log", url)
    at = [datetime.fromisoformat(v["captured_at"]) for v in log]

    def pair(*specs: str) -> tuple[int, int]:
        data = cli_json(archive, "diff", url, "--", *specs)  # "--": "-3" is a version, not an option
        return data["from"]["version"], data["to"]["version"]

    assert pair("2", "4") == (2, 4)
    assert pair("-3", "-2") == (3, 4)
    assert pair("2") == (2, 5)  # FROM alone: up to the latest
    assert pair(log[1]["commit"][:7], log[2]["commit"]) == (2, 3)  # a commit prefix, a full commit
    assert pair(log[1]["commit"][:12].upper(), "-1") == (2, 5)
    # Exact capture times (as `log --json` gives them) and a moment between two versions.
    assert pair(log[0]["captured_at"], log[1]["captured_at"]) == (1, 2)
    between = (at[1] + (at[2] - at[1]) / 2).replace(tzinfo=None).isoformat()  # naive: UTC
    assert pair("1", between) == (1, 2)
    assert pair("1", at[2].astimezone(timezone(timedelta(hours=2))).isoformat()) == (1, 3)  # any UTC offset
    # A day means the version in force at its end; a minute after the last capture is the latest.
    later = (at[4] + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    assert pair("1", at[4].strftime("%Y-%m-%d")) == (1, 5)
    assert pair("1", later.replace("T", " ")) == (1, 5)


def test_show_at_a_version_or_a_moment_prints_that_text(edited):
    archive = edited.archive
    url = edited.url
    log = cli_json(archive, "log", url)

    assert cli_ok(archive, "show", url) == (folder(archive, url) / "article.md").read_text()
    first = cli_ok(archive, "show", url, "--at", "1")
    assert first == text_at(archive, log[0]["commit"], url)
    assert first.startswith(f"# {HEADLINE}\n\n{BYLINE}\n\n{STORY[0]}\n")
    assert cli_ok(archive, "show", url, "--at", log[2]["captured_at"]) == text_at(archive, log[2]["commit"], url)
    assert cli_ok(archive, "show", url, "--at", log[3]["commit"][:8]) == text_at(archive, log[3]["commit"], url)
    assert "# Finance minister resigns after audit\n" in text_at(archive, log[2]["commit"], url)


def test_bad_version_specs_and_unknown_urls_are_usage_errors(edited):
    site, archive = edited.site, edited.archive
    url = edited.url
    first = cli_json(archive, "log", url)[0]["captured_at"]
    before_first = (datetime.fromisoformat(first) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")

    usage_error(cli(archive, "diff", url, "0"), "no version 0", "there are 5")
    usage_error(cli(archive, "diff", url, "1", "6"), "no version 6")
    usage_error(cli(archive, "show", url, "--at", "-6"), "no version -6")
    usage_error(cli(archive, "diff", url, "deadbeefdeadbeef"), "deadbeefdeadbeef")
    usage_error(cli(archive, "diff", url, "yesterday"), "yesterday")
    usage_error(cli(archive, "show", url, "--at", "2026-13-45"), "2026-13-45")
    usage_error(cli(archive, "show", url, "--at", before_first), "no version at or before")
    usage_error(cli(archive, "log", site.url("/news/never-archived")), "/news/never-archived")
    usage_error(cli(archive, "diff", "not a url"))


def test_negative_version_numbers_work_as_from_and_to(site, archive):
    story, log = two_versions(site, archive)

    result = cli(archive, "diff", story.url, "-2", "-1", "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["from"]["commit"], data["to"]["commit"]) == (log[0]["commit"], log[1]["commit"])


# -- deletions, soft 404s, restorations ------------------------------------------------------------------


def test_404_then_410_are_gone_versions_with_evidence_then_restored(site, archive):
    story = Story(site)
    archive.add([story.url])
    original = (folder(archive, story.url) / "article.md").read_text()
    v1 = head(archive)

    site.routes[PATH] = Response(status=404, body=NOT_FOUND_PAGE)
    summary = recheck(archive)
    assert outcome(summary, story.url) == ("gone", "gone", "HTTP 404")
    assert summary.commit == head(archive)
    page = folder(archive, story.url)
    assert not (page / "article.md").exists() and not (page / "links.txt").exists()
    evidence = meta(archive, story.url)
    assert (evidence["kind"], evidence["version"], evidence["status"]) == ("gone", 2, 404)
    assert evidence["final_url"] == story.url and evidence["captured_at"] > json.loads(
        git(archive.root, "show", f"{v1}:{rel(story.url, 'meta.json')}"))["captured_at"]
    with (archive.root / evidence["warc"]["file"]).open("rb") as f:  # the 404 response itself, in git
        f.seek(evidence["warc"]["offset"])
        record = next(iter(ArchiveIterator(f)))
        assert record.rec_type == "response" and record.http_headers.get_statuscode() == "404"
        assert record.rec_headers.get_header("WARC-Record-ID") == evidence["warc"]["record_id"]
        assert record.content_stream().read() == NOT_FOUND_PAGE
    assert evidence["warc"]["file"] in git(archive.root, "ls-files", "warcs")
    assert archive.pages()[0].status == "404"

    assert outcome(recheck(archive), story.url)[0] == "unchanged"  # still 404: no new version...
    only_confirmed(archive, summary.commit)  # ...but a confirmation that it was still gone
    [still] = [line for line in cli_ok(archive, "log", story.url, "--checks").splitlines() if "confirmed" in line]
    assert still.startswith("v2 confirmed unchanged at ") and still.endswith(" (HTTP 404, same bytes)")

    site.routes[PATH] = Response(status=410, body=b"<html><title>Gone</title><h1>Gone</h1></html>")
    assert outcome(recheck(archive), story.url) == ("gone", "gone", "HTTP 410")
    assert meta(archive, story.url)["status"] == 410

    story.serve()
    assert outcome(recheck(archive), story.url) == ("changed", "restored", "the page is back")
    assert (page / "article.md").read_text() == original

    log = cli_json(archive, "log", story.url)
    assert [(v["kind"], v["status"], v["summary"]) for v in log] == [
        ("new", 200, HEADLINE), ("gone", 404, "HTTP 404"), ("gone", 410, "HTTP 410"),
        ("restored", 200, "the page is back")]
    assert cli_ok(archive, "log", story.url).splitlines()[1].split("\t")[2:] == ["gone", log[1]["commit"][:10],
                                                                                  "HTTP 404"]

    # show: nothing on stdout for a gone version, the reason on stderr; the text before and after.
    gone = cli(archive, "show", story.url, "--at", "2")
    assert gone.returncode == 0 and gone.stdout == ""
    assert gone.stderr.count("\n") == 1 and "v2" in gone.stderr and "gone: HTTP 404" in gone.stderr
    assert "gone: HTTP 410" in cli(archive, "show", story.url, "--at", log[2]["commit"]).stderr
    assert cli_ok(archive, "show", story.url, "--at", "1") == original
    assert cli_ok(archive, "show", story.url) == original

    # diff: the deletion removes everything, the restoration brings it back.
    deletion = cli_json(archive, "diff", story.url, "1", "2")
    assert deletion["to"]["kind"] == "gone" and deletion["headline"] == {"from": HEADLINE, "to": ""}
    assert deletion["body"] == [{"op": "delete", "old": SENTENCES, "new": [], "words": None}]
    assert deletion["counts"]["sentences_removed"] == len(SENTENCES)
    restoration = cli_ok(archive, "diff", story.url)
    assert f"from v3 {minute(log[2]['captured_at'])} UTC gone HTTP 410 ({log[2]['commit'][:10]})\n" in restoration
    assert f"to   v4 {minute(log[3]['captured_at'])} UTC restored HTTP 200 ({log[3]['commit'][:10]})\n" in restoration
    assert f"\nheadline\n+ {HEADLINE}\n" in restoration and "".join(f"+ {s}\n" for s in SENTENCES) in restoration
    assert cli_json(archive, "diff", story.url, "1", "4")["summary"] == "no change in the text"

    # Plain git: the deletion and the restoration of article.md, with their messages.
    article_md = rel(story.url, "article.md")
    messages = git(archive.root, "log", "--format=%B", "--", article_md)
    assert f"gone: {story.url} (HTTP 404)" in messages and f"restored: {story.url} (the page is back)" in messages
    assert git(archive.root, "log", "--diff-filter=D", "--format=%H", "--", article_md).split() == [log[1]["commit"]]
    assert git(archive.root, "log", "--diff-filter=A", "--format=%H", "--", article_md).split() == [
        log[3]["commit"], log[0]["commit"]]
    assert git(archive.root, "log", "--follow", "--format=%H", "--", article_md).split() == [
        log[3]["commit"], log[1]["commit"], log[0]["commit"]]
    assert f"gone: {story.url} (HTTP 410)" in message(archive, log[2]["commit"])


def serve_fronts(site) -> None:
    site.page("/", lambda: article("The Daily Loopback", [
        "Welcome to the front page of the Daily Loopback, your local news.",
        "Read our latest stories on politics, business and the world.",
        "Subscribe today for unlimited access to every story."]))
    site.page("/politics", lambda: article("Politics", [
        "All the latest political news from the capital and the regions.",
        "Elections, parliament and government, covered by our reporters."]))


@pytest.mark.parametrize(("target", "where"), [("/", "the home page"), ("/politics", "a section front")])
def test_redirect_to_the_home_page_or_a_section_front_is_a_soft_404(site, archive, target, where):
    serve_fronts(site)
    story = Story(site)
    archive.add([story.url])
    original = (folder(archive, story.url) / "article.md").read_text()

    site.redirect(PATH, target, 302)
    summary = recheck(archive)

    reason = f"redirected to {where} {site.url(target)}"
    assert outcome(summary, story.url) == ("gone", "soft-404", reason)
    assert not (folder(archive, story.url) / "article.md").exists()
    evidence = meta(archive, story.url)
    assert (evidence["kind"], evidence["status"], evidence["final_url"]) == ("soft-404", 200, site.url(target))
    assert evidence["redirects"] == [{"url": story.url, "status": 302}]
    assert evidence["warc"]["target_uri"] == site.url(target)
    assert f"soft-404: {story.url} ({reason})" in message(archive, summary.commit).splitlines()
    assert archive.pages()[0].status == "soft-404"
    assert outcome(recheck(archive), story.url)[0] == "unchanged"  # the same redirect again: no new version
    only_confirmed(archive, summary.commit)

    story.serve()
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "restored")
    assert (folder(archive, story.url) / "article.md").read_text() == original
    assert git(archive.root, "log", "--diff-filter=D", "--format=%H", "--",
               rel(story.url, "article.md")).strip() == summary.commit
    if target != "/":
        return  # the commands read both the same way: once is enough

    log = cli_json(archive, "log", story.url)
    assert [(v["kind"], v["final_url"]) for v in log] == [
        ("new", story.url), ("soft-404", site.url(target)), ("restored", story.url)]
    assert cli_ok(archive, "log", story.url).splitlines()[1].split("\t")[2:] == [
        "soft-404", log[1]["commit"][:10], reason]
    back = cli_json(archive, "diff", story.url)  # the restoration brings every sentence back
    assert (back["from"]["kind"], back["to"]["kind"]) == ("soft-404", "restored")
    assert back["body"] == [{"op": "insert", "old": [], "new": SENTENCES, "words": None}]
    shown = cli(archive, "show", story.url, "--at", "2")
    assert shown.returncode == 0 and shown.stdout == "" and f"soft-404: {reason}" in shown.stderr
    assert cli_ok(archive, "show", story.url, "--at", "-1") == original


def test_200_page_not_found_is_a_soft_404(site, archive):
    story = Story(site)
    archive.add([story.url])
    original = (folder(archive, story.url) / "article.md").read_text()

    site.page(PATH, lambda: article("Page not found", [
        "Sorry, the page you are looking for does not exist or has been removed.",
        "Try searching our archive, or return to the home page for the latest news."]))
    summary = recheck(archive)

    assert outcome(summary, story.url) == ("gone", "soft-404", "answers 200 with a 'not found' page")
    assert not (folder(archive, story.url) / "article.md").exists()
    evidence = meta(archive, story.url)
    assert (evidence["status"], evidence["final_url"], evidence["redirects"]) == (200, story.url, [])
    assert "Page not found" in archive.raw(archive.history(story.url).versions()[-1]).decode()
    assert outcome(recheck(archive), story.url)[0] == "unchanged"  # its rotating ads make no new version
    assert f"soft-404: {story.url} (answers 200 with a 'not found' page)" in git(
        archive.root, "log", "-1", "--format=%B", "--", rel(story.url, "article.md"))

    story.serve()
    assert outcome(recheck(archive), story.url)[:2] == ("changed", "restored")

    log = cli_json(archive, "log", story.url)
    assert kinds(log) == ["new", "soft-404", "restored"]
    out = cli_ok(archive, "diff", story.url, "1", "2")
    assert f"to   v2 {minute(log[1]['captured_at'])} UTC soft-404 HTTP 200 ({log[1]['commit'][:10]})\n" in out
    assert "".join(f"- {s}\n" for s in SENTENCES) in out and "+ Sorry" not in out
    assert cli_ok(archive, "show", story.url) == original


# -- transient failures ------------------------------------------------------------------------------------


def assert_untouched(archive: Archive, url: str, commit: str, text: str, versions: int) -> None:
    assert head(archive) == commit
    assert git(archive.root, "status", "--porcelain") == ""  # no stray WARC, nothing half-written
    assert (folder(archive, url) / "article.md").read_text() == text
    assert meta(archive, url)["version"] == versions
    assert len(archive.history(url).versions()) == versions


@pytest.mark.parametrize("response", [
    Response(status=500, body=b"<h1>Internal Server Error</h1>"),
    Response(status=503, body=b"<h1>Service Unavailable</h1>", headers=[("Retry-After", "0")]),
    Response(status=429, body=b"<h1>Too Many Requests</h1>", headers=[("Retry-After", "0")]),
], ids=["500", "503", "429"])
def test_server_errors_make_no_version_and_keep_the_text(site, archive, response):
    story = Story(site)
    archive.add([story.url])
    story.paragraphs[0] = STORY[0].replace("on Tuesday", "on Monday")
    recheck(archive)
    text, commit = (folder(archive, story.url) / "article.md").read_text(), head(archive)

    site.routes[PATH] = response
    summary = recheck(archive)

    assert outcome(summary, story.url)[:2] == ("failed", None) and summary.commit is None
    assert str(response.status) in summary.results[0].error
    assert_untouched(archive, story.url, commit, text, versions=2)
    assert archive.pages()[0].status == "failed"


def test_timeout_makes_no_version_and_exits_1(site, archive):
    story = Story(site)
    archive.add([story.url])
    text, commit = (folder(archive, story.url) / "article.md").read_text(), head(archive)
    archive = write_settings(archive, {"read_timeout = 30.0": "read_timeout = 0.5",
                                       "deadline = 120.0": "deadline = 1.5"})
    git(archive.root, "commit", "-qam", "short timeouts")  # settings are committed by the user
    commit = head(archive)

    def slow(handler):
        time.sleep(2.5)
        return Response(body=article(HEADLINE, STORY).encode())

    site.routes[PATH] = slow
    begun = time.monotonic()
    result = cli(archive, "-v", "snapshot", "--all")

    assert time.monotonic() - begun < 10
    assert result.returncode == ExitCode.SOME_FAILED, result.stderr
    assert result.stdout.strip().endswith("0 unchanged, 1 failed; no commit")
    assert f"failed: {story.url}: " in result.stderr
    assert_untouched(archive, story.url, commit, text, versions=1)
    assert cli_ok(archive, "show", story.url) == text

    # Headers at once, then the body stalls half way: a timeout too, not a shorter article.
    body = article(HEADLINE, STORY).encode()

    def stalling(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) * 2 // 3])
        handler.wfile.flush()
        time.sleep(2.5)
        return Response(status=500)

    site.routes[PATH] = stalling
    assert outcome(recheck(archive), story.url)[0] == "failed"
    assert_untouched(archive, story.url, commit, text, versions=1)


def test_refused_connection_makes_no_version(site, archive):
    story = Story(site)
    archive.add([story.url])
    text, commit = (folder(archive, story.url) / "article.md").read_text(), head(archive)

    site.stop()
    summary = recheck(archive)

    assert outcome(summary, story.url)[0] == "failed" and summary.commit is None
    assert_untouched(archive, story.url, commit, text, versions=1)


def test_failure_streak_lists_the_page_unreachable_without_touching_it(site, archive):
    assert archive.config.unreachable_after_days == 7.0  # the documented default
    archive = write_settings(archive, {"unreachable_after_days = 7.0": "unreachable_after_days = 0.00002"})
    story = Story(site)
    archive.add([story.url])
    text, commit = (folder(archive, story.url) / "article.md").read_text(), head(archive)

    site.routes[PATH] = Response(status=500, body=b"oops")
    assert outcome(recheck(archive), story.url)[0] == "failed"
    assert archive.pages()[0].status == "failed"  # one failure, a moment ago: not yet a streak
    time.sleep(2)  # longer than 0.00002 days (1.7 s)
    assert outcome(recheck(archive), story.url)[0] == "failed"

    [page] = cli_json(archive, "list")
    assert (page["url"], page["status"], page["versions"]) == (story.url, "unreachable", 1)
    assert "500" in page["error"]
    assert_untouched(archive, story.url, commit, text, versions=1)
    assert kinds(cli_json(archive, "log", story.url)) == ["new"]

    story.serve()  # back: the streak ends, and the same text makes no version
    assert outcome(recheck(archive), story.url)[0] == "unchanged"
    assert archive.pages()[0].status == "200"


def test_a_site_wide_outage_counts_towards_unreachable(site, archive):
    archive = write_settings(archive, {"unreachable_after_days = 7.0": "unreachable_after_days = 0.00001"})
    story = Story(site)
    archive.add([story.url])

    outage = Response(status=503, body=b"<h1>Service Unavailable</h1>", headers=[("Retry-After", "0")])
    site.routes[PATH] = site.routes["/robots.txt"] = outage  # the whole site is down, robots.txt included
    assert outcome(recheck(archive), story.url)[0] == "failed"
    time.sleep(1)  # longer than 0.00001 days (0.86 s)
    assert outcome(recheck(archive), story.url)[0] == "failed"

    assert archive.pages()[0].status == "unreachable"
    assert (folder(archive, story.url) / "article.md").exists()


# -- moves -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("new_path", ["/news/2026/11/finance-minister-resigns-after-audit", "/minister-quits"])
def test_redirect_to_the_same_article_on_a_new_url_is_moved(site, archive, new_path):
    story = Story(site)
    archive.add([story.url])
    original = (folder(archive, story.url) / "article.md").read_text()
    new_url = site.url(new_path)

    Story(site, new_path)
    site.redirect(PATH, new_path, 301)
    summary = recheck(archive)

    assert outcome(summary, story.url) == ("changed", "moved", f"moved to {new_url}")
    assert (folder(archive, story.url) / "article.md").read_text() == original  # text kept, nothing deleted
    moved = meta(archive, story.url)
    assert (moved["url"], moved["final_url"], moved["status"]) == (story.url, new_url, 200)
    assert moved["redirects"] == [{"url": story.url, "status": 301}]
    assert f"moved: {story.url} (moved to {new_url})" in message(archive, summary.commit).splitlines()
    assert outcome(recheck(archive), story.url)[0] == "unchanged"
    assert git(archive.root, "log", "--diff-filter=D", "--format=%H", "--", rel(story.url)) == ""
    if new_path == "/minister-quits":
        return  # a short one-word path looks like a section front, yet the same article is no soft 404

    log = cli_json(archive, "log", story.url)
    assert [(v["kind"], v["final_url"]) for v in log] == [("new", story.url), ("moved", new_url)]
    assert cli_ok(archive, "log", story.url).splitlines()[1].endswith(f"\tmoved\t{log[1]['commit'][:10]}\t"
                                                                      f"moved to {new_url}")
    data = cli_json(archive, "diff", story.url)
    assert data["summary"] == "no change in the text" and data["body"] == [] and data["to"]["final_url"] == new_url
    assert cli_ok(archive, "show", story.url) == cli_ok(archive, "show", story.url, "--at", "1") == original

    # Later edits at the new address are ordinary edits.
    site.page(new_path, lambda: article(HEADLINE, [STORY[0].replace("millions", "four million euros"), *STORY[1:]]))
    assert outcome(recheck(archive), story.url) == ("changed", "edited", "1 sentence changed")


def canonical_page(href: str) -> str:
    return article(HEADLINE, STORY).replace("</head>", f'<link rel="canonical" href="{href}"></head>')


def test_a_new_canonical_url_for_the_same_article_is_moved(site, archive):
    url, new_url = site.url(PATH), site.url("/news/2026/11/finance-minister-resigns-after-audit")
    site.page(PATH, lambda: canonical_page(url))
    archive.add([url])
    assert meta(archive, url)["canonical_url"] == url

    site.page(PATH, lambda: canonical_page(new_url))
    summary = recheck(archive)

    assert outcome(summary, url) == ("changed", "moved", f"moved to {new_url}")
    assert meta(archive, url)["canonical_url"] == new_url and meta(archive, url)["final_url"] == url
    assert (folder(archive, url) / "article.md").exists()


def test_a_new_relative_canonical_url_is_moved(site, archive):
    url = site.url(PATH)
    site.page(PATH, lambda: canonical_page(PATH))
    archive.add([url])

    site.page(PATH, lambda: canonical_page("/news/2026/11/finance-minister-resigns-after-audit"))
    summary = recheck(archive)

    assert outcome(summary, url)[:2] == ("changed", "moved")
    assert meta(archive, url)["canonical_url"] == site.url("/news/2026/11/finance-minister-resigns-after-audit")


# -- sources -----------------------------------------------------------------------------------------------


def test_a_cited_source_has_kinds_and_history_of_its_own(site, archive):
    source = site.url("/reports/audit")
    report = ["The audit covered every payment the ministry made between January and June.",
              "It found twelve payments approved without the required signatures.",
              "The auditors recommend new controls on approvals and a review of past contracts."]
    site.page("/reports/audit", lambda: article("The audit report", report))
    story = Story(site)
    story.links = [(source, "the audit report")]
    archive.add([story.url])
    assert meta(archive, source)["role"] == "source" and meta(archive, source)["kind"] == "new"

    report[1] = "It found fourteen payments approved without the required signatures."
    summary = recheck(archive)
    assert outcome(summary, source) == ("changed", "edited", "1 sentence changed")
    assert outcome(summary, story.url)[0] == "unchanged"
    assert f"edited source: {source} (1 sentence changed)" in message(archive, summary.commit).splitlines()

    other = Story(site, "/news/2026/11/audit-reaction")  # a second article cites it: who cites is no version
    other.title, other.links = "Reactions to the audit", [(source, "the audit")]
    archive.add([other.url])
    assert meta(archive, source)["cited_by"] == sorted([story.url, other.url])
    assert meta(archive, source)["version"] == 2

    site.routes["/reports/audit"] = Response(status=404, body=NOT_FOUND_PAGE)
    summary = recheck(archive)
    assert outcome(summary, source) == ("gone", "gone", "HTTP 404")
    assert outcome(summary, story.url)[0] == "unchanged"
    gone = meta(archive, source)
    assert (gone["role"], gone["kind"], gone["status"]) == ("source", "gone", 404)
    assert gone["cited_by"] == sorted([story.url, other.url])
    assert not (folder(archive, source) / "article.md").exists()
    assert (folder(archive, story.url) / "article.md").exists()
    assert f"gone source: {source} (HTTP 404)" in message(archive, summary.commit).splitlines()

    log = cli_json(archive, "log", source)
    assert [(v["kind"], v["summary"]) for v in log] == [
        ("new", "The audit report"), ("edited", "1 sentence changed"), ("gone", "HTTP 404")]
    meta_commits = git(archive.root, "log", "--format=%H", "--", rel(source, "meta.json")).split()
    assert len(meta_commits) == 4 and [v["commit"] for v in log] == [meta_commits[3], meta_commits[2],
                                                                     meta_commits[0]]
    change = cli_json(archive, "diff", source, "1", "2")
    assert change["body"][0]["words"] == [["=", "It found"], ["-", "twelve"], ["+", "fourteen"],
                                          ["=", "payments approved without the required signatures."]]
    assert "It found twelve payments" in cli_ok(archive, "show", source, "--at", "1")
    assert "gone: HTTP 404" in cli(archive, "show", source).stderr
    listed = {p["url"]: p for p in cli_json(archive, "list", "--sources")}
    assert (listed[source]["role"], listed[source]["status"], listed[source]["kind"]) == ("source", "404", "gone")
    assert kinds(cli_json(archive, "log", story.url)) == ["new"]


def test_a_source_that_appears_after_a_404_is_new_not_restored(site, archive):
    source = site.url("/reports/audit")
    site.routes["/reports/audit"] = Response(status=404, body=NOT_FOUND_PAGE)
    story = Story(site)
    story.links = [(source, "the audit report")]
    archive.add([story.url])
    assert meta(archive, source)["kind"] == "gone"

    site.page("/reports/audit", lambda: article("The audit report", [
        "The audit covered every payment the ministry made between January and June.",
        "It found twelve payments approved without the required signatures."]))
    summary = recheck(archive)

    assert outcome(summary, source)[1] == "new"


# -- raw bytes ---------------------------------------------------------------------------------------------


def test_show_raw_writes_the_bytes_served_for_that_version(site, archive):
    first = article(HEADLINE, STORY, noise=False).replace("\n", "\r\n").replace("Jane Doe", "Zoë Müller")
    second = first.replace("on Tuesday", "on Monday").replace("millions", "millions of euros (€)")
    first_bytes, second_bytes = first.encode("utf-8"), second.encode("utf-8")
    site.routes[PATH] = Response(body=first_bytes)
    url = site.url(PATH)
    archive.add([url])
    site.routes[PATH] = Response(body=second_bytes, encoding="gzip")  # compressed on the wire
    recheck(archive)
    site.routes[PATH] = Response(status=404, body=NOT_FOUND_PAGE)
    recheck(archive)
    site.routes[PATH] = Response(body=first_bytes)  # the very same bytes as the first version
    recheck(archive)
    assert [v.kind for v in archive.history(url).versions()] == ["new", "edited", "gone", "restored"]

    def raw(*args: str) -> bytes:
        result = cli_bytes(archive, "show", url, "--raw", *args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert raw("--at", "1") == first_bytes
    assert raw("--at", "2") == second_bytes
    assert raw("--at", "3") == NOT_FOUND_PAGE  # the 404 answer is the evidence of that version
    assert raw() == first_bytes


# -- time specs (bugs) -------------------------------------------------------------------------------------


def two_versions(site, archive) -> tuple[Story, list[dict]]:
    story = Story(site)
    archive.add([story.url])
    story.paragraphs[0] = STORY[0].replace("on Tuesday", "on Monday")
    recheck(archive)
    return story, cli_json(archive, "log", story.url)


def test_show_at_the_minute_printed_by_log_selects_that_version(site, archive):
    story, log = two_versions(site, archive)
    shown_time = cli_ok(archive, "log", story.url).splitlines()[1].split("\t")[1]  # "2026-11-24 13:45"

    result = cli(archive, "show", story.url, "--at", shown_time.replace(" ", "T"))

    assert result.returncode == 0, result.stderr
    assert result.stdout == text_at(archive, log[1]["commit"], story.url)


def test_show_at_the_commit_date_git_shows_selects_that_version(site, archive):
    story, log = two_versions(site, archive)
    committed = git(archive.root, "log", "-1", "--format=%cI", log[1]["commit"]).strip()  # 2026-11-24T13:45:27+00:00

    result = cli(archive, "show", story.url, "--at", committed)

    assert result.returncode == 0, result.stderr
    assert result.stdout == text_at(archive, log[1]["commit"], story.url)


def test_200_page_titled_page_not_found_is_a_soft_404(site, archive):
    story = Story(site)
    archive.add([story.url])

    site.page(PATH, "<html><head><title>Page not found | The Daily Loopback</title></head><body>"
                    "<h1>Sorry, we can't find that</h1><p>Try searching our archive for the story.</p></body></html>")
    summary = recheck(archive)

    assert outcome(summary, story.url)[:2] == ("gone", "soft-404")
