"""`push_remote`: a snapshot that commits pushes to the remote; a failed push exits 4 and keeps the
local commit."""

from __future__ import annotations

import subprocess

from support.commands import git, run_cli
from support.newssite import article
from support.schedule import EDIT, STORY, new_archive, serve_story
from support.userview import run

from archiver.errors import ExitCode
from archiver.urls import page_dir


def test_a_snapshot_that_commits_pushes_to_the_remote(tmp_path, site):
    paragraphs = list(STORY)
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", paragraphs))
    url = site.url("/news/harbour")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    root = new_archive(tmp_path, push_remote="origin")
    git(root, "remote", "add", "origin", str(remote))

    added = run_cli("add", url, "-a", str(root))
    assert (added.returncode, added.stderr) == (0, "")
    assert git(remote, "rev-parse", "HEAD") == git(root, "rev-parse", "HEAD")
    assert "pages/" in git(remote, "ls-tree", "-r", "--name-only", "HEAD")

    paragraphs.append(EDIT)
    changed = run(root, "snapshot", "--all")
    assert (changed.returncode, changed.stderr) == (0, "") and "1 changed" in changed.stdout
    assert git(remote, "rev-parse", "HEAD") == git(root, "rev-parse", "HEAD")


def test_a_failed_push_exits_4_and_keeps_the_local_commit(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    root = new_archive(tmp_path, push_remote="origin")
    git(root, "remote", "add", "origin", str(tmp_path / "nowhere" / "remote.git"))
    before = git(root, "rev-parse", "HEAD")

    result = run_cli("-q", "add", url, "-a", str(root))
    assert result.returncode == ExitCode.PUSH_FAILED
    assert "push failed" in result.stderr
    head = git(root, "rev-parse", "HEAD").strip()
    assert head != before.strip() and result.stdout.splitlines() == [
        f"1 checked: 1 new, 0 changed, 0 unchanged, 0 failed; commit {head[:10]}"
    ]
    assert str(page_dir(url)) in git(root, "show", "--name-only", "--format=", "HEAD")
    assert git(root, "status", "--porcelain") == ""


def test_a_failed_push_says_git_s_whole_reason_on_one_line(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    root = new_archive(tmp_path, push_remote="origin")
    missing = tmp_path / "nowhere" / "remote.git"
    git(root, "remote", "add", "origin", str(missing))

    result = run(root, "-q", "add", url)
    assert result.returncode == ExitCode.PUSH_FAILED
    [line] = [x for x in result.stderr.splitlines() if "push failed" in x]
    # git says: the path is not a repository, it could not read from the remote, and what to check.
    assert f"'{missing}' does not appear to be a git repository" in line
    assert "Could not read from remote repository" in line
    assert line.endswith(
        "Please make sure you have the correct access rights and the repository exists."
    )


def test_a_push_that_failed_is_retried_by_the_next_run_even_when_nothing_changed(tmp_path, site):
    url = serve_story(site, "/news/harbour")
    root = new_archive(tmp_path, push_remote="origin")
    remote = tmp_path / "remote.git"
    git(root, "remote", "add", "origin", str(remote))
    failed = run(root, "-q", "add", url)
    assert failed.returncode == ExitCode.PUSH_FAILED

    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    quiet = run_cli("-q", "snapshot", "-a", str(root))  # nothing is due: no commit of its own
    assert (quiet.returncode, quiet.stderr) == (0, "")
    assert git(remote, "rev-parse", "HEAD") == git(root, "rev-parse", "HEAD")
    again = run(root, "-q", "snapshot")  # pushed already: nothing to do, no error
    assert (again.returncode, again.stderr) == (0, "")
