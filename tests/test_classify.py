"""Classification without a server: what kind of version a capture makes, from what was archived and
what came.

Each row is a situation a fact-checker meets (an edit, a move, a deletion, a deletion in disguise, a
page back from the dead) and the kind and summary the archive records for it.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from archiver.run.classify import fact_change, kind_of, loses_text, same, soft_404
from archiver.storage.meta import Kind, PageMeta
from archiver.storage.store import PageFiles

URL = "https://news.example/politics/2026/budget-vote"
BODY = [
    "The council approved the budget on Tuesday after a long debate.",
    "The vote was seven to two, with the mayor abstaining.",
    "Opponents said the plan cuts funding for libraries and parks.",
    "The budget takes effect in January and runs for two years.",
]
ARTICLE = "# Council passes budget\n\n" + "\n".join(BODY) + "\n"
EDITED = ARTICLE.replace("seven to two", "six to three")


def page(article: str | None, **meta: object) -> PageFiles:
    facts: PageMeta = {
        "url": URL,
        "final_url": URL,
        "status": 200,
        "content_type": "text/html",
        "title": "Council passes budget",
    }
    facts.update(meta)  # type: ignore[typeddict-item]  # rows name any meta.json key
    return PageFiles(
        PurePosixPath("pages/x/y"), facts, article, "" if article is not None else None
    )


ROWS = [
    # (situation, archived version, had text before, candidate, kind, summary starts with)
    ("first capture", None, False, page(ARTICLE), Kind.NEW, "Council passes budget"),
    (
        "first capture of a file without text",
        None,
        False,
        page(None, content_type="application/zip", title=None),
        Kind.NEW,
        "application/zip",
    ),
    (
        "a sentence edited",
        page(ARTICLE, kind="new"),
        True,
        page(EDITED),
        Kind.EDITED,
        "1 sentence changed",
    ),
    (
        "only the title changed",
        page(ARTICLE, kind="new"),
        True,
        page(ARTICLE, title="Budget passes"),
        Kind.EDITED,
        "title changed",
    ),
    ("404", page(ARTICLE, kind="new"), True, page(None, status=404), Kind.GONE, "HTTP 404"),
    ("410", page(ARTICLE, kind="new"), True, page(None, status=410), Kind.GONE, "HTTP 410"),
    (
        "a 200 judged a soft 404",
        page(ARTICLE, kind="new"),
        True,
        page(None, soft_404="redirected to the home page https://news.example/"),
        Kind.SOFT_404,
        "redirected to",
    ),
    (
        "back after a 404",
        page(None, kind="gone", status=404),
        True,
        page(ARTICLE),
        Kind.RESTORED,
        "the page is back",
    ),
    (
        "gone from the start, then content",
        page(None, kind="gone", status=404),
        False,
        page(ARTICLE),
        Kind.NEW,
        "Council passes budget",
    ),
    (
        "redirected to a new address, same text",
        page(ARTICLE, kind="new"),
        True,
        page(ARTICLE, final_url="https://news.example/2026/budget"),
        Kind.MOVED,
        "moved to https://news.example/2026/",
    ),
    (
        "a new canonical URL, edited too",
        page(ARTICLE, kind="new", canonical_url=URL),
        True,
        page(EDITED, canonical_url="https://news.example/b"),
        Kind.MOVED,
        "moved to https://news.example/b; 1 sentence",
    ),
]


@pytest.mark.parametrize(
    ("situation", "previous", "had_text", "candidate", "kind", "summary"),
    ROWS,
    ids=[row[0] for row in ROWS],
)
def test_the_kind_of_a_version(
    situation: str,
    previous: PageFiles | None,
    had_text: bool,
    candidate: PageFiles,
    kind: Kind,
    summary: str,
) -> None:
    change = kind_of(previous, candidate, had_text)
    assert (change.kind, change.summary[: len(summary)]) == (kind, summary), situation
    assert (change.counts is not None) == (kind in (Kind.EDITED, Kind.MOVED))


def test_an_edit_counts_its_changed_sentences() -> None:
    change = kind_of(
        page(ARTICLE, kind="new"), page(EDITED + "A new closing sentence was added.\n"), True
    )
    assert change.counts is not None
    assert (change.counts["sentences_changed"], change.counts["sentences_added"]) == (1, 1)


@pytest.mark.parametrize(
    ("situation", "candidate", "is_same"),
    [
        ("identical", page(ARTICLE, captured_at="later", extractor={"trafilatura": "9"}), True),
        (
            "who cites it changed",
            page(ARTICLE, cited_by=["https://other.example/"], role="source"),
            True,
        ),
        ("a sentence changed", page(EDITED), False),
        ("the byline changed", page(ARTICLE, byline="Ann Reporter"), False),
        (
            "the links changed",
            PageFiles(
                PurePosixPath("pages/x/y"), page(ARTICLE).meta, ARTICLE, "https://a.example/\tA\n"
            ),
            False,
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_same_means_same_text_links_and_facts(
    situation: str, candidate: PageFiles, is_same: bool
) -> None:
    assert (
        same(page(ARTICLE, kind="new", version=1, captured_at="earlier"), candidate) is is_same
    ), situation


@pytest.mark.parametrize(
    ("situation", "previous_text", "candidate", "loses"),
    [
        ("an HTML page now empty", ARTICLE, page("", content_type="text/html"), True),
        ("a PDF now without text", ARTICLE, page(None, content_type="application/pdf"), True),
        ("an answer of unknown type without text", ARTICLE, page(None, content_type=None), True),
        ("a page that never had text", None, page("", content_type="text/html"), False),
        ("a 404 is a deletion, not a loss", ARTICLE, page(None, status=404), False),
        (
            "a soft 404 is a deletion, not a loss",
            ARTICLE,
            page(None, soft_404="answers 200 with a 'not found' page"),
            False,
        ),
        (
            "an image, which has no text to lose",
            ARTICLE,
            page(None, content_type="image/png"),
            False,
        ),
        ("an edit keeps text", ARTICLE, page(EDITED), False),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) > 20 else "",
)
def test_losing_all_text_is_a_failed_check_never_an_edit(
    situation: str, previous_text: str | None, candidate: PageFiles, loses: bool
) -> None:
    assert loses_text(previous_text, candidate) is loses, situation


@pytest.mark.parametrize(
    ("situation", "final_url", "titles", "text", "reason"),
    [
        (
            "redirected to the home page",
            "https://news.example/",
            ["News"],
            "# News\n\nToday's stories.\n",
            "redirected to the home page https://news.example/",
        ),
        (
            "redirected to a section front",
            "https://news.example/politics/",
            ["Politics"],
            "# Politics\n\nAll.\n",
            "redirected to a section front https://news.example/politics/",
        ),
        (
            "a 'not found' page with 200",
            URL,
            ["Page not found | News"],
            "# Sorry\n\nNothing here.\n",
            "answers 200 with a 'not found' page",
        ),
        (
            "redirected to an unrelated article",
            "https://news.example/sport/2026/final",
            ["Cup final"],
            "# Cup final\n\nThe home side won the cup after extra time in a tense match.\n",
            "redirected to an unrelated page https://news.example/sport/2026/final",
        ),
        ("the article itself, edited", URL, ["Council passes budget"], EDITED, None),
        (
            "the article, redirected to its new address",
            "https://news.example/2026/budget",
            ["Council passes budget"],
            ARTICLE,
            None,
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v and not v.startswith("#") else "",
)
def test_a_deletion_in_disguise(
    situation: str, final_url: str, titles: list[str], text: str, reason: str | None
) -> None:
    assert soft_404(URL, final_url, titles, text, ARTICLE) == reason, situation


def test_a_change_of_facts_names_them_and_ignores_the_capture_s_own() -> None:
    old = page(ARTICLE, kind="new", captured_at="a", version=1).meta
    new = page(
        ARTICLE, byline="Ann Reporter", published="2026-11-30", captured_at="b", version=2
    ).meta
    assert fact_change(old, new) == "byline changed, published changed"
