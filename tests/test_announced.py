"""Announced and unannounced edits: whether the outlet said it changed the story (a correction or
update notice added, or the page's declared modification date moved on), as meta.json, `log`,
`diff` and the HTML report tell it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import html as lxml_html
from support.archives import allow_loopback_sources, meta
from support.archives import article as text
from support.newssite import Site, article
from support.userview import archiver, run

from archiver import Archive
from archiver.errors import ExitCode
from archiver.text.modified import later, modified_date
from archiver.text.notices import Notices

STORY = [
    "The council approved the new tram line on Tuesday after a long public inquiry.",
    "Residents said the plan would bring heavy traffic to the old town.",
    "Work on the first section is due to begin next spring.",
]
CHANGED = "Residents said the plan would bring heavy traffic to the harbour district."
CORRECTION = "Correction: An earlier version of this article misnamed the district."
MISE_A_JOUR = "Mise à jour : le conseil a répondu aux habitants."
NACHTRAG = "Nachtrag: Der Rat hat den Anwohnern geantwortet."
STAMP = "Updated {} minutes ago"
BEFORE, AFTER = "2026-11-20T09:00:00+00:00", "2026-11-24T15:30:00+00:00"


@dataclass
class Page:
    """An article the site serves as its fields say now."""

    site: Site
    path: str
    paragraphs: list[str]
    title: str = "Council approves tram line"
    modified: str | None = None

    def serve(self) -> None:
        self.site.page(self.path, self.html)

    def html(self) -> str:
        page = article(self.title, self.paragraphs)
        if self.modified is None:
            return page
        ld = json.dumps(
            {
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "dateModified": self.modified,
            }
        )
        return page.replace("</head>", f'<script type="application/ld+json">{ld}</script></head>')

    @property
    def url(self) -> str:
        return self.site.url(self.path)


@dataclass
class Archived:
    root: Path
    pages: dict[str, Page]

    def url(self, name: str) -> str:
        return self.pages[name].url


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archived]:
    """Each page archived, then edited as its name says, then checked again."""
    site = Site().start()
    root = tmp_path_factory.mktemp("announced") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("notices = []", 'notices = ["^Nachtrag:"]'))
    stamps = iter(range(1, 100))
    pages = {
        name: Page(site, f"/news/{name}", list(STORY), modified=BEFORE if name == "dated" else None)
        for name in ("silent", "corrected", "dated", "stamped", "french", "user", "retitled")
    }
    pages["stamped"].paragraphs.append(STAMP.format(3))
    for page in pages.values():
        page.serve()
    assert archiver(root, "add", *(p.url for p in pages.values())).code == 0

    pages["silent"].paragraphs[1] = CHANGED
    pages["corrected"].paragraphs[1:2] = [CHANGED, CORRECTION]
    pages["dated"].paragraphs[1], pages["dated"].modified = CHANGED, AFTER
    pages["stamped"].site.page(
        "/news/stamped",
        lambda: article("Council approves tram line", [*STORY, STAMP.format(next(stamps))]),
    )
    pages["french"].paragraphs[1:2] = [CHANGED, MISE_A_JOUR]
    pages["user"].paragraphs[1:2] = [CHANGED, NACHTRAG]
    pages["retitled"].title = "Council approves tram line despite protests"
    for name, page in pages.items():
        if name != "stamped":
            page.serve()
    assert archiver(root, "snapshot", "--all").code == 0
    yield Archived(root, pages)
    site.stop()


def log(archived: Archived, name: str) -> list[dict]:
    return json.loads(run(archived.root, "log", archived.url(name), "--json").stdout)


def log_lines(archived: Archived, name: str) -> list[str]:
    return run(archived.root, "log", archived.url(name)).stdout.splitlines()


def diff_header(archived: Archived, name: str) -> str:
    return run(archived.root, "diff", archived.url(name)).stdout.splitlines()[2]


def banner(archived: Archived, name: str) -> str | None:
    page = lxml_html.fromstring(run(archived.root, "report", archived.url(name), "-o", "-").stdout)
    [found] = page.find_class("banner") or [None]
    return found.text_content() if found is not None else None


def test_an_edit_without_notice_or_date_is_unannounced(archived):
    recorded = meta(archived.root, archived.url("silent"))
    assert (recorded["kind"], recorded["announced"]) == ("edited", False)
    assert "announcement" not in recorded
    v1, v2 = log(archived, "silent")
    assert "announced" not in v1 and (v2["announced"], v2.get("announcement")) == (False, None)
    assert log_lines(archived, "silent")[1].endswith("\t1 sentence changed\tunannounced")
    assert (
        "v1" in log_lines(archived, "silent")[0]
        and "announced" not in log_lines(archived, "silent")[0]
    )
    assert diff_header(archived, "silent").endswith(": Unannounced edit")
    assert banner(archived, "silent") == "Unannounced edit"


def test_a_correction_notice_added_announces_the_edit(archived):
    recorded = meta(archived.root, archived.url("corrected"))
    assert recorded["announced"] is True
    assert recorded["announcement"] == {"notice": CORRECTION}
    assert log(archived, "corrected")[-1]["announcement"] == {"notice": CORRECTION}
    assert log_lines(archived, "corrected")[1].endswith("\tannounced")
    assert diff_header(archived, "corrected").endswith(f": Announced: {CORRECTION}")
    assert banner(archived, "corrected") == f"Announced: {CORRECTION}"


def test_a_later_modified_date_announces_the_edit_and_is_kept(archived):
    recorded = meta(archived.root, archived.url("dated"))
    assert recorded["modified"] == AFTER
    assert (recorded["announced"], recorded["announcement"]) == (
        True,
        {"modified": [BEFORE, AFTER]},
    )
    assert log(archived, "dated")[0].get("announced") is None
    assert "the page's modified date went from" in diff_header(archived, "dated")
    assert (
        banner(archived, "dated")
        == f"Announced: the page's modified date went from {BEFORE} to {AFTER}"
    )


def test_a_changing_updated_stamp_makes_no_version_and_no_notice(archived):
    versions = log(archived, "stamped")
    assert [v["kind"] for v in versions] == ["new"]
    assert "announced" not in meta(archived.root, archived.url("stamped"))
    assert "minutes ago" not in text(archived.root, archived.url("stamped"))


def test_a_french_notice_announces_the_edit(archived):
    assert meta(archived.root, archived.url("french"))["announcement"] == {"notice": MISE_A_JOUR}
    assert banner(archived, "french") == f"Announced: {MISE_A_JOUR}"


def test_a_pattern_from_the_settings_announces_the_edit(archived):
    assert meta(archived.root, archived.url("user"))["announcement"] == {"notice": NACHTRAG}


def test_a_headline_changed_without_notice_is_an_unannounced_edit(archived):
    recorded = meta(archived.root, archived.url("retitled"))
    assert (recorded["summary"], recorded["announced"]) == ("headline changed", False)
    assert log_lines(archived, "retitled")[1].endswith("\tunannounced")


def test_a_notice_already_there_does_not_announce_the_next_edit(tmp_path: Path, site: Site):
    root = tmp_path / "archive"
    Archive.init(root)
    page = Page(site, "/news/twice", [STORY[0], CORRECTION, STORY[2]], modified=BEFORE)
    page.serve()
    archiver(root, "add", page.url)
    page.paragraphs[0] = STORY[0].replace("Tuesday", "Monday")
    page.modified = BEFORE.replace("+00:00", "Z")  # the same instant, written another way
    archiver(root, "snapshot", "--all")
    recorded = meta(root, page.url)
    assert (recorded["version"], recorded["announced"]) == (2, False)
    # A second correction, worded anew, announces the next edit.
    second = "Correction: An earlier version of this article gave the wrong day."
    page.paragraphs[1:2] = [second]
    archiver(root, "snapshot", "--all")
    assert meta(root, page.url)["announcement"] == {"notice": second}


def test_a_changed_modified_date_alone_makes_no_version(tmp_path: Path, site: Site):
    root = tmp_path / "archive"
    Archive.init(root)
    page = Page(site, "/news/touched", list(STORY), modified=BEFORE)
    page.serve()
    archiver(root, "add", page.url)
    page.modified = AFTER
    outcome = archiver(root, "snapshot", "--all", "--json")
    assert outcome.result(page.url)["outcome"] == "unchanged"
    assert meta(root, page.url)["modified"] == BEFORE


def test_a_bad_notice_pattern_is_a_one_line_error(tmp_path: Path):
    root = tmp_path / "archive"
    Archive.init(root)
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("notices = []", 'notices = ["^(Nachtrag:"]'))
    outcome = archiver(root, "snapshot")
    assert outcome.code == ExitCode.USAGE
    [line] = outcome.stderr.splitlines()
    assert "'^(Nachtrag:'" in line and "announce.notices" in line


# --- the notice matcher ---------------------------------------------------------------------------

NOTICES = [
    "Correction: An earlier version misstated the vote.",
    "Corrections: The mayor's name was misspelled.",
    "CORRECTION — the vote was six to three.",
    "UPDATE — The minister has resigned.",
    "Update (Nov. 24): The council responded.",
    "Update, 3:15 p.m.: The council responded.",
    "Updated: This story now includes the minister's response.",
    "Editor’s note: This story was amended.",
    "Editor's Note – the photo was replaced.",
    "Clarification: the figure refers to 2025.",
    "This article has been updated to include a response.",
    "This story was corrected on Nov. 24.",
    "An earlier version of this article said seven.",
    "A previous version of this story misspelled her name.",
    "(Correction: the figure is six.)",
    "Correction : le maire a démenti.",
    "Mise à jour : le conseil a répondu.",
    "MISE À JOUR — le conseil a répondu.",
    "Rectificatif : une erreur s'est glissée.",
    "Note de la rédaction : cet article a été modifié.",
    "Cet article a été mis à jour le 24 novembre.",
    "Korrektur: In einer früheren Version hieß es sieben.",
    "Aktualisierung: Der Minister ist zurückgetreten.",
    "Anmerkung der Redaktion: Der Text wurde ergänzt.",
    "In einer früheren Version dieses Artikels hieß es sieben.",
    "Corrección: el alcalde no votó.",
    "Actualización: el consejo respondió.",
    "Nota del editor: este artículo fue modificado.",
    "Fe de errores: la cifra correcta es seis.",
    "Una versión anterior de este artículo decía siete.",
    "Исправление: в голосовании участвовали шесть человек.",
    "Обновление: министр подал в отставку.",
    "Примечание редакции: текст дополнен.",
    "Материал обновлён в 14:32.",
    "## Correction",
    "- Update: the vote was moved.",
    "> Update - the vote moved to Friday.",
]
NOT_NOTICES = [
    "The update to the software broke the printers.",
    "No correction was needed, the paper said.",
    "Updated figures show growth.",
    "Update the app to continue.",
    "Updated 5 minutes ago",
    "Updated 14:32 GMT",
    "UPDATE — 14:32 GMT",
    "Update: Nov. 24, 2026, 2:15 p.m.",
    "Updated: Nov 24, 2026",
    "Correctional officers went on strike.",
    "Update-driven sales rose.",
    "The correction: markets fell.",
    "Korrekturen sind selten.",
    "Updates to the law: none.",
    "## Correction of the markets",
    "Correction",  # a label alone is a notice only as a heading
    "She said the article has been updated weekly.",
]


@pytest.mark.parametrize("line", NOTICES)
def test_notice_forms(line):
    assert Notices().is_notice(line)


@pytest.mark.parametrize("line", NOT_NOTICES)
def test_not_notices(line):
    assert not Notices().is_notice(line)


def test_only_a_notice_the_old_text_lacked_counts():
    notices = Notices()
    old = [STORY[0], CORRECTION]
    assert notices.added(old, [STORY[0].upper(), CORRECTION]) is None
    assert (
        notices.added(old, [CORRECTION, "Update: the council replied."])
        == "Update: the council replied."
    )
    assert notices.added([], ["- " + CORRECTION]) == CORRECTION


# --- the declared modification date ---------------------------------------------------------------


def page(head: str, body: str = "") -> lxml_html.HtmlElement:
    return lxml_html.fromstring(f"<html><head>{head}</head><body><p>x</p>{body}</body></html>")


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_modified_date_from_json_ld_prefers_the_article():
    graph = {
        "@graph": [
            {"@type": "WebPage", "dateModified": "2026-01-01T00:00:00Z"},
            {"@type": ["NewsArticle"], "dateModified": AFTER},
        ]
    }
    assert modified_date(page(ld(graph))) == AFTER
    assert modified_date(page(ld([{"@type": "WebSite", "dateModified": BEFORE}]))) == BEFORE


def test_modified_date_from_meta_tags_and_itemprop():
    assert (
        modified_date(page(f'<meta property="article:modified_time" content="{AFTER}">')) == AFTER
    )
    assert modified_date(page(f'<meta property="og:updated_time" content="{AFTER}">')) == AFTER
    assert modified_date(page(f'<meta name="Last-Modified" content="{AFTER}">')) == AFTER
    assert (
        modified_date(page("", f'<time itemprop="dateModified" datetime="{AFTER}">x</time>'))
        == AFTER
    )


def test_no_or_broken_modified_date_is_none():
    assert (
        modified_date(page('<meta property="article:published_time" content="2026-11-20">')) is None
    )
    assert (
        modified_date(page('<script type="application/ld+json">{"dateModified": </script>')) is None
    )
    assert modified_date(page(ld({"dateModified": "x" * 500}))) is None
    assert modified_date(page(ld({"dateModified": 20261124}))) is None
    deep = "[" * 100_000 + json.dumps({"dateModified": AFTER}) + "]" * 100_000
    assert modified_date(page(f'<script type="application/ld+json">{deep}</script>')) is None


def test_later_compares_instants():
    assert later(BEFORE, AFTER) and not later(AFTER, BEFORE)
    assert not later(BEFORE, "2026-11-20T09:00:00Z")  # the same instant
    assert later("Monday", "Tuesday") and not later("Monday", " Monday ")
