"""A job of a run and its way through the capture stage, wherever that runs (a fetch thread of this
process, or an `archiver worker` on another machine): captured under the fetch policy, then read in
an extraction process (a page's text, or a followed listing's entries)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ..capture.answer import Verdict
from ..capture.policy import Captured, CapturePolicy
from ..discovery import poll
from ..discovery.listing import Listing
from ..text.extract import Extractor, Unextractable, body_of
from .settle import Fetched

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    url: str
    depth: int  # link hops from a tracked article
    headers: tuple[tuple[str, str], ...] = ()  # conditional request validators
    # The time budget it draws on, named: the sources of the article whose citations led here (or,
    # for a source checked on its own, of its site); None for a tracked article.
    budget: str | None = None
    spec: poll.Spec | None = None  # a followed listing: how to read it


Reported = tuple[Job, Fetched | Exception]


class Capturing:
    """Captures jobs and hands their bodies to extraction; safe to call from many threads."""

    def __init__(self, capturer: CapturePolicy, extractor: Extractor) -> None:
        self.capturer = capturer
        self.extractor = extractor

    def capture(self, job: Job, release: Callable[[], None] = lambda: None) -> Fetched:
        """Capture one page, then hand its body to extraction (`Fetched.extraction`); `release`
        frees its site's slot as soon as the network is done."""
        captured = self.capturer.capture(job.url, job.headers, job.budget, release)
        fetched = Fetched(captured, job.depth)
        body = captured.capture.answer.body if captured.verdict == Verdict.OK else None
        if body is None:
            return fetched
        if job.spec is None:
            fetched.extraction = self.extractor(body_of(captured.capture))
        else:  # a listing: read in the same processes, under the same limits
            fetched.extraction = self.extractor.submit(
                poll.listing, body_of(captured.capture), job.spec
            )
        return fetched

    def extracted(self, fetched: Fetched, future: Future[Any]) -> Fetched | Exception:
        """`fetched` with the document an extraction process read (a listing's as text, the
        listing kept beside it); failed if the page gives none."""
        try:
            extracted = self.extractor.result(future)
            if isinstance(extracted, Listing):
                fetched.listing = extracted
                extracted = poll.document(extracted, fetched.capture.url)
            fetched.document = extracted
        # Over a limit: the capture stays, as evidence of what was served.
        except Unextractable as exc:
            return Fetched(Captured(fetched.capture, Verdict.FAILED, str(exc)), fetched.depth)
        except Exception as exc:
            log.exception("extraction failed for %s", fetched.capture.url)
            return exc
        fetched.extraction = None
        return fetched
