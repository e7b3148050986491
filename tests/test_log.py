"""`archiver log` of an article edited four times: the kind and summary of every version, oldest or
newest first, and plain git (`git log`, `git log -p`) telling the same story.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from support.archives import meta
from support.commands import git
from support.history import BYLINE, HEADLINE, STORY, cli_json, cli_ok, message, minute, rel


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
    latest = meta(archive.root, url)
    assert (latest["version"], latest["kind"], latest["summary"]) == (
        5,
        "edited",
        "byline changed, 1 sentence added",
    )
    assert latest["changes"] == {
        "sentences_added": 1,
        "sentences_removed": 0,
        "sentences_changed": 0,
        "citations_added": 0,
        "citations_removed": 0,
    }
    assert (
        latest["byline"] == "Omar Ali" and latest["title"] == "Finance minister resigns after audit"
    )
    # Every version's commit message names its kind and what changed.
    for v in log[1:]:
        assert f"edited: {url} ({v['summary']})" in message(archive, v["commit"]).splitlines()
    assert f"new: {url}" in message(archive, log[0]["commit"]).splitlines()


def test_log_lists_versions_oldest_first_or_newest_first_and_agrees_with_git(edited):
    archive = edited.archive
    url = edited.url
    log = cli_json(archive, "log", url)
    lines = cli_ok(archive, "log", url).splitlines()

    # Every edit changed the headline or a sentence, and none was announced: each says so last.
    assert [v.get("announced") for v in log] == [None, False, False, False, False]
    assert lines == [
        f"v{v['version']}\t{minute(v['captured_at'])}\t{v['kind']}\t{v['commit'][:10]}\t{v['summary']}"
        + ("\tunannounced" if v["kind"] == "edited" else "")
        for v in log
    ]
    assert cli_ok(archive, "log", url, "--reverse").splitlines() == lines[::-1]
    assert [v["version"] for v in cli_json(archive, "log", url, "--reverse")] == [5, 4, 3, 2, 1]
    # A URL written differently (case, tracking parameters) is the same page.
    messy = url.replace("http://", "HTTP://") + "?utm_source=newsletter"
    assert cli_json(archive, "log", messy) == log

    # Plain git tells the same story: every version changed article.md, in the same commits.
    article_md = rel(url, "article.md")
    assert git(archive.root, "log", "--reverse", "--format=%H", "--", article_md).split() == [
        v["commit"] for v in log
    ]
    assert git(archive.root, "log", "--follow", "--format=%H", "--", article_md).split() == [
        v["commit"] for v in log[::-1]
    ]
    for v in log:  # a commit is dated at the last capture it holds (rounded up to whole seconds)
        committed = datetime.fromisoformat(
            git(archive.root, "show", "-s", "--format=%cI", v["commit"]).strip()
        )
        captured = datetime.fromisoformat(v["captured_at"])
        assert timedelta(0) <= committed - captured < timedelta(seconds=30)


def test_git_log_p_reads_as_the_revision_history(edited):
    archive = edited.archive
    log = cli_json(archive, "log", edited.url)
    article_md = rel(edited.url, "article.md")

    patch = git(archive.root, "show", "--format=", log[1]["commit"], "--", article_md)
    assert (
        f"-{STORY[0]}\n" in patch and f"+{STORY[0].replace('on Tuesday', 'on Monday')}\n" in patch
    )
    changed = [
        line for line in patch.splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++")
    ]
    assert len(changed) == 2  # one line changed, nothing else

    history = git(archive.root, "log", "-p", "--format=%s", "--", article_md)
    assert f"-# {HEADLINE}\n+# Finance minister resigns after audit\n" in history
    assert "-As reported in a payments table, the matter is disputed.\n" in history
    assert f"-{BYLINE}\n+By Omar Ali · Published 2026-11-20\n" in history
    links_patch = git(
        archive.root, "show", "--format=", log[3]["commit"], "--", rel(edited.url, "links.txt")
    )
    assert "-http://" in links_patch and "/data/payments\ta payments table" in links_patch
