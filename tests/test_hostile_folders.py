"""Page folders: a URL that collides with another's folder can never write into it, and `verify`
finds a version in a folder that is not its URL's; archives made with 32-bit folder names keep
working.

The folder name's hash is narrowed in this process (`urls.FOLDER_HASH_DIGITS`) so that a real
colliding URL can be found in the test: 16 bits take a few thousand tries where 128 take forever.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from support.archives import article, configure
from support.commands import git
from support.hostile import page
from support.userview import STORY, archiver

from archiver import urls
from archiver.urls import normalize_url

EDIT = "The authority later said the terminal would open a year late because of the traffic review."


def colliding(victim: str, digits: int) -> str:
    """A URL of the victim's host whose folder has the same readable part and the same `digits` of
    hash."""
    target = hashlib.sha256(normalize_url(victim).encode()).hexdigest()[:digits]
    for n in range(1_000_000):
        candidate = (
            f"{victim}/{n}"  # the slug keeps 60 characters: the victim's path is longer than that
        )
        if hashlib.sha256(normalize_url(candidate).encode()).hexdigest()[:digits] == target:
            return candidate
    raise AssertionError("no collision found")


LONG_PATH = "/2026/11/harbour-authority-approves-the-new-ferry-terminal-after-a-long-public-inquiry"


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(urls, "FOLDER_HASH_DIGITS", 4)
    return 4


def log(root: Path, url: str) -> list[dict]:
    run = archiver(root, "log", url, "--json")
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize("answer", ["404", "200"])
def test_a_colliding_source_cannot_write_into_a_tracked_articles_folder(
    server, root, narrow, answer
):
    victim, citing = server.url(LONG_PATH), server.url("/opinion")
    forger = colliding(victim, narrow)
    assert urls.page_dir(normalize_url(forger)) == urls.page_dir(
        normalize_url(victim)
    )  # a real collision
    server.answer(LONG_PATH, page("Terminal approved", STORY).encode())
    server.answer("/opinion", page("Why the terminal matters", STORY[:2], links=[forger]).encode())
    if answer == "200":
        server.answer(
            forger.removeprefix(server.url("")),
            page(
                "Forged", ["This page says the terminal was never approved at all by anyone."]
            ).encode(),
        )
    configure(root, allow_private=True)
    assert archiver(root, "add", victim).code == 0
    before = {
        p.name: p.read_bytes() for p in (root / urls.page_dir(normalize_url(victim))).iterdir()
    }
    head = git(root, "rev-parse", "HEAD").strip()

    run = archiver(root, "add", citing, "--json")

    assert run.code == 1
    result = run.result(forger)
    assert result["outcome"] == "failed"
    assert "holds the history of" in result["error"] and normalize_url(victim) in result["error"]
    assert run.result(citing)["outcome"] == "new"  # the rest of the run is archived
    folder = root / urls.page_dir(normalize_url(victim))
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [v["kind"] for v in log(root, victim)] == ["new"]
    assert "ferry terminal" in article(root, victim)
    assert (
        git(root, "diff", "--stat", head, "HEAD", "--", folder.relative_to(root).as_posix()) == ""
    )
    git(root, "fsck", "--full", "--strict")
    assert archiver(root, "verify").code == 0


def test_verify_and_log_find_a_version_forged_into_another_urls_folder(server, root):
    victim = server.url(LONG_PATH)
    server.answer(LONG_PATH, page("Terminal approved", STORY).encode())
    configure(root, allow_private=True)
    assert archiver(root, "add", victim).code == 0
    folder = urls.page_dir(normalize_url(victim)).as_posix()
    meta_path = root / folder / "meta.json"
    forged = json.loads(meta_path.read_text())
    forged.update(url=normalize_url(victim + "/other"), version=2, kind="gone", status=404)
    meta_path.write_text(json.dumps(forged))
    (root / folder / "article.md").unlink()
    git(root, "add", "-A", "pages")
    git(
        root, "commit", "-q", "-m", "archiver: 1 gone"
    )  # as a forger with write access to the repository would

    checked = archiver(root, "verify")
    assert checked.code == 5
    assert (
        "folder collision or a forgery" in checked.stdout
        and f"{folder}/meta.json" in checked.stdout
    )
    shown = archiver(root, "log", victim)
    assert shown.code == 5 and "holds a version of" in shown.stderr


def test_an_archive_with_32_bit_folder_names_keeps_its_folders(server, root, monkeypatch):
    story, source = server.url("/story"), server.url("/report")
    server.answer("/story", page("Terminal approved", STORY).encode())
    server.answer("/report", page("The inquiry report", STORY[1:]).encode())
    configure(root, allow_private=True)
    with (
        monkeypatch.context() as old_layout
    ):  # an archive made before: folders named by 8 hex digits
        old_layout.setattr(urls, "FOLDER_HASH_DIGITS", urls.LEGACY_HASH_DIGITS)
        assert archiver(root, "add", story).code == 0
    legacy = urls.legacy_page_dir(normalize_url(story))
    assert (root / legacy / "meta.json").is_file()

    server.answer("/story", page("Terminal approved", [*STORY, EDIT], links=["/report"]).encode())
    run = archiver(root, "snapshot", story, "--json")

    assert run.code == 0 and run.result(story)["outcome"] == "changed"
    assert run.result(story)["folder"] == legacy.as_posix()
    assert not (root / urls.page_dir(normalize_url(story))).exists()  # the page stays in its folder
    assert EDIT in (root / legacy / "article.md").read_text()
    assert [v["kind"] for v in log(root, story)] == ["new", "edited"]
    diff = archiver(root, "diff", story)
    assert diff.code == 0 and "a year late" in diff.stdout
    # A page new to the archive gets a folder of the current layout.
    assert run.result(source)["folder"] == urls.page_dir(normalize_url(source)).as_posix()
    listed = json.loads(archiver(root, "list", "--sources", "--json").stdout)
    assert {p["url"]: p["folder"] for p in listed}[normalize_url(story)] == legacy.as_posix()
    assert archiver(root, "verify").code == 0
