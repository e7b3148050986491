"""Text rules (`archiver.text.rules`) and HTML → normalized text
(`archiver.text.normalize.from_html`)."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime

import pytest
from support.newssite import article

from archiver import config
from archiver.text.normalize import Document, from_html
from archiver.text.rules import clean, is_volatile, split_sentences, strip_volatile

URL = "https://news.example.com/2026/11/20/bridge"
CAPTURED = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

# --- clean ----------------------------------------------------------------------------------------


def test_clean_nfc() -> None:
    decomposed = "Cafe\u0301 de\u0301ja\u0300"
    assert clean(decomposed) == "Café déjà"
    assert clean(decomposed) == clean("Café déjà")


def test_clean_removes_zero_width() -> None:
    assert clean("news\u200bpaper\u200d \ufeffsoft\u00adhyphen\u2060") == "newspaper softhyphen"


def test_clean_collapses_whitespace() -> None:
    assert (
        clean("  one\u00a0two\t\tthree\n\nfour\r\n five \u2003six  ")
        == "one two three four five six"
    )


def test_clean_empty() -> None:
    assert clean(" \u200b\n\t ") == ""


# --- split_sentences ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Smith met Dr. Jones on Monday. They talked.",
            ["Mr. Smith met Dr. Jones on Monday.", "They talked."],
        ),
        (
            "The U.S. Army said so. Officials agreed.",
            ["The U.S. Army said so.", "Officials agreed."],
        ),
        ("The U.S. is big. The U.K. is small.", ["The U.S. is big.", "The U.K. is small."]),
        (
            "Filed on Jan. 5 by the clerk. It was late.",
            ["Filed on Jan. 5 by the clerk.", "It was late."],
        ),
        (
            "The report by J. Doe was late. It cost more.",
            ["The report by J. Doe was late.", "It cost more."],
        ),
        (
            "It cost 3.5 million dollars. Prices rose 2.5% in Q3.",
            ["It cost 3.5 million dollars.", "Prices rose 2.5% in Q3."],
        ),
        ('He said "It is over." Then he left.', ['He said "It is over."', "Then he left."]),
        (
            "“Yes,” she said. “We will.” The vote was 5-4.",
            ["“Yes,” she said.", "“We will.”", "The vote was 5-4."],
        ),
        ("Why? Nobody knows! The end.", ["Why?", "Nobody knows!", "The end."]),
        ("Wait... What happened?", ["Wait...", "What happened?"]),
        ("东京是日本的首都。它很大。人口很多！", ["东京是日本的首都。", "它很大。", "人口很多！"]),
        ("The sentence ends. 2026 was a year.", ["The sentence ends.", "2026 was a year."]),
        (
            "Visit example.com for details. it continues lowercase.",
            ["Visit example.com for details. it continues lowercase."],
        ),
        ("No final stop", ["No final stop"]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_sentences_empty() -> None:
    assert split_sentences("") == []


# --- volatile fragments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Updated 5 minutes ago",
        "Updated 5 minutes ago.",
        "Last updated 3 hours ago",
        "Posted 2 days ago",
        "an hour ago",
        "1,234 views",
        "12K shares",
        "Comments (34)",
        "Advertisement",
        "Skip advertisement",
        "Sponsored content",
        "Read more: Why the bridge was closed",
        "Related: Council budget row",
        "Most read: Storm hits the coast",
        "Continue reading",
    ],
)
def test_volatile(sentence: str) -> None:
    assert is_volatile(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "The council will update its policy next year.",
        "Updates to the law were passed in 2024.",
        "An update was promised by the minister.",
        "Share prices fell sharply on Monday.",
        "Read more about the case in our archive.",
        "The video has 1,234 views on the council's channel, officials said.",
        "Advertisement revenue fell by a third.",
        "She said it happened 5 minutes ago, before the vote.",
    ],
)
def test_not_volatile(sentence: str) -> None:
    assert not is_volatile(sentence)


def test_volatile_extra_patterns() -> None:
    assert is_volatile("Live: the chamber is full", [re.compile("^Live:")])
    assert not is_volatile("The chamber is full", [re.compile("^Live:")])


@pytest.mark.parametrize(
    "sentence",
    [
        "Updated figures show unemployment fell to 4 percent.",
        "Updated guidance was issued on Tuesday.",
        "Just now, the minister resigned.",
    ],
)
def test_ordinary_sentence_beginning_with_updated_is_kept(sentence: str) -> None:
    assert not is_volatile(sentence)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "The mayor resigned (updated 3 hours ago) after the vote.",
            "The mayor resigned after the vote.",
        ),
        ("The mayor resigned [Updated: 2 hours ago].", "The mayor resigned."),
        ("The mayor resigned (Last updated an hour ago)", "The mayor resigned"),
        (
            "The mayor resigned (in 2024) after the vote.",
            "The mayor resigned (in 2024) after the vote.",
        ),
    ],
)
def test_strip_volatile(sentence: str, expected: str) -> None:
    assert strip_volatile(sentence) == expected


# --- from_html ------------------------------------------------------------------------------------

TITLE = "Council votes to close the old bridge"
PARAGRAPHS = [
    "The city council voted on Tuesday to close the old bridge. Mr. Smith, the mayor, said the decision was "
    "overdue. Engineers had warned about it for years.",
    "According to Dr. Jones, repairs would cost 3.5 million dollars. That figure was disputed by the opposition. "
    '"We cannot afford it," one member said.',
    "The bridge was built in 1932 by J. Doe and partners. It carried 12,000 cars a day at its peak. Traffic will "
    "now be diverted through the centre.",
    "Residents have until Jan. 15 to comment on the plan. A public meeting is scheduled for next week. The "
    "council will publish the minutes online.",
]
EXPECTED_BODY = """\
The city council voted on Tuesday to close the old bridge.
Mr. Smith, the mayor, said the decision was overdue.
Engineers had warned about it for years.

According to Dr. Jones, repairs would cost 3.5 million dollars.
That figure was disputed by the opposition.
"We cannot afford it," one member said.

The bridge was built in 1932 by J. Doe and partners.
It carried 12,000 cars a day at its peak.
Traffic will now be diverted through the centre.

Residents have until Jan. 15 to comment on the plan.
A public meeting is scheduled for next week.
The council will publish the minutes online.
"""
LINKS = [
    ("/reports/bridge-2026", "the engineers' report"),
    ("../../../archive/1932/bridge", "the 1932 archive"),
    ("https://example.org/study?id=7&utm_source=news", "an independent study"),
    ("mailto:desk@example.com", "email the desk"),
    ("javascript:void(0)", "show more"),
    ("#comments", "the comments"),
    (
        "https://www.facebook.com/sharer/sharer.php?u=https://news.example.com/x",
        "Share on Facebook",
    ),
    ("https://twitter.com/intent/tweet?text=bridge", "Post on X"),
    ("/reports/bridge-2026", "the report again"),
    ("https://example.org/study?id=7", "the study again"),
]
EXPECTED_LINKS = (
    "https://news.example.com/reports/bridge-2026\tthe engineers' report\n"
    "https://news.example.com/archive/1932/bridge\tthe 1932 archive\n"
    "https://example.org/study?id=7\tan independent study\n"
)


def _doc(html: str, rules: tuple[config.IgnoreRule, ...] = ()) -> Document:
    return from_html(html, URL, CAPTURED, rules)


def test_rotating_noise_gives_identical_bytes() -> None:
    first = article(TITLE, PARAGRAPHS, LINKS)
    second = article(TITLE, PARAGRAPHS, LINKS)
    assert first != second  # the page itself differs on every request
    a, b = _doc(first), _doc(second)
    assert a.article_text() == b.article_text()
    assert a.links_text() == b.links_text()
    assert a.article_text().encode("utf-8") == b.article_text().encode("utf-8")


def test_article_text_layout() -> None:
    text = _doc(article(TITLE, PARAGRAPHS)).article_text()
    assert text == f"# {TITLE}\n\nBy Jane Doe · Published 2026-11-20\n\n" + EXPECTED_BODY


def test_article_text_structure() -> None:
    text = _doc(article(TITLE, PARAGRAPHS, LINKS)).article_text()
    assert text.startswith(f"# {TITLE}\n\nBy Jane Doe · Published 2026-11-20\n\n")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\n\n\n" not in text
    body = text.split("\n\n", 2)[2]
    for line in body.splitlines():
        assert line == line.strip()
        if line:
            assert split_sentences(line) == [line]  # one sentence per line
    assert body.count("\n\n") >= len(PARAGRAPHS) - 1


def test_boilerplate_is_not_in_the_text() -> None:
    doc = _doc(article(TITLE, PARAGRAPHS, LINKS))
    text = doc.article_text()
    for word in (
        "Trending",
        "Sponsored",
        "Privacy",
        "About us",
        "Politics",
        "Page generated",
        "token",
        "Another story",
        "Daily Loopback",
    ):
        assert word not in text
    assert "/trend/" not in doc.links_text()
    assert "/privacy" not in doc.links_text()


def test_links() -> None:
    doc = _doc(article(TITLE, PARAGRAPHS, LINKS))
    assert doc.links_text() == EXPECTED_LINKS
    for line in doc.links_text().splitlines():
        url, anchor = line.split("\t")
        assert url.startswith("https://") and anchor


def test_one_sentence_edit_changes_one_line() -> None:
    edited = list(PARAGRAPHS)
    edited[2] = edited[2].replace("12,000 cars", "15,000 cars")
    before = _doc(article(TITLE, PARAGRAPHS, LINKS)).article_text().splitlines()
    after = _doc(article(TITLE, edited, LINKS)).article_text().splitlines()
    removed = [
        line
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line.startswith("-") and not line.startswith("---")
    ]
    added = [
        line
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line.startswith("+") and not line.startswith("+++")
    ]
    assert removed == ["-It carried 12,000 cars a day at its peak."]
    assert added == ["+It carried 15,000 cars a day at its peak."]


def test_volatile_fragments_inside_the_article_rotate_away() -> None:
    def page(minutes: int, views: str) -> str:
        paragraphs = [
            f"Updated {minutes} minutes ago",
            PARAGRAPHS[0].replace("overdue.", f"overdue (updated {minutes % 5 + 1} hours ago)."),
            f"{views} views",
            PARAGRAPHS[1],
            "Advertisement",
            *PARAGRAPHS[2:],
        ]
        return article(TITLE, paragraphs)

    a = _doc(page(5, "1,234")).article_text()
    b = _doc(page(17, "2,001")).article_text()
    assert a == b
    assert a == f"# {TITLE}\n\nBy Jane Doe · Published 2026-11-20\n\n" + EXPECTED_BODY


LIVE_PARAGRAPHS = [
    PARAGRAPHS[0],
    PARAGRAPHS[1]
    + '</p><div class="live"><p>Ticker: 42 readers are following the council session now.</p>'
    "</div><p>Live: the council chamber is filling up with residents. The vote was close.",
    *PARAGRAPHS[2:],
]


def test_without_rules_live_fragments_stay() -> None:
    text = _doc(article(TITLE, LIVE_PARAGRAPHS)).article_text()
    assert "Ticker: 42 readers" in text
    assert "Live: the council chamber" in text


def test_ignore_rules_drop_selector_and_pattern() -> None:
    rule = config.IgnoreRule(hosts=(), selectors=(".live",), patterns=(re.compile("^Live:"),))
    text = _doc(article(TITLE, LIVE_PARAGRAPHS), (rule,)).article_text()
    assert "Ticker" not in text
    assert "Live:" not in text
    assert "\nThe vote was close.\n" in text  # only the matching sentence goes, not its paragraph
    assert "That figure was disputed by the opposition." in text


def test_ignore_rule_for_another_host_does_not_apply() -> None:
    rule = config.IgnoreRule(
        hosts=("other.example",), selectors=(".live",), patterns=(re.compile("^Live:"),)
    )
    text = _doc(article(TITLE, LIVE_PARAGRAPHS), (rule,)).article_text()
    assert "Ticker: 42 readers" in text
    assert "Live: the council chamber" in text


def test_ignore_rule_from_config() -> None:
    cfg = config.from_dict(
        {
            "ignore": [
                {"hosts": ["NEWS.example.com"], "selectors": [".live"], "patterns": ["^Live:"]}
            ]
        }
    )
    text = _doc(article(TITLE, LIVE_PARAGRAPHS), cfg.ignore).article_text()
    assert "Ticker" not in text and "Live:" not in text


@pytest.mark.parametrize(
    "markup",
    [
        "",
        "   \n\t",
        "\x00\x01\x02\xff\xfe\x89PNG\r\n\x1a\n garbage \x00",
        bytes(range(256)).decode("latin-1") * 20,
        "<<<>>><<",
        "<html><body><p>unclosed <b>bold <div><table><tr><td>cell",
        "<?xml version='1.0' encoding='utf-8'?><html><body><p>x</p></body></html>",
        "<html><head><title>Only a title</title></head><body></body></html>",
        "<p>" * 5000,
        "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj",
    ],
)
def test_hostile_input_does_not_crash(markup: str) -> None:
    doc = _doc(markup)
    assert isinstance(doc, Document)
    assert isinstance(doc.article_text(), str)
    assert isinstance(doc.links_text(), str)
    assert "\x00" not in doc.article_text()


def test_malformed_article_still_extracts() -> None:
    markup = (
        f"<html><head><title>{TITLE}</title></head><body><article><h1>{TITLE}"
        + "".join(f"<p>{p}" for p in PARAGRAPHS)  # no closing tags at all
        + "<div><span>"
    )
    text = _doc(markup).article_text()
    assert "The city council voted on Tuesday to close the old bridge.\n" in text
    assert "The council will publish the minutes online.\n" in text


def test_sentence_beginning_with_updated_survives_extraction() -> None:
    paragraphs = [
        *PARAGRAPHS[:2],
        "Updated figures show unemployment fell to 4 percent. " + PARAGRAPHS[2],
        PARAGRAPHS[3],
    ]
    text = _doc(article(TITLE, paragraphs)).article_text()
    assert "\nUpdated figures show unemployment fell to 4 percent.\n" in text
