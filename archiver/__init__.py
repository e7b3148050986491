"""archiver: archive news articles and the sources they cite, with a git history of their text."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Without git on PATH, GitPython refuses to be imported at all; let us say so in one line instead.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

if TYPE_CHECKING:
    from .archive import Archive

__all__ = ["Archive", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported on first use: extraction worker processes import this package but need none of git,
    # the network or the store (a quarter of a second and 15 MB less in each).
    if name == "Archive":
        from .archive import Archive

        return Archive
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
