"""Runs from cron: one line or nothing on stdout and exit codes that tell the rest; `archiver
schedule` prints and installs a crontab line that cron runs as written (percent signs escaped, odd
archive paths refused).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from support.commands import git, run_cli
from support.newssite import Response, article
from support.schedule import EDIT, EXE, STORY, new_archive, serve_story

from archiver import Archive
from archiver.errors import ExitCode
from archiver.storage.lock import ArchiveLock


def test_cron_runs_print_one_line_or_nothing_and_exit_codes_tell_the_rest(tmp_path, site):
    paragraphs = list(STORY)
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", paragraphs))
    url = site.url("/news/harbour")
    root = new_archive(tmp_path)

    added = run_cli("add", url, "-a", str(root))
    assert (added.returncode, added.stderr, len(added.stdout.splitlines())) == (0, "", 1)
    plain = run_cli("snapshot", "--all", "-a", str(root))
    assert (plain.returncode, plain.stderr) == (0, "") and len(plain.stdout.splitlines()) == 1

    for args in (["snapshot"], ["snapshot", "--all"]):  # nothing due; nothing changed
        quiet = run_cli("-q", *args, "-a", str(root))
        assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", ""), args

    paragraphs.append(EDIT)
    changed = run_cli("-q", "snapshot", "--all", "-a", str(root))
    assert (changed.returncode, changed.stderr) == (0, "")
    assert changed.stdout.splitlines() == [
        f"1 checked: 0 new, 1 changed, 0 unchanged, 0 failed; commit {git(root, 'rev-parse', 'HEAD')[:10]}"
    ]

    site.routes["/news/harbour"] = Response(status=500, body=b"oops")
    failed = run_cli("-q", "snapshot", "--all", "-a", str(root))
    assert failed.returncode == ExitCode.SOME_FAILED
    assert failed.stdout.splitlines() == [
        "1 checked: 0 new, 0 changed, 0 unchanged, 1 failed; no commit"
    ]

    with ArchiveLock(root / ".archiver" / "lock"):
        locked = run_cli("-q", "snapshot", "-a", str(root))
    assert (locked.returncode, locked.stdout, locked.stderr.count("\n")) == (ExitCode.LOCKED, "", 1)


def test_schedule_prints_a_crontab_line_that_works_from_cron(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    (tmp_path / "my news").mkdir()
    root = tmp_path / "my news" / "arc"
    Archive.init(root)
    result = run_cli("schedule", "--every", "15m", "-a", "my news/arc", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    [line] = result.stdout.splitlines()
    assert line.startswith("*/15 * * * * ")
    assert str(EXE) in line and str(root.resolve()) in line

    # From PATH, as a user types it: still the absolute path of the executable.
    env = {"PATH": f"{EXE.parent}{os.pathsep}{os.environ['PATH']}"}
    by_name = subprocess.run(
        ["archiver", "schedule", "--every", "2h", "-a", str(root)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )
    assert by_name.stdout.startswith("0 */2 * * * ") and str(EXE) in by_name.stdout
    assert run_cli("schedule", "--every", "1d", "-a", str(root)).stdout.startswith("0 0 * * * ")

    # What cron does: sh -c with the command part, from $HOME, with a minimal PATH.
    (root / "urls.txt").write_text(url + "\n")
    command = line.split(" ", 5)[5]
    cron = subprocess.run(
        ["sh", "-c", command],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh"},
    )
    assert cron.returncode == 0 and cron.stderr == "", cron.stderr
    assert cron.stdout.splitlines() == [
        f"1 checked: 1 new, 0 changed, 0 unchanged, 0 failed; commit {git(root, 'rev-parse', 'HEAD')[:10]}"
    ]


@pytest.mark.parametrize("every", ["15x", "0m", "60m", "often"])
def test_schedule_rejects_a_bad_every(tmp_path, every):
    root = tmp_path / "arc"
    Archive.init(root)
    result = run_cli("schedule", "--every", every, "-a", str(root))
    assert result.returncode == ExitCode.USAGE and result.stdout == ""
    assert result.stderr.startswith("archiver: error: ") and result.stderr.count("\n") == 1
    assert "--every" in result.stderr


def as_cron_reads(line: str) -> tuple[str, str]:
    """What cron makes of a crontab line (crontab(5)): the command it gives to sh -c, and the text
    it sends to the command's standard input. The five time fields come first; in the rest, `\\%` is
    a literal `%` and the first unescaped `%` ends the command (what follows is its input, further
    `%` becoming newlines)."""
    command = line.split(None, 5)[5]
    out, i = [], 0
    while i < len(command):
        if command.startswith("\\%", i):
            out.append("%")
            i += 2
        elif command[i] == "%":
            return "".join(out), command[i + 1 :].replace("%", "\n")
        else:
            out.append(command[i])
            i += 1
    return "".join(out), ""


def test_schedule_escapes_percent_signs_so_cron_runs_the_whole_command(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    (tmp_path / "100% news").mkdir()
    root = tmp_path / "100% news" / "arc%d"
    Archive.init(root)
    (root / "urls.txt").write_text(url + "\n")
    result = run_cli("schedule", "--every", "15m", "-a", str(root))
    assert result.returncode == 0 and result.stderr == ""
    [line] = result.stdout.splitlines()
    command, stdin = as_cron_reads(line)
    assert stdin == ""  # cron cuts nothing off
    assert command.endswith(f"# archiver snapshot of {root.resolve()}")  # the marker whole
    cron = subprocess.run(
        ["sh", "-c", command],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh"},
    )
    assert cron.returncode == 0 and cron.stderr == "", cron.stderr
    assert cron.stdout.splitlines() == [
        f"1 checked: 1 new, 0 changed, 0 unchanged, 0 failed; commit {git(root, 'rev-parse', 'HEAD')[:10]}"
    ]


@pytest.mark.parametrize(
    "name",
    ["news\narc", "news\rarc", "tab\tarc", "esc\x1barc", "del\x7farc", "c1\x85arc", "back\\slash"],
)
def test_schedule_refuses_an_archive_path_that_cron_would_misread(tmp_path, name):
    root = tmp_path / name
    Archive.init(root)
    for args in (["schedule"], ["schedule", "--install"]):
        result = run_cli(
            *args, "-a", str(root), env={"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
        )
        assert result.returncode == ExitCode.USAGE and result.stdout == ""
        assert result.stderr.startswith("archiver: error: ") and result.stderr.count("\n") == 1, (
            result.stderr
        )
        assert "crontab" in result.stderr or "cron" in result.stderr


FAKE_CRONTAB = """#!/bin/sh
table="$(dirname "$0")/table"
case "$1" in
  -l) if [ -f "$table" ]; then cat "$table"; else echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$table" ;;
  *) echo "usage: crontab [-l | -]" >&2; exit 1 ;;
esac
"""


def test_schedule_install_adds_the_line_once_and_replaces_it(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "crontab").write_text(FAKE_CRONTAB)
    (bin_dir / "crontab").chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    table = bin_dir / "table"
    first, second = tmp_path / "arc", tmp_path / "other" / "arc"
    for root in (first, second):
        Archive.init(root)

    installed = run_cli("schedule", "--every", "15m", "--install", "-a", str(first), env=env)
    assert installed.returncode == 0, installed.stderr
    [message] = installed.stdout.splitlines()
    [line] = table.read_text().splitlines()
    assert line.startswith("*/15 * * * * ") and str(first.resolve()) in line and line in message

    table.write_text("MAILTO=me@example.com\n0 3 * * * /usr/local/bin/backup\n" + table.read_text())
    assert (
        run_cli("schedule", "--every", "30m", "--install", "-a", str(first), env=env).returncode
        == 0
    )
    assert (
        run_cli("schedule", "--every", "1h", "--install", "-a", str(second), env=env).returncode
        == 0
    )
    lines = table.read_text().splitlines()
    assert lines[:2] == ["MAILTO=me@example.com", "0 3 * * * /usr/local/bin/backup"]
    mine = [x for x in lines if x.endswith(f" {first.resolve()}")]
    assert len(mine) == 1 and mine[0].startswith("*/30 * * * * ")
    assert len([x for x in lines if str(second.resolve()) in x]) == 1 and len(lines) == 4

    # An archive whose path has a percent sign is replaced too, not added again.
    third = tmp_path / "50%" / "arc"
    Archive.init(third)
    for every in ("15m", "2h"):
        assert (
            run_cli("schedule", "--every", every, "--install", "-a", str(third), env=env).returncode
            == 0
        )
    lines = table.read_text().splitlines()
    [line] = [x for x in lines if "/50" in x]  # the folder "50%" (pytest's own may hold "-50")
    assert line.startswith("0 */2 * * * ") and as_cron_reads(line)[1] == "" and len(lines) == 5


def test_schedule_install_without_crontab_is_a_usage_error(tmp_path):
    root = tmp_path / "arc"
    Archive.init(root)
    only_git = tmp_path / "bin"  # a PATH with git (which archiver needs) but no crontab
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git"))
    result = run_cli("schedule", "--install", "-a", str(root), env={"PATH": str(only_git)})
    assert result.returncode == ExitCode.USAGE and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "crontab" in result.stderr
