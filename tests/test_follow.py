"""Following an outlet: `archiver follow` / `unfollow` / `list --follows` and the committed
follows.toml that people may edit by hand."""

from __future__ import annotations

import json
import tomllib

import pytest
from support.commands import git, run_cli
from support.userview import archiver

from archiver import Archive
from archiver.storage.follows import FOLLOWS

FEED = "https://news.example/feed.xml"
SITEMAP = "https://news.example/sitemap.xml"


def test_a_follow_is_committed_listed_and_removed(archive: Archive):
    root = archive.root
    followed = run_cli(
        "follow",
        FEED,
        "--kind",
        "feed",
        "--include",
        "/politics/",
        "--max-new",
        "5",
        "-a",
        str(root),
    )
    assert followed.returncode == 0, followed.stderr
    assert FEED in followed.stdout and followed.stderr == ""
    assert archiver(root, "follow", SITEMAP, "--since", "3").code == 0

    listed = archiver(root, "list", "--follows", "--json")
    never = {
        "last_poll": None,
        "outcome": None,
        "error": None,
        "brought": 0,
        "last_change": None,
        "next_poll": None,
    }
    assert json.loads(listed.stdout) == [
        {"url": FEED, "kind": "feed", "include": "/politics/", "max_new": 5, **never},
        {"url": SITEMAP, "since": 3, **never},
    ]
    assert tomllib.loads((root / FOLLOWS).read_text())["follow"][0]["url"] == FEED
    assert git(root, "log", "-1", "--format=%s") == f"archiver: follow {SITEMAP}\n"
    assert git(root, "status", "--porcelain", FOLLOWS) == ""

    removed = archiver(root, "unfollow", FEED)
    assert removed.code == 0 and "stay tracked" in removed.stdout
    assert [f.url for f in archive.follows()] == [SITEMAP]
    assert git(root, "log", "-1", "--format=%s") == f"archiver: unfollow {FEED}\n"
    assert git(root, "status", "--porcelain", FOLLOWS) == ""


def test_following_twice_changes_nothing_and_unfollowing_the_unknown_is_an_error(
    archive: Archive,
):
    root = archive.root
    assert archiver(root, "follow", FEED).code == 0
    commits = git(root, "rev-list", "HEAD")

    again = archiver(root, "follow", FEED + "#top", "--kind", "feed")  # the same URL, normalized
    unknown = archiver(root, "unfollow", SITEMAP)

    assert again.code == 0 and "already followed" in again.stderr
    assert unknown.code == 2
    assert unknown.stderr == (
        f"archiver: error: not followed: {SITEMAP} (see `archiver list --follows`)\n"
    )
    assert git(root, "rev-list", "HEAD") == commits


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--kind", "rss"], "kind must be one of feed, sitemap, page, not 'rss'"),
        (["--include", "("], "include is not a regular expression: missing ), unterminated"),
        (["--max-new", "0"], "max_new must be a whole number from 1 to 10000, not 0"),
        (["--since", "99999"], "since must be a whole number from 1 to 3650, not 99999"),
    ],
)
def test_a_bad_follow_is_one_line_and_exit_2_and_writes_nothing(archive: Archive, options, error):
    result = archiver(archive.root, "follow", FEED, *options)

    assert result.code == 2
    assert result.stderr.startswith(f"archiver: error: {error}") and result.stderr.count("\n") == 1
    assert not (archive.root / FOLLOWS).exists()


def test_a_hand_edited_file_keeps_its_comments_and_a_broken_one_is_named(archive: Archive):
    root = archive.root
    path = root / FOLLOWS
    path.write_text(
        "# Our outlets, reviewed every Monday.\n"
        "[[follow]]\n"
        f'url = "{FEED}"  # the politics desk\n'
        'include = "/politics/"\n'
    )
    assert archiver(root, "follow", SITEMAP).code == 0
    assert archiver(root, "unfollow", SITEMAP).code == 0
    text = path.read_text()
    assert "# Our outlets, reviewed every Monday." in text and "# the politics desk" in text
    assert [f.url for f in archive.follows()] == [FEED]

    path.write_text('[[follow]]\nurl = "ftp://news.example/feed"\n')
    broken = archiver(root, "list", "--follows")
    assert broken.code == 2
    assert broken.stderr.startswith(f"archiver: error: {path}: follow 1 (ftp://news.example/feed):")
    path.write_text('[[follow]]\nurl = "https://news.example/"\nevery = 3\n')
    unknown = archiver(root, "list", "--follows")
    assert unknown.code == 2 and "unknown key 'every'" in unknown.stderr
    assert path.read_text() == '[[follow]]\nurl = "https://news.example/"\nevery = 3\n'


def test_no_follows_says_how_to_add_one(archive: Archive):
    listed = archiver(archive.root, "list", "--follows")
    assert listed.code == 0
    assert listed.stdout == "no followed outlets (follow one with `archiver follow URL`)\n"
