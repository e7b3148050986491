"""A cited source has versions of its own: gone and listed apart from the article citing it, and new
(not restored) when it first appears after a 404.
"""

from __future__ import annotations

from support.archives import folder, meta
from support.commands import git
from support.history import (
    NOT_FOUND_PAGE,
    Story,
    cli,
    cli_json,
    cli_ok,
    kinds,
    message,
    outcome,
    recheck,
    rel,
)
from support.newssite import Response, article


def test_a_cited_source_has_kinds_and_history_of_its_own(site, archive):
    source = site.url("/reports/audit")
    report = [
        "The audit covered every payment the ministry made between January and June.",
        "It found twelve payments approved without the required signatures.",
        "The auditors recommend new controls on approvals and a review of past contracts.",
    ]
    site.page("/reports/audit", lambda: article("The audit report", report))
    story = Story(site)
    story.links = [(source, "the audit report")]
    archive.add([story.url])
    assert (
        meta(archive.root, source)["role"] == "source"
        and meta(archive.root, source)["kind"] == "new"
    )

    report[1] = "It found fourteen payments approved without the required signatures."
    summary = recheck(archive)
    assert outcome(summary, source) == ("changed", "edited", "1 sentence changed")
    assert outcome(summary, story.url)[0] == "unchanged"
    assert (
        f"edited source: {source} (1 sentence changed)"
        in message(archive, summary.commit).splitlines()
    )

    other = Story(
        site, "/news/2026/11/audit-reaction"
    )  # a second article cites it: who cites is no version
    other.title, other.links = "Reactions to the audit", [(source, "the audit")]
    archive.add([other.url])
    assert meta(archive.root, source)["cited_by"] == sorted([story.url, other.url])
    assert meta(archive.root, source)["version"] == 2

    site.routes["/reports/audit"] = Response(status=404, body=NOT_FOUND_PAGE)
    summary = recheck(archive)
    assert outcome(summary, source) == ("gone", "gone", "HTTP 404")
    assert outcome(summary, story.url)[0] == "unchanged"
    gone = meta(archive.root, source)
    assert (gone["role"], gone["kind"], gone["status"]) == ("source", "gone", 404)
    assert gone["cited_by"] == sorted([story.url, other.url])
    assert not (folder(archive.root, source) / "article.md").exists()
    assert (folder(archive.root, story.url) / "article.md").exists()
    assert f"gone source: {source} (HTTP 404)" in message(archive, summary.commit).splitlines()

    log = cli_json(archive, "log", source)
    assert [(v["kind"], v["summary"]) for v in log] == [
        ("new", "The audit report"),
        ("edited", "1 sentence changed"),
        ("gone", "HTTP 404"),
    ]
    meta_commits = git(archive.root, "log", "--format=%H", "--", rel(source, "meta.json")).split()
    assert len(meta_commits) == 4 and [v["commit"] for v in log] == [
        meta_commits[3],
        meta_commits[2],
        meta_commits[0],
    ]
    change = cli_json(archive, "diff", source, "1", "2")
    assert change["body"][0]["words"] == [
        ["=", "It found"],
        ["-", "twelve"],
        ["+", "fourteen"],
        ["=", "payments approved without the required signatures."],
    ]
    assert "It found twelve payments" in cli_ok(archive, "show", source, "--at", "1")
    assert "gone: HTTP 404" in cli(archive, "show", source).stderr
    listed = {p["url"]: p for p in cli_json(archive, "list", "--sources")}
    assert (listed[source]["role"], listed[source]["status"], listed[source]["kind"]) == (
        "source",
        "404",
        "gone",
    )
    assert kinds(cli_json(archive, "log", story.url)) == ["new"]


def test_a_source_that_appears_after_a_404_is_new_not_restored(site, archive):
    source = site.url("/reports/audit")
    site.routes["/reports/audit"] = Response(status=404, body=NOT_FOUND_PAGE)
    story = Story(site)
    story.links = [(source, "the audit report")]
    archive.add([story.url])
    assert meta(archive.root, source)["kind"] == "gone"

    site.page(
        "/reports/audit",
        lambda: article(
            "The audit report",
            [
                "The audit covered every payment the ministry made between January and June.",
                "It found twelve payments approved without the required signatures.",
            ],
        ),
    )
    summary = recheck(archive)

    assert outcome(summary, source)[1] == "new"
