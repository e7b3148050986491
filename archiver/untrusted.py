"""The guarded entries for what others control: a server's headers and markup, a human-edited file.

Each kind of untrusted value (a reference to resolve, a number of seconds, a date, a line of a text
file, text to show on a terminal) enters the program through one function here, which returns the
value or None (a hostile value costs at most itself) and never raises. Callers never wrap parsing of
their own in try/except; tests/test_untrusted.py feeds adversarial strings to every entry. URLs
themselves are `urls.normalize_url`'s (its one error is `InvalidURL`); charsets are
`payload.decode_text`'s.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from urllib.parse import urldefrag, urljoin

from .errors import InvalidURL
from .urls import normalize_url

MAX_SECONDS = (
    10 * 365 * 86400.0
)  # a delay or date further away than this is no answer we could wait for
_DELTA_SECONDS = re.compile(
    r"[0-9]{1,12}"
)  # RFC 9110 delay-seconds: ASCII digits (str.isdigit takes "²")
# Terminal control: ESC sequences (CSI with parameters, OSC up to its terminator, two-byte ones), C0
# controls but tab and newline, DEL, the C1 controls (U+0080–U+009F: 8-bit CSI and OSC for some
# terminals), and the bidirectional overrides that reorder what is shown.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?|\x1b"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def reference(base: str, href: str) -> str | None:
    """`href` (an attribute of a page, a Location header) resolved against `base`, fragment dropped,
    if the result is an http(s) URL we could fetch; None otherwise (a bad IPv6 literal, a port out
    of range...)."""
    try:
        target = urldefrag(urljoin(base.strip(), href.strip())).url
        normalize_url(target)
    except (ValueError, InvalidURL):
        return None
    return target


def resolved(base: str, href: str) -> str | None:
    """`href` resolved against `base` and normalized: the identity of the page it names, or None
    when it names none we could fetch (`reference`, without a second normalization)."""
    try:
        return normalize_url(urljoin(base.strip(), href.strip()))
    except (ValueError, InvalidURL):
        return None


def delay(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or an HTTP date); None when it says
    neither."""
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return min(float(value), MAX_SECONDS)
    when = http_date(value)
    if when is None:
        return None
    return min(max(0.0, (when - (now or datetime.now(UTC))).total_seconds()), MAX_SECONDS)


def http_date(value: str | None) -> datetime | None:
    """An HTTP date (RFC 9110: IMF-fixdate and the obsolete forms email.utils reads) as an aware
    datetime."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def lines(data: bytes) -> list[str | None]:
    """The lines of a UTF-8 text file a person edits (a BOM allowed); None for a line that is not
    UTF-8."""
    decoded: list[str | None] = []
    for number, raw in enumerate(data.split(b"\n")):
        if number == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            decoded.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError:
            decoded.append(None)
    if decoded and decoded[-1] == "":
        decoded.pop()  # the file's last newline ends a line; it starts none
    return decoded


def printable(text: str) -> str:
    """`text` without terminal control sequences: what a server sent can neither retitle the window,
    clear the screen, nor hide or reorder what is shown. Tab and newline are kept."""
    return _CONTROL.sub("", text)
