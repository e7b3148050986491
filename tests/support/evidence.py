"""An archive with history for the evidence tests (verify, index, export), built by real runs on the
loopback site.

Three runs, three WARC files of versions and two of confirmations:
1. `article` (citing `source`) and an unrelated `other` article are added: all three are new.
2. `article` is edited: its version 2, alone in the second WARC file. `source` and `other` are served with new
   ads and tokens, the same text: a checks WARC holds their confirmations (identical-text revisits of version 1).
3. `article` is put back exactly as it was: version 3 is an identical-payload revisit of version 1's record;
   `source` and `other` are confirmed again, in a second checks WARC.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from archiver import Archive
from archiver.urls import page_dir
from support.newssite import Response, Site, article

STORY = [
    "The harbour authority approved the dredging plan on Monday after a long public consultation.",
    "Fishermen said the work would damage the oyster beds. The authority disputed their figures.",
    "Work is expected to start in the spring and to last about eighteen months.",
]
EDIT = "A court challenge was filed on Wednesday by a group of residents and local fishermen."
OTHER = [
    "The city library will stay open until midnight during the exam period, the council said.",
    "Students welcomed the decision but asked for more seats in the reading rooms.",
]


@dataclass
class History:
    archive: Archive
    article: str
    source: str
    other: str
    bodies: list[bytes]  # the article's HTML as served for versions 1 and 2 (3 is the same as 1)

    @property
    def root(self) -> Path:
        return self.archive.root

    def meta(self, url: str) -> dict:
        return json.loads((self.root / page_dir(url) / "meta.json").read_text())

    def warcs(self) -> list[Path]:
        """The WARC files of versions."""
        return sorted(
            p for p in (self.root / "warcs").rglob("*.warc.gz") if "checks" not in p.parts
        )

    def checks(self) -> list[Path]:
        """The checks WARCs: confirmations of versions found unchanged."""
        return sorted((self.root / "warcs" / "checks").rglob("*.warc.gz"))


def build_history(site: Site, archive: Archive, pause: float = 0) -> History:
    """`pause` seconds between runs: replay tools tell captures apart by their second."""
    source, article_url, other = (
        site.url("/reports/dredging"),
        site.url("/news/harbour"),
        site.url("/news/library"),
    )
    site.page(
        "/reports/dredging",
        lambda: article("Dredging impact report", STORY[1:], author="Port Office"),
    )
    site.page("/news/library", lambda: article("Library opens late for exams", OTHER))
    bodies = [
        article(
            "Harbour dredging plan approved",
            STORY,
            links=[(source, "the impact report")],
            noise=False,
        ).encode(),
        article(
            "Harbour dredging plan approved",
            [*STORY, EDIT],
            links=[(source, "the impact report")],
            noise=False,
        ).encode(),
    ]
    served = [bodies[0]]
    site.routes["/news/harbour"] = lambda handler: Response(body=served[0])
    archive.add([article_url, other])
    served[0] = bodies[1]
    time.sleep(pause)
    archive.snapshot(all_pages=True)
    served[0] = bodies[0]
    time.sleep(pause)
    archive.snapshot(all_pages=True)
    history = History(archive, article_url, source, other, bodies)
    assert history.meta(article_url)["version"] == 3 and history.meta(article_url)["warc"].get(
        "refers_to"
    )
    assert len(history.warcs()) == 3 and len(history.checks()) == 2
    return history
