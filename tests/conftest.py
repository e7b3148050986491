from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import Hostile
from newssite import Site

from archiver import Archive


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site().start()
    yield server
    server.stop()


# Chromium as the browser tests run it. Without the background-networking flags its own connections fail
# slowly on a closed network.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium() -> str | None:
    """The Chromium binary (Debian's `chromium`), or None: browser tests skip without one."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def allow_loopback_sources(root: Path) -> None:
    """Tests serve sources on 127.0.0.x, which the default configuration refuses to fetch."""
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("allow_private = false", "allow_private = true"))


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    root = tmp_path / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    return Archive.open(root)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run the real `archiver` command in a subprocess, as a user or cron would (under `prefix`, a command
    such as `setpriv ...` that runs it)."""
    exe = Path(sys.executable).with_name("archiver")
    full_env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_DIR"} | (env or {})
    return subprocess.run([*prefix, str(exe), *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def server() -> Iterator[Hostile]:
    """A hostile HTTP server on loopback (tests/hostile.py)."""
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
    from userview import configure

    root = tmp_path / "archive"
    Archive.init(root)
    configure(root, connect_timeout=2.0, read_timeout=2.0, deadline=5.0)
    return root
