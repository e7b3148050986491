"""Chromium as the browser tests run it (Debian's `chromium`, never a downloaded browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

# Without the background-networking flags its own connections fail slowly on a closed network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str | None:
    """The Chromium binary, or None: browser tests skip without one."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
