"""The real commands, run in a subprocess as a user or cron would: `archiver` and `git`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    prefix: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run the real `archiver` command in a subprocess, as a user or cron would (under `prefix`, a
    command such as `setpriv ...` that runs it)."""
    exe = Path(sys.executable).with_name("archiver")
    full_env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_DIR"} | (env or {})
    return subprocess.run(
        [*prefix, str(exe), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
