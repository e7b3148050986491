"""What a server's answer can be evidence of, judged from the HTTP exchange alone, before any text
is read.

A version is made only from an answer that is whole and is the page asked for: a `200 OK` (or `203`)
with a body, or a `404`/`410` for a deletion. Anything else is a failed check that changes nothing
archived — above all an answer that broke off, or one the request did not ask for: a false edit is
the worst outcome for evidence.
"""

from __future__ import annotations

from enum import StrEnum

from .exchange import Capture


class Verdict(StrEnum):
    """What the capture stage makes of a job, before any text is read."""

    OK = "ok"  # an answer that may make a version
    NOT_MODIFIED = "not-modified"  # 304 to a conditional request: the archived version stands
    GONE = "gone"  # 404 or 410
    FAILED = "failed"  # no usable answer: nothing archived changes
    SKIPPED = "skipped"  # not fetched by policy (a private address, robots.txt)
    DEFERRED = "deferred"  # not fetched this run: the time budget of its group of sources is spent


GONE_STATUSES = (404, 410)
PAGE_STATUSES = (200, 203)  # a page as asked for (203: the same, through a transforming proxy)
_NOT_A_PAGE = {
    204: "the server sent no page",
    205: "the server sent no page",
    206: "a part of the page, which was not asked for",
}


def verdict(capture: Capture, conditional: bool) -> tuple[Verdict, str | None]:
    """(OK, None) for an answer that may make a version; else what it is and, for a failure or a
    skip, why."""
    final = capture.final
    if capture.blocked:
        return Verdict.SKIPPED, capture.blocked
    if final is not None and final.status == 304 and conditional and not capture.error:
        return Verdict.NOT_MODIFIED, None
    if capture.error or final is None:
        return Verdict.FAILED, capture.error or "no response"
    if final.status in GONE_STATUSES:
        return Verdict.GONE, None
    status = f"HTTP {final.status} {final.reason}".rstrip()
    if final.status not in PAGE_STATUSES:
        why = _NOT_A_PAGE.get(final.status) or ("not a page" if 200 <= final.status < 300 else "")
        return Verdict.FAILED, f"{status}: {why}" if why else status
    if final.body_length == 0:
        return Verdict.FAILED, f"{status} with an empty body: the server sent no page"
    return Verdict.OK, None
