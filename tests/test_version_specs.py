"""Choosing versions for `diff` and `show --at`: by number (negative from the latest), commit, date,
time or the minute `log` prints; a version that does not exist or a URL never archived is a one-line
usage error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from support import userview
from support.archives import allow_loopback_sources
from support.commands import git
from support.history import cli, cli_json, text_at, two_versions, usage_error
from support.newssite import Site

from archiver import Archive


def here(archive: Archive, *args: str) -> subprocess.CompletedProcess[str]:
    """`archiver ARGS --archive ROOT` in this process: what `cli` answers, without a new
    interpreter."""
    return userview.run(archive.root, *args)


def here_json(archive: Archive, *args: str):
    end = args.index("--") if "--" in args else len(args)
    result = here(archive, *args[:end], "--json", *args[end:])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[dict]]:
    """An article archived twice (`two_versions`), made once: its archive, URL and `log --json`."""
    site = Site().start()
    root = tmp_path_factory.mktemp("two") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    story, log = two_versions(site, Archive.open(root))
    site.stop()
    return root, story.url, log


@pytest.fixture
def copied(two, tmp_path: Path) -> tuple[Archive, str, list[dict]]:
    """The two versions, in a copy of their archive for this test."""
    template, url, log = two
    root = tmp_path / "archive"
    shutil.copytree(template, root, symlinks=True)
    return Archive.open(root), url, log


def test_diff_from_and_to_by_number_commit_date_and_time(edited):
    archive = edited.archive
    url = edited.url
    log = here_json(archive, "log", url)
    at = [datetime.fromisoformat(v["captured_at"]) for v in log]

    def pair(*specs: str, read=here_json) -> tuple[int, int]:
        data = read(archive, "diff", url, "--", *specs)  # "--": "-3" is a version, not an option
        return data["from"]["version"], data["to"]["version"]

    assert pair("2", "4") == (2, 4)
    assert pair("-3", "-2", read=cli_json) == (3, 4)  # the real command, once
    assert pair("2") == (2, 5)  # FROM alone: up to the latest
    assert pair(log[1]["commit"][:7], log[2]["commit"]) == (2, 3)  # a commit prefix, a full commit
    assert pair(log[1]["commit"][:12].upper(), "-1") == (2, 5)
    # Exact capture times (as `log --json` gives them) and a moment between two versions.
    assert pair(log[0]["captured_at"], log[1]["captured_at"]) == (1, 2)
    between = (at[1] + (at[2] - at[1]) / 2).replace(tzinfo=None).isoformat()  # naive: UTC
    assert pair("1", between) == (1, 2)
    assert pair("1", at[2].astimezone(timezone(timedelta(hours=2))).isoformat()) == (
        1,
        3,
    )  # any UTC offset
    # A day means the version in force at its end; a minute after the last capture is the latest.
    later = (at[4] + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    assert pair("1", at[4].strftime("%Y-%m-%d")) == (1, 5)
    assert pair("1", later.replace("T", " ")) == (1, 5)


def test_bad_version_specs_and_unknown_urls_are_usage_errors(edited):
    site, archive = edited.site, edited.archive
    url = edited.url
    first = here_json(archive, "log", url)[0]["captured_at"]
    before_first = (datetime.fromisoformat(first) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")

    # The real command for one error of each command, the others in this process.
    usage_error(cli(archive, "diff", url, "0"), "no version 0", "there are 5")
    usage_error(here(archive, "diff", url, "1", "6"), "no version 6")
    usage_error(cli(archive, "show", url, "--at", "-6"), "no version -6")
    usage_error(here(archive, "diff", url, "deadbeefdeadbeef"), "deadbeefdeadbeef")
    usage_error(here(archive, "diff", url, "yesterday"), "yesterday")
    usage_error(here(archive, "show", url, "--at", "2026-13-45"), "2026-13-45")
    usage_error(here(archive, "show", url, "--at", before_first), "no version at or before")
    usage_error(cli(archive, "log", site.url("/news/never-archived")), "/news/never-archived")
    usage_error(here(archive, "diff", "not a url"))


def test_negative_version_numbers_work_as_from_and_to(copied):
    archive, url, log = copied

    result = cli(archive, "diff", url, "-2", "-1", "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["from"]["commit"], data["to"]["commit"]) == (log[0]["commit"], log[1]["commit"])


def test_show_at_the_minute_printed_by_log_selects_that_version(copied):
    archive, url, log = copied
    printed = here(archive, "log", url)
    assert printed.returncode == 0, printed.stderr
    shown_time = printed.stdout.splitlines()[1].split("\t")[1]  # "2026-11-24 13:45"

    result = cli(archive, "show", url, "--at", shown_time.replace(" ", "T"))

    assert result.returncode == 0, result.stderr
    assert result.stdout == text_at(archive, log[1]["commit"], url)


def test_show_at_the_commit_date_git_shows_selects_that_version(copied):
    archive, url, log = copied
    committed = git(
        archive.root, "log", "-1", "--format=%cI", log[1]["commit"]
    ).strip()  # 2026-11-24T13:45:27+00:00

    result = cli(archive, "show", url, "--at", committed)

    assert result.returncode == 0, result.stderr
    assert result.stdout == text_at(archive, log[1]["commit"], url)
