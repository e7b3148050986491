"""PDF → `Document`: text extracted with pypdf, then normalized like an article."""

from __future__ import annotations

import io
import logging
import re

from . import rules as textrules
from .normalize import Block, Document

log = logging.getLogger(__name__)

_HYPHEN_BREAK = re.compile(r"(?<=[a-zà-ÿ])-\n(?=[a-zà-ÿ])")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def from_pdf(data: bytes) -> Document | None:
    """The document's title and text, or None when the PDF cannot be read (it stays in the WARC)."""
    from pypdf import (
        PdfReader,
    )  # imported here: a quarter of a second of start-up most runs never need
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        metadata = reader.metadata
        title = textrules.clean(str((metadata.get("/Title") if metadata else None) or ""))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (
        PyPdfError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        OSError,
        RecursionError,
    ) as exc:
        log.info("unreadable PDF: %s", exc)
        return None
    blocks = []
    for page in pages:
        for paragraph in _PARAGRAPH_BREAK.split(_HYPHEN_BREAK.sub("", page)):
            sentences = textrules.split_sentences(textrules.clean(paragraph))
            if sentences:
                blocks.append(Block("p", sentences))
    return Document(title=title, blocks=blocks)
