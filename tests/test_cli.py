"""The `archiver` command as users and cron run it: output, files written, exit codes.

Each behaviour is checked on the real command, in a subprocess; the runs that only set an archive up
or read it back, and the further cases of the same parsing, run in-process (typer's CliRunner: the
same code, without the start-up of a new interpreter).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.archives import configure
from support.commands import git, run_cli
from support.newssite import Response, article
from support.userview import in_process, run

from archiver.errors import ExitCode
from archiver.run.results import PageResult, RunSummary
from archiver.storage.lock import ArchiveLock
from archiver.storage.state import Outcome

STORY = [
    "The council approved the new budget on Monday after a debate that lasted eleven hours.",
    "Critics said the plan cuts library funding by a third. Supporters called it responsible.",
    "The mayor is expected to sign the budget into law before the end of the month.",
]


def here(*args: str) -> subprocess.CompletedProcess[str]:
    """`archiver ARGS` in this process, exactly as given (no archive option added)."""
    return in_process(list(args))


@pytest.fixture
def story(site):
    site.page("/local/budget", lambda: article("Council approves budget", STORY))
    return site.url("/local/budget")


def test_every_command_has_help():
    # The real command prints the first; the others are the same parsing, in-process.
    for command, runs in (("init", run_cli), ("add", here), ("snapshot", here), ("list", here)):
        result = runs(command, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout and "--archive" in result.stdout


def test_init_creates_the_archive_and_refuses_to_overwrite(tmp_path):
    root = tmp_path / "arc"
    result = here("init", str(root))
    assert result.returncode == 0, result.stderr
    assert sorted(git(root, "ls-files").split()) == [".gitignore", "archiver.toml", "urls.txt"]
    toml = (root / "archiver.toml").read_text()
    assert "workers = 64" in toml and "user_agent" in toml and "# " in toml
    assert "/.archiver/" in (root / ".gitignore").read_text()

    again = run_cli("init", str(root))
    assert again.returncode == ExitCode.USAGE
    assert again.stderr.count("\n") == 1 and "already an archive" in again.stderr
    assert len(git(root, "rev-list", "HEAD").split()) == 1


def test_add_creates_archive_snapshots_and_prints_one_line(tmp_path, story):
    result = run_cli("add", story, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "1 checked: 1 new, 0 changed, 0 unchanged, 0 failed; "
        f"commit {git(tmp_path / 'archive', 'rev-parse', 'HEAD')[:10]}"
    ]
    assert story in (tmp_path / "archive" / "urls.txt").read_text()

    again = run(tmp_path / "archive", "add", story, "--json")
    data = json.loads(again.stdout)
    assert data["added"] == [] and data["counts"]["unchanged"] == 1
    assert (
        data["confirmed"] == 1
        and data["warc"] is None
        and data["checks"].startswith("warcs/checks/")
    )
    assert (tmp_path / "archive" / "urls.txt").read_text().count(story) == 1


def test_archiver_dir_environment_variable_and_quiet(tmp_path, story):
    env = {"ARCHIVER_DIR": str(tmp_path / "elsewhere")}
    assert run_cli("add", story, env=env, cwd=tmp_path).returncode == 0
    assert (tmp_path / "elsewhere" / "urls.txt").is_file()
    quiet = run_cli("-q", "snapshot", env=env, cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_snapshot_json_and_list_json(tmp_path, story, site):
    root = tmp_path / "arc"
    run(root, "add", story)
    site.page(
        "/local/budget",
        lambda: article("Council approves budget", [*STORY, "A late amendment passed."]),
    )
    result = run_cli("snapshot", "--all", "-a", str(root), "--json")
    data = json.loads(result.stdout)
    assert result.returncode == 0
    assert data["counts"] == {
        "new": 0,
        "changed": 1,
        "unchanged": 0,
        "gone": 0,
        "failed": 0,
        "skipped": 0,
        "deferred": 0,
    }
    assert data["commit"] == git(root, "rev-parse", "HEAD").strip()
    assert data["results"][0]["url"] == story and data["warc"].startswith("warcs/")

    listing = json.loads(run(root, "list", "--json").stdout)
    assert [(p["url"], p["status"], p["title"], p["versions"]) for p in listing] == [
        (story, "200", "Council approves budget", 2)
    ]
    text = run(root, "list")
    assert story in text.stdout and "Council approves budget" in text.stdout


def test_bad_url_is_rejected_and_nothing_is_written(tmp_path, story):
    root = tmp_path / "arc"
    here("init", str(root))
    for bad in ("ftp://example.com/file", "not a url", "http://", "javascript:alert(1)"):
        runs = run_cli if bad.startswith("ftp:") else here  # the real command refuses the first
        result = runs("add", story, bad, "-a", str(root))
        assert result.returncode == ExitCode.USAGE, bad
        assert result.stderr.startswith("archiver: error: ") and result.stderr.count("\n") == 1
    assert story not in (root / "urls.txt").read_text()
    assert len(git(root, "rev-list", "HEAD").split()) == 1
    assert not (root / "pages").exists()


def test_missing_archive_and_broken_config(tmp_path, story):
    missing = run_cli("snapshot", "-a", str(tmp_path / "nope"))
    assert missing.returncode == ExitCode.NO_ARCHIVE and "no archive at" in missing.stderr
    assert not (tmp_path / "nope").exists()
    assert run(tmp_path / "nope", "list").returncode == ExitCode.NO_ARCHIVE

    root = tmp_path / "arc"
    here("init", str(root))
    (root / "archiver.toml").write_text("[fetch\nworkers = 8\n")
    broken = run_cli("add", story, "-a", str(root))
    assert broken.returncode == ExitCode.USAGE and "not valid TOML" in broken.stderr
    (root / "archiver.toml").write_text("[fetch]\nworkers = 'many'\n")
    wrong = run(root, "snapshot")
    assert wrong.returncode == ExitCode.USAGE and "'fetch.workers' must be int" in wrong.stderr
    assert story not in (root / "urls.txt").read_text()


def test_snapshot_of_an_untracked_url_is_a_usage_error(tmp_path, story):
    root = tmp_path / "arc"
    here("init", str(root))
    result = run(root, "snapshot", story)
    assert result.returncode == ExitCode.USAGE and "not tracked" in result.stderr


def test_failed_url_exits_1_and_is_reported(tmp_path, story, site):
    root = tmp_path / "arc"
    run(root, "add", story)
    head = git(root, "rev-parse", "HEAD")
    site.routes["/local/budget"] = Response(status=500, body=b"oops")
    result = run(root, "-v", "snapshot", "--all")
    assert result.returncode == ExitCode.SOME_FAILED
    assert "0 unchanged, 1 failed; no commit" in result.stdout
    assert f"failed: {story}: HTTP 500" in result.stderr
    assert git(root, "rev-parse", "HEAD") == head


def test_a_run_while_the_lock_is_held_exits_75(tmp_path, story):
    root = tmp_path / "arc"
    run(root, "add", story)
    with ArchiveLock(root / ".archiver" / "lock"):
        result = run_cli("snapshot", "-a", str(root))
    assert result.returncode == ExitCode.LOCKED
    assert (
        result.stdout == "" and result.stderr.count("\n") == 1 and "holds the lock" in result.stderr
    )
    assert run(root, "snapshot").returncode == 0


def test_two_concurrent_runs_one_proceeds_one_is_refused(tmp_path, site):
    answer = threading.Event()  # the first run's page is answered only once the second run is over

    def slow(handler):
        answer.wait(600)
        return Response(body=article("Slow story", STORY).encode())

    site.routes["/slow"] = slow
    root = tmp_path / "arc"
    here("init", str(root))
    # The first run's fetch waits for the second run, however long a loaded machine makes it.
    configure(root, read_timeout=600.0, deadline=600.0)
    (root / "urls.txt").write_text(site.url("/slow") + "\n")
    exe = Path(sys.executable).with_name("archiver")
    first = subprocess.Popen(
        [str(exe), "snapshot", "-a", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300  # the first run holds the lock once its fetch has begun
    while site.hits["/slow"] == 0 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert site.hits["/slow"] == 1, first.communicate()
    second = run_cli("snapshot", "-a", str(root), timeout=600)
    answer.set()
    out, err = first.communicate(timeout=600)
    assert second.returncode == ExitCode.LOCKED, second.stderr
    assert first.returncode == 0, err
    assert "1 new" in out
    assert git(root, "fsck", "--strict") == ""
    assert site.hits["/slow"] == 1


def test_add_reads_urls_from_a_file(tmp_path, site):
    for i in range(3):
        site.page(f"/s/{i}", lambda i=i: article(f"Story {i} on the harbour plan", STORY))
    listing = tmp_path / "urls.list"
    listing.write_text("# my list\n" + "".join(site.url(f"/s/{i}") + "\n" for i in range(3)) + "\n")
    result = run(tmp_path / "arc", "add", "--file", str(listing))
    assert result.returncode == 0, result.stderr
    assert "3 new" in result.stdout


def test_a_failed_url_is_named_on_stderr_even_under_quiet(tmp_path, story, site):
    """Cron mails what `-q` prints: the failure's URL and reason, not only a count."""
    root = tmp_path / "arc"
    run(root, "add", story)
    site.routes["/local/budget"] = Response(status=500, body=b"oops")
    result = run_cli("-q", "snapshot", "--all", "-a", str(root))
    assert result.returncode == ExitCode.SOME_FAILED
    assert f"failed: {story}: HTTP 500" in result.stderr.splitlines()[0]


@pytest.mark.parametrize(
    "args",
    [
        ("-a", "{root}", "list", "--json"),
        ("list", "--json", "-a", "{root}"),
        ("--archive={root}", "list", "--json"),
        ("list", "-q", "--json", "-a", "{root}"),
        ("-v", "list", "--json", "-a", "{root}"),
        ("list", "-vv", "--archive", "{root}", "--json"),
    ],
)
def test_global_options_go_before_or_after_the_command(tmp_path, args):
    root = tmp_path / "arc"
    assert here("init", str(root)).returncode == 0
    # The real command reads the last order; the others are the same parsing, in-process.
    runs = run_cli if args == ("list", "-vv", "--archive", "{root}", "--json") else here
    result = runs(*(arg.format(root=root) for arg in args))
    assert (result.returncode, json.loads(result.stdout)) == (0, []), result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("list", "--bogus"), "archiver: error: No such option: --bogus (see `archiver list -h`)"),
        (("-v", "2", "list"), "archiver: error: No such command '2'. (see `archiver -h`)"),
        (("diff",), "archiver: error: Missing argument 'url'. (see `archiver diff -h`)"),
        (
            ("snapshot", "--depth", "x"),
            "archiver: error: Invalid value for '--depth': Input should be a valid integer",
        ),
    ],
)
def test_every_usage_error_is_one_line_with_exit_2(tmp_path, args, message):
    # The real command for the first case; the others are the same parsing, in-process.
    result = run_cli(*args, cwd=tmp_path) if args == ("list", "--bogus") else here(*args)
    assert result.returncode == ExitCode.USAGE
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message), result.stderr
    assert result.stdout == ""


def test_a_bad_line_in_a_url_file_is_named_by_its_number_and_nothing_is_added(tmp_path, story):
    listing = tmp_path / "urls.list"
    listing.write_text(f"# my list\n{story}\n\nftp://files.example/report.pdf\n")
    root = tmp_path / "arc"
    result = run(root, "add", "--file", str(listing))
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith(f"archiver: error: {listing} line 4: ")
    assert not root.exists()  # nothing written: the file is read whole before anything


def test_adding_a_url_already_tracked_says_so_and_checks_it(tmp_path, story):
    root = tmp_path / "arc"
    assert run(root, "add", story).returncode == 0
    again = run(root, "add", story)
    assert again.returncode == 0 and "1 unchanged" in again.stdout
    assert f"archiver: note: already tracked: {story}" in again.stderr


def test_the_run_line_counts_in_words():
    results = [
        PageResult("https://a.example/", Outcome.NEW),
        PageResult("https://b.example/", Outcome.NEW, role="source"),
        PageResult("https://c.example/", Outcome.UNCHANGED, role="source"),
    ]
    line = RunSummary(started=datetime.now(UTC), results=results).line()
    assert line.startswith("3 checked (1 article, 2 sources): 2 new, 0 changed, 1 unchanged")


def test_an_archive_whose_settings_were_deleted_says_how_to_bring_them_back(tmp_path, story):
    root = tmp_path / "arc"
    assert run(root, "add", story).returncode == 0
    (root / "archiver.toml").unlink()
    result = run_cli("list", "-a", str(root))
    assert result.returncode == ExitCode.DAMAGED
    [line] = result.stderr.splitlines()
    assert line.endswith(
        f"bring back the committed one with `git -C {root} checkout -- archiver.toml`"
    )
    git(root, "checkout", "--", "archiver.toml")
    assert run(root, "list").returncode == 0


def test_index_export_and_show_print_json_for_scripts(tmp_path, story):
    root = tmp_path / "arc"
    assert run(root, "add", story).returncode == 0
    index = json.loads(run(root, "index", "--json").stdout)
    assert (len(index["read"]), index["failed"], index["files"]) == (1, [], 1)
    assert index["path"].endswith("index.cdxj") and index["lines"] >= 1
    package = tmp_path / "out.wacz"
    export = json.loads(run(root, "export", "--wacz", str(package), "--json").stdout)
    assert (export["path"], export["pages"], export["warcs"]) == (str(package), 1, 1)
    shown = json.loads(run(root, "show", story, "--json").stdout)
    assert (shown["url"], shown["version"], shown["kind"]) == (story, 1, "new")
    assert shown["text"] == run_cli("show", story, "-a", str(root)).stdout
