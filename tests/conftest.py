"""Fixtures of the whole suite: loopback servers and new archives. Helpers live in
tests/support/."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.archives import allow_loopback_sources, configure
from support.evidence import History, build_history
from support.history import Story, edit_history
from support.hostile import Hostile
from support.newssite import Site

from archiver import Archive


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture
def other() -> Iterator[Site]:
    """A second site, on another loopback address (another host to archive, fetch and be polite
    to)."""
    server = Site(host="127.0.0.2").start()
    yield server
    server.stop()


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    root = tmp_path / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    return Archive.open(root)


@pytest.fixture
def server() -> Iterator[Hostile]:
    """A hostile HTTP server on loopback (tests/support/hostile.py)."""
    s = Hostile().start()
    yield s
    s.stop()


@pytest.fixture
def internal() -> Iterator[Hostile]:
    """An internal service: any request it receives is a failure of the address policy."""
    s = Hostile().start()
    yield s
    s.stop()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A new archive with short timeouts, for the hostile suite."""
    root = tmp_path / "archive"
    Archive.init(root)
    configure(root, connect_timeout=2.0, read_timeout=2.0, deadline=5.0)
    return root


@pytest.fixture(scope="session")
def edited(tmp_path_factory) -> Iterator[Story]:
    """Five versions of an article (support/history.py: `edit_history`), shared by the tests of log,
    diff, show and version specs, which only read them."""
    site = Site().start()
    root = tmp_path_factory.mktemp("edited") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    archive = Archive.open(root)
    story = edit_history(site, archive)
    story.archive = archive
    yield story
    site.stop()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """The archive with history of tests/support/evidence.py, built once per module."""
    site = Site().start()
    root = tmp_path_factory.mktemp("history") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    yield build_history(site, Archive.open(root))
    site.stop()


@pytest.fixture
def history(built: History, tmp_path: Path) -> History:
    """A copy of `built`, of each test's own (to damage, to export)."""
    root = tmp_path / "archive"
    shutil.copytree(built.root, root, symlinks=True)
    return dataclasses.replace(built, archive=Archive.open(root))
