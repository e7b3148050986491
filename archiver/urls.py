"""URL identity: validation, normalization, and the page folder a URL maps to."""

from __future__ import annotations

import hashlib
import ipaddress
import posixpath
import re
from functools import lru_cache
from pathlib import PurePosixPath
from urllib.parse import unquote, unquote_plus, urlsplit, urlunsplit

import idna
from requests.utils import requote_uri

from .errors import InvalidURL

MAX_URL_LENGTH = 4096
DEFAULT_PORTS = {"http": 80, "https": 443}
# Query parameters that only track the reader; they never select content.
TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|_hsenc|_hsmi"
    r"|mkt_tok|oly_anon_id|oly_enc_id|vero_id|at_medium|at_campaign|ns_mchannel|ns_source|cmpid|ito)$",
    re.IGNORECASE,
)
# Labels of letters, digits, '-' and '_': underscores are not DNS host names, but browsers and DNS
# serve them (`news_desk.example.com`), so a cited link to one is archived too. "--" is left to IDNA
# (xn-- labels).
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_PLAIN_HOST = re.compile(rf"(?!.*--){_LABEL}(\.{_LABEL})*")
_PLAIN_LABEL = re.compile(rf"(?!.*--){_LABEL}")
_ENCODED_DOT = re.compile("%2e", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_SLUG_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
SLUG_MAX = 60


# Remembered: a page's every link is resolved and checked here, and a site's menus, footers and
# teasers repeat from page to page (a worker extracting 300 news pages of 100 links each met 700
# distinct URLs). Bounded: a hostile page's long URLs cost at most 1,024 of them held.
@lru_cache(maxsize=1024)
def normalize_url(url: str) -> str:
    """Return the canonical form used as a page's identity, or raise InvalidURL."""
    url = url.strip()
    if not url:
        raise InvalidURL("empty URL")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL longer than {MAX_URL_LENGTH} characters: {url[:80]}…")
    if _CONTROL.search(url):
        raise InvalidURL(f"URL contains control characters: {url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"malformed URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL(f"not an http(s) URL: {url!r}")
    host = _normalize_host(parts.hostname or "", url)
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    # %2E is "." (RFC 3986 §6.2.2.2): decode it before resolving dot segments, so "/a/%2e%2e/b" is
    # "/b".
    path = _remove_dot_segments(_ENCODED_DOT.sub(".", requote_uri(parts.path or "/")))
    query = requote_uri(_strip_tracking(parts.query))
    return urlunsplit((scheme, netloc, path, query, ""))


def normalize_host(host: str) -> str:
    """A bare host name as compared here: lower case, IDN as punycode, an IPv6 address
    compressed."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host).compressed
        except ValueError:
            raise InvalidURL(f"invalid host name {host!r}") from None
    return _normalize_host(host, host)


def _normalize_host(host: str, url: str) -> str:
    if not host:
        raise InvalidURL(f"URL has no host: {url!r}")
    if ":" in host:  # IPv6 literal; urlsplit already removed the brackets
        return f"[{host.lower()}]"
    host = host.rstrip(".").lower()
    if _PLAIN_HOST.fullmatch(host):
        return host  # plain ASCII labels: IDNA would return them as they are, far more slowly
    try:
        # Label by label: IDNA refuses '_', which an ASCII label may hold beside an international
        # one.
        return ".".join(
            label
            if _PLAIN_LABEL.fullmatch(label)
            else idna.encode(label, uts46=True).decode("ascii")
            for label in _idna_labels(host)
        )
    except idna.IDNAError as exc:
        raise InvalidURL(f"invalid host name {host!r}: {exc}") from None


def _idna_labels(host: str) -> list[str]:
    """The host's labels after UTS #46 mapping (full-width letters and dots, case), split at its
    dots."""
    return idna.uts46_remap(host, std3_rules=False, transitional=False).split(".")


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 §5.2.4: "/a/b/../c" → "/a/c"; keeps a trailing slash, never climbs above the root.
    trailing = path.endswith("/") or path.endswith("/.") or path.endswith("/..")
    cleaned = posixpath.normpath("/" + path.lstrip("/"))
    cleaned = "/" + cleaned.lstrip("/")
    if trailing and cleaned != "/":
        cleaned += "/"
    return cleaned


def _strip_tracking(query: str) -> str:
    # Drop whole "key=value" pieces as written: re-encoding the rest could change how the server
    # reads it.
    kept = [
        piece
        for piece in query.split("&")
        if not TRACKING_PARAMS.match(unquote_plus(piece.split("=", 1)[0]))
    ]
    return "&".join(kept)


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


# 128 bits of the URL's SHA-256 name its folder: finding a second URL for a folder (2^128 tries), or
# even any colliding pair (2^64), is out of reach. Archives made before used 32 bits, where a
# colliding URL took minutes to find; their folders keep their names (`Store.folder` reads both),
# and no folder is ever written for a URL other than the one its meta.json names.
FOLDER_HASH_DIGITS = 32
LEGACY_HASH_DIGITS = 8


def page_dir(url: str) -> PurePosixPath:
    """The folder, relative to the archive, for the page at (normalized) `url` in the current
    layout.

    Derived from the URL alone; safe on every OS (no `..`, no reserved names, bounded length).
    """
    return _page_dir(url, FOLDER_HASH_DIGITS)


def legacy_page_dir(url: str) -> PurePosixPath:
    """The folder archives made before named for `url` (a 32-bit hash suffix)."""
    return _page_dir(url, LEGACY_HASH_DIGITS)


def names_folder(url: str, folder: str) -> bool:
    """Whether `folder` (a path or a name) is one a layout gives `url`: its hash suffix is that of
    the URL.

    The readable part is left out: it says nothing of identity, and its rules may differ between
    versions.
    """
    suffix = folder.rstrip("/").rpartition("/")[2].rpartition("-")[2]
    return len(suffix) in (FOLDER_HASH_DIGITS, LEGACY_HASH_DIGITS) and url_hash(url).startswith(
        suffix
    )


def _page_dir(url: str, digits: int) -> PurePosixPath:
    parts = urlsplit(url)
    host = _safe_component(parts.netloc.replace(":", "_").strip("[]")) or "_"
    rest = unquote(parts.path + ("?" + parts.query if parts.query else ""))
    slug = _safe_component(rest, SLUG_MAX) or "index"
    # The hash follows a dash, so "con.html" would still name the CON device on Windows: escape it.
    slug = f"_{slug}" if _WINDOWS_RESERVED.match(f"{slug}-x") else slug
    return PurePosixPath("pages", host, f"{slug}-{url_hash(url)[:digits]}")


def _safe_component(name: str, limit: int = 100) -> str:
    name = _SLUG_UNSAFE.sub("-", name.lower()).strip("-.")[:limit].strip("-.")
    return f"_{name}" if _WINDOWS_RESERVED.match(name) else name
