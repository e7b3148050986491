"""Choosing versions for `diff` and `show --at`: by number (negative from the latest), commit, date,
time or the minute `log` prints; a version that does not exist or a URL never archived is a one-line
usage error.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from support.commands import git
from support.history import cli, cli_json, cli_ok, text_at, two_versions, usage_error


def test_diff_from_and_to_by_number_commit_date_and_time(edited):
    archive = edited.archive
    url = edited.url
    log = cli_json(archive, "log", url)
    at = [datetime.fromisoformat(v["captured_at"]) for v in log]

    def pair(*specs: str) -> tuple[int, int]:
        data = cli_json(
            archive, "diff", url, "--", *specs
        )  # "--": "-3" is a version, not an option
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


def test_show_at_the_minute_printed_by_log_selects_that_version(site, archive):
    story, log = two_versions(site, archive)
    shown_time = (
        cli_ok(archive, "log", story.url).splitlines()[1].split("\t")[1]
    )  # "2026-11-24 13:45"

    result = cli(archive, "show", story.url, "--at", shown_time.replace(" ", "T"))

    assert result.returncode == 0, result.stderr
    assert result.stdout == text_at(archive, log[1]["commit"], story.url)


def test_show_at_the_commit_date_git_shows_selects_that_version(site, archive):
    story, log = two_versions(site, archive)
    committed = git(
        archive.root, "log", "-1", "--format=%cI", log[1]["commit"]
    ).strip()  # 2026-11-24T13:45:27+00:00

    result = cli(archive, "show", story.url, "--at", committed)

    assert result.returncode == 0, result.stderr
    assert result.stdout == text_at(archive, log[1]["commit"], story.url)
