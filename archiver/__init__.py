"""archiver: archive news articles and the sources they cite, with a git history of their text."""

__version__ = "0.1.0"

from .archive import Archive

__all__ = ["Archive", "__version__"]
