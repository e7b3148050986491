"""What a server's answer can be evidence of, judged from the HTTP exchange alone, before any text is read.

A version is made only from an answer that is whole and is the page asked for: a `200 OK` (or `203`) with a
body, or a `404`/`410` for a deletion. Anything else is a failed check that changes nothing archived — above
all an answer that broke off, or one the request did not ask for: a false edit is the worst outcome for evidence.
"""

from __future__ import annotations

from .capture import Capture

GONE_STATUSES = (404, 410)
PAGE_STATUSES = (200, 203)  # a page as asked for (203: the same, through a transforming proxy)
_NOT_A_PAGE = {
    204: "the server sent no page",
    205: "the server sent no page",
    206: "a part of the page, which was not asked for",
}


def verdict(capture: Capture, conditional: bool) -> tuple[str, str | None]:
    """("ok", None) for an answer that may make a version; else the check's outcome ("skipped", "not-modified",
    "gone", "failed") and, for a failure or a skip, the reason."""
    final = capture.final
    if capture.blocked:
        return "skipped", capture.blocked
    if final is not None and final.status == 304 and conditional and not capture.error:
        return "not-modified", None
    if capture.error or final is None:
        return "failed", capture.error or "no response"
    if final.status in GONE_STATUSES:
        return "gone", None
    status = f"HTTP {final.status} {final.reason}".rstrip()
    if final.status not in PAGE_STATUSES:
        why = _NOT_A_PAGE.get(final.status) or ("not a page" if 200 <= final.status < 300 else "")
        return "failed", f"{status}: {why}" if why else status
    if final.body_length == 0:
        return "failed", f"{status} with an empty body: the server sent no page"
    return "ok", None
