"""What a new state database starts from, read from the archive: every committed `meta.json`.

The state is operational (state.py): when it is lost or damaged, the archive still says which pages
exist and in which role, and which record holds each archived payload. Without those, identical
payloads would be stored again instead of as revisits, and sources no article cites any more would
never be checked again.
"""

from __future__ import annotations

import logging

from ..storage.meta import load as load_meta
from ..storage.state import Outcome, PageState, PayloadRecord, Seed
from ..storage.store import META, PAGES, Store
from .results import KIND_OUTCOME

log = logging.getLogger(__name__)


def seed(store: Store) -> Seed:
    """Each page as its versions describe it (due now), and the first record of each payload, oldest
    first as the runs remembered them."""
    pages: dict[str, PageState] = {}
    records: dict[str, PayloadRecord] = {}
    for revision in store.revisions(f"{PAGES}/**/{META}"):
        try:
            meta = load_meta(revision.content)
            url, captured, digest = (
                meta["url"],
                meta["captured_at"],
                meta["warc"].get("payload_digest"),
            )
            record = PayloadRecord.of(meta)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.info(
                "skipped an unreadable %s of commit %s (`archiver verify` checks them)",
                revision.path,
                revision.commit[:10],
            )
            continue
        if digest:
            records.setdefault(digest, record)
        first = pages[url].first_seen if url in pages else captured
        pages[url] = PageState(
            url=url,
            role=meta.get("role", "article"),
            first_seen=first,
            last_checked=captured,
            last_outcome=KIND_OUTCOME.get(meta.get("kind", ""), Outcome.NEW),
            last_status=meta.get("status"),
            last_error=None,
            failures=0,
            failing_since=None,
            interval_minutes=None,
            next_due=None,
            etag=None,
            last_modified=None,
        )
    return Seed(pages=list(pages.values()), records=records)
