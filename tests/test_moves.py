"""Articles that move: a redirect to the same article on a new URL, or a new (absolute or relative)
canonical URL, is a `moved` version that keeps the text; later edits at the new address are ordinary
edits.
"""

from __future__ import annotations

import pytest
from support.archives import folder, meta
from support.commands import git
from support.history import (
    HEADLINE,
    PATH,
    STORY,
    Story,
    cli_json,
    cli_ok,
    message,
    outcome,
    recheck,
    rel,
)
from support.newssite import article


@pytest.mark.parametrize(
    "new_path", ["/news/2026/11/finance-minister-resigns-after-audit", "/minister-quits"]
)
def test_redirect_to_the_same_article_on_a_new_url_is_moved(site, archive, new_path):
    story = Story(site)
    archive.add([story.url])
    original = (folder(archive.root, story.url) / "article.md").read_text()
    new_url = site.url(new_path)

    Story(site, new_path)
    site.redirect(PATH, new_path, 301)
    summary = recheck(archive)

    assert outcome(summary, story.url) == ("changed", "moved", f"moved to {new_url}")
    assert (
        folder(archive.root, story.url) / "article.md"
    ).read_text() == original  # text kept, nothing deleted
    moved = meta(archive.root, story.url)
    assert (moved["url"], moved["final_url"], moved["status"]) == (story.url, new_url, 200)
    assert moved["redirects"] == [{"url": story.url, "status": 301}]
    assert (
        f"moved: {story.url} (moved to {new_url})" in message(archive, summary.commit).splitlines()
    )
    assert outcome(recheck(archive), story.url)[0] == "unchanged"
    assert git(archive.root, "log", "--diff-filter=D", "--format=%H", "--", rel(story.url)) == ""
    if new_path == "/minister-quits":
        # a short one-word path looks like a section front, yet the same article is no soft 404
        return

    log = cli_json(archive, "log", story.url)
    assert [(v["kind"], v["final_url"]) for v in log] == [("new", story.url), ("moved", new_url)]
    assert (
        cli_ok(archive, "log", story.url)
        .splitlines()[1]
        .endswith(f"\tmoved\t{log[1]['commit'][:10]}\tmoved to {new_url}")
    )
    data = cli_json(archive, "diff", story.url)
    assert (
        data["summary"] == "no change in the text"
        and data["body"] == []
        and data["to"]["final_url"] == new_url
    )
    assert (
        cli_ok(archive, "show", story.url)
        == cli_ok(archive, "show", story.url, "--at", "1")
        == original
    )

    # Later edits at the new address are ordinary edits.
    site.page(
        new_path,
        lambda: article(HEADLINE, [STORY[0].replace("millions", "four million euros"), *STORY[1:]]),
    )
    assert outcome(recheck(archive), story.url) == ("changed", "edited", "1 sentence changed")


def canonical_page(href: str) -> str:
    return article(HEADLINE, STORY).replace(
        "</head>", f'<link rel="canonical" href="{href}"></head>'
    )


def test_a_new_canonical_url_for_the_same_article_is_moved(site, archive):
    url, new_url = site.url(PATH), site.url("/news/2026/11/finance-minister-resigns-after-audit")
    site.page(PATH, lambda: canonical_page(url))
    archive.add([url])
    assert meta(archive.root, url)["canonical_url"] == url

    site.page(PATH, lambda: canonical_page(new_url))
    summary = recheck(archive)

    assert outcome(summary, url) == ("changed", "moved", f"moved to {new_url}")
    assert (
        meta(archive.root, url)["canonical_url"] == new_url
        and meta(archive.root, url)["final_url"] == url
    )
    assert (folder(archive.root, url) / "article.md").exists()


def test_a_new_relative_canonical_url_is_moved(site, archive):
    url = site.url(PATH)
    site.page(PATH, lambda: canonical_page(PATH))
    archive.add([url])

    site.page(PATH, lambda: canonical_page("/news/2026/11/finance-minister-resigns-after-audit"))
    summary = recheck(archive)

    assert outcome(summary, url)[:2] == ("changed", "moved")
    assert meta(archive.root, url)["canonical_url"] == site.url(
        "/news/2026/11/finance-minister-resigns-after-audit"
    )
