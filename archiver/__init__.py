"""archiver: archive news articles and the sources they cite, with a git history of their text."""

import os

__version__ = "0.1.0"

# Without git on PATH, GitPython refuses to be imported at all; let us say so in one line instead.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

from .archive import Archive

__all__ = ["Archive", "__version__"]
