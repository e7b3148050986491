"""Trusted timestamps (RFC 3161): every commit a run makes is timestamped by a real TSA on loopback
(`openssl ts -reply`), the tokens are checked by openssl independently of archiver, and `verify`
finds a history rewritten after them. A TSA that is down or hostile never fails a run."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import tsa
from support.commands import git
from support.newssite import article
from support.schedule import EDIT, STORY, new_archive
from support.userview import archiver

from archiver.urls import page_dir

NOTES = "refs/notes/archiver-timestamps"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tsa.Pki:
    return tsa.Pki.make(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def authority(pki: tsa.Pki) -> Iterator[tsa.Tsa]:
    server = tsa.Tsa(pki).start()
    yield server
    server.stop()


def stamped_archive(tmp_path: Path, pki: tsa.Pki, authority: tsa.Tsa) -> Path:
    root = new_archive(tmp_path, tsa_urls=[authority.url])
    (root / "evidence" / "tsa").mkdir(parents=True)
    shutil.copy(pki.ca, root / "evidence" / "tsa" / "test-ca.pem")
    return root


def notes(root: Path) -> dict[str, str]:
    """Each timestamped commit's note, read with git."""
    listing = git(root, "notes", "--ref", NOTES, "list") if _has_notes(root) else ""
    return {
        commit: git(root, "notes", "--ref", NOTES, "show", commit)
        for _, commit in (line.split() for line in listing.splitlines())
    }


def _has_notes(root: Path) -> bool:
    return "archiver-timestamps" in git(root, "for-each-ref", "refs/notes")


def openssl_checks(note: str, folder: Path, ca: Path) -> bool:
    """The note's token checked by `openssl ts -verify` over its manifest, as docs/concepts.md
    tells a third party to."""
    manifest, _, rest = note.partition("\n\n")
    (folder / "manifest.txt").write_text(manifest + "\n")
    (folder / "token.tsr").write_bytes(base64.b64decode(rest.partition("token\n")[2]))
    return tsa.openssl_verify(folder / "token.tsr", ca, data=folder / "manifest.txt")


def test_every_commit_is_timestamped_and_a_rewritten_version_is_found(
    tmp_path, site, pki, authority
):
    paragraphs = list(STORY)
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", paragraphs))
    url = site.url("/news/harbour")
    root = stamped_archive(tmp_path, pki, authority)

    first = archiver(root, "add", url, "--json")
    assert first.code == 0 and first.data["timestamps"]["failure"] is None, first.stderr
    paragraphs.append(EDIT)
    second = archiver(root, "snapshot", "--all", "--json")
    assert second.code == 0 and second.data["timestamps"]["stamped"], second.stderr

    history = git(root, "log", "--format=%H").split()
    kept = notes(root)
    assert set(kept) == set(history)  # the archive's first commit too
    for commit in (first.data["commit"], second.data["commit"]):
        assert f"commit {commit}\n" in kept[commit]
        assert openssl_checks(kept[commit], tmp_path, pki.ca)
    # The manifest is the commit's, as git and sha256sum rebuild it.
    warcs = git(
        root,
        "diff-tree",
        "-r",
        "--root",
        "--no-commit-id",
        "--name-only",
        "--diff-filter=A",
        first.data["commit"],
        "--",
        "warcs/",
    ).split()
    assert warcs and all(f" {path}\n" in kept[first.data["commit"]] for path in warcs)

    verified = archiver(root, "verify", "--json")
    assert (verified.code, verified.stdout.strip()) == (0, "[]"), verified.stderr
    assert "3 commits of 3 timestamped" in archiver(root, "verify").stdout

    # The first version's article.md is rewritten in the history, every later commit with it.
    folder = page_dir(url)
    env = {**os.environ, "FILTER_BRANCH_SQUELCH_WARNING": "1"}
    script = (
        f'if [ "$GIT_COMMIT" = {first.data["commit"]} ]; then '
        f"echo 'The harbour authority never approved anything.' > {folder}/article.md; fi"
    )
    subprocess.run(
        ["git", "-C", str(root), "filter-branch", "-f", "--tree-filter", script, "HEAD"],
        check=True,
        capture_output=True,
        env=env,
    )

    rewritten = archiver(root, "verify", "--json")
    assert rewritten.code == 5
    named = [p for p in rewritten.data if p["url"] == url]
    assert [(p["version"], p["commit"]) for p in named] == [(1, first.data["commit"])]
    assert "rewritten" in named[0]["message"]
    assert f"{url} v1" in archiver(root, "verify").stdout


def test_a_tsa_that_is_down_fails_no_run_and_the_commit_is_timestamped_later(
    tmp_path, site, pki, authority
):
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", STORY))
    url = site.url("/news/harbour")
    root = stamped_archive(tmp_path, pki, authority)
    authority.mode = tsa.DOWN

    added = archiver(root, "-q", "add", url, "--json")
    assert added.code == 0
    [warning] = [line for line in added.stderr.splitlines() if "timestamp" in line]
    assert warning.startswith("archiver: warning:") and "HTTP 503" in warning
    assert not _has_notes(root)

    authority.mode = tsa.GOOD
    filled = archiver(root, "timestamp", "--json")
    assert filled.code == 0 and filled.data["pending"] == 0, filled.stderr
    assert set(notes(root)) == set(git(root, "log", "--format=%H").split())
    assert archiver(root, "verify").code == 0


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        (tsa.GARBAGE, "not a time-stamp token"),
        (tsa.REJECTED, "the TSA refused the request (status 2)"),
        (tsa.OTHER_HASH, "Mismatch between messages"),
        (tsa.WRONG_NONCE, "Nonce mismatch"),
        (tsa.EXPIRED, "certificates"),
    ],
)
def test_a_hostile_tsa_leaves_the_commit_untimestamped(tmp_path, site, pki, authority, mode, said):
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", STORY))
    url = site.url("/news/harbour")
    root = stamped_archive(tmp_path, pki, authority)
    authority.mode = mode

    added = archiver(root, "add", url, "--json")
    assert added.code == 0 and added.data["commit"]
    assert said in added.data["timestamps"]["failure"]
    assert len([line for line in added.stderr.splitlines() if "warning" in line]) == 1
    assert not _has_notes(root)
    assert archiver(root, "verify").code == 0
    assert archiver(root, "timestamp").code == 1


def test_a_bad_tsa_url_is_a_one_line_config_error(tmp_path):
    root = new_archive(tmp_path)
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("tsa_urls = []", 'tsa_urls = ["ftp://tsa.example"]'))
    bad = archiver(root, "timestamp")
    assert bad.code == 2 and "evidence.tsa_urls" in bad.stderr and len(bad.stderr.splitlines()) == 1


def test_a_receipt_carries_the_timestamp_that_dates_its_version(tmp_path, site, pki, authority):
    """The version's own token when its commit has one; else a later commit's, with the commits
    that chain the two. Checked with openssl as VERIFY.md says, and by `verify --receipt`."""
    paragraphs = list(STORY)
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", paragraphs))
    url = site.url("/news/harbour")
    root = stamped_archive(tmp_path, pki, authority)
    first = archiver(root, "add", url, "--json")
    paragraphs.append(EDIT)
    second = archiver(root, "snapshot", "--all", "--json")
    assert first.code == second.code == 0

    for case in ("own", "chained"):
        if case == "chained":  # the first version's commit loses its token: the second's dates it
            git(root, "notes", "--ref", NOTES, "remove", first.data["commit"])
        out = tmp_path / f"{case}.zip"
        assert archiver(root, "receipt", url, "1", "-o", str(out)).code == 0
        here = tmp_path / case
        with zipfile.ZipFile(out) as package:
            package.extractall(here)
        described = json.loads((here / "receipt.json").read_text())
        dated = first.data["commit"] if case == "own" else second.data["commit"]
        assert described["timestamp"]["commit"] == dated
        assert f"commit {dated}\n" in (here / "timestamp" / "manifest.txt").read_text()
        assert "openssl ts -verify -data timestamp/manifest.txt" in (here / "VERIFY.md").read_text()
        assert tsa.openssl_verify(
            here / "timestamp" / "token.tsr",
            here / "timestamp" / "tsa" / "test-ca.pem",
            data=here / "timestamp" / "manifest.txt",
        )
        checked = archiver(tmp_path, "verify", "--receipt", str(out))
        assert checked.code == 0, checked.stdout
        assert "ok   the time-stamp authority signed the manifest" in checked.stdout
        assert "ok   the timestamped commit is this version's or holds it" in checked.stdout

    # A token of another manifest: the receipt fails, naming the timestamp.
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(out) as old, zipfile.ZipFile(forged, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            if name == "timestamp/manifest.txt":
                data = data.replace(b"tree ", b"tree 0", 1)
            new.writestr(name, data)
    result = archiver(tmp_path, "verify", "--receipt", str(forged))
    assert result.code == 5
    assert "FAIL the time-stamp authority signed the manifest" in result.stdout


def test_tokens_added_on_demand_reach_the_remote(tmp_path, site, pki, authority):
    """The run pushes its tokens with its commit; `archiver timestamp` pushes those it adds later,
    so the copy elsewhere is never older in tokens than the archive."""
    site.page("/news/harbour", lambda: article("Harbour dredging plan approved", STORY))
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    root = new_archive(tmp_path, tsa_urls=[authority.url], push_remote="origin")
    (root / "evidence" / "tsa").mkdir(parents=True)
    shutil.copy(pki.ca, root / "evidence" / "tsa" / "test-ca.pem")
    git(root, "remote", "add", "origin", str(remote))
    authority.mode = tsa.DOWN
    assert archiver(root, "add", site.url("/news/harbour")).code == 0
    assert git(remote, "rev-parse", "HEAD") == git(root, "rev-parse", "HEAD")

    authority.mode = tsa.GOOD
    filled = archiver(root, "timestamp", "--json")

    assert filled.code == 0 and filled.data["push_error"] is None, filled.stderr
    pushed = git(remote, "notes", "--ref", NOTES, "list").split()
    assert git(root, "rev-parse", "HEAD").strip() in pushed
