"""The HTML report (`archiver report`, `archiver diff --html`): what a reader of the page sees.

A loopback site edits an article and the sources it cites, the real command writes the report, and
the tests read it as a user would: its sections, the words struck and underlined, each source's
status, hostile text kept as text, and, in a real headless Chromium at phone and desktop width, that
the marks are visible.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest
from lxml import html as lxml_html
from support import userview
from support.archives import allow_loopback_sources
from support.browser import CHROMIUM_FLAGS, chromium
from support.commands import git, run_cli
from support.newssite import Site, article

from archiver import Archive
from archiver.history.citations import CitedSource
from archiver.history.compare import compare
from archiver.history.report import ReportData, render
from archiver.storage.versions import Version

PATH = "/news/2026/11/bridge-closure"
LONG_PATH = "/sources/" + "very-long-path-segment-" * 10 + "end"
PARAGRAPHS = [
    "The city closed the old bridge on Monday after engineers found cracks in its deck.",
    "Officials said the bridge would stay closed for at least a year. Commuters were told to use the north crossing.",
    "Local shops near the bridge said they feared losing customers during the closure.",
    "The mayor said safety came first and promised regular updates on the repairs.",
]
HOSTILE_SENTENCE = (
    'A resident wrote &lt;script&gt;alert("pwned")&lt;/script&gt; on the petition, see '
    "https://example.org/" + "a" * 150 + "."
)
HOSTILE_ANCHOR = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;the new budget"


@dataclass
class Bridge:
    """Three versions of an article; its sources edited or deleted between v2 and v3."""

    archive: Archive
    url: str
    sources: dict[str, str]
    out: Path
    written: dict[tuple[str, ...], str] = field(default_factory=dict)

    def report(self, *specs: str) -> str:
        """`archiver report URL [FROM] [TO] -o FILE` as a user runs it; the HTML written. Written
        once for each FROM and TO: the archive does not change and the tests only read the page."""
        if specs not in self.written:
            target = self.out / f"report-{'-'.join(specs) or 'default'}.html"
            result = run_cli(
                "report", self.url, *specs, "-o", str(target), "--archive", str(self.archive.root)
            )
            assert result.returncode == 0, result.stderr
            assert result.stdout == f"wrote {target}\n"
            self.written[specs] = target.read_text(encoding="utf-8")
        return self.written[specs]


def serve(site: Site, path: str, title: str, lines: list[str]) -> dict:
    page = {"title": title, "lines": lines}
    site.page(path, lambda: article(page["title"], page["lines"]))
    return page


@pytest.fixture(scope="module")
def bridge(tmp_path_factory) -> Iterator[Bridge]:
    site = Site().start()
    root = tmp_path_factory.mktemp("bridge") / "archive"
    Archive.init(root)
    allow_loopback_sources(root)
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("exclude = []", 'exclude = ["/unarchived/"]'))
    archive = Archive.open(root)
    serve(
        site,
        "/sources/alive",
        "Council minutes",
        [
            "The council voted on the bridge closure in October.",
            "Minutes were approved without amendment by the members.",
        ],
    )
    survey = serve(
        site,
        "/sources/changed",
        "Engineering survey",
        [
            "The survey rated the bridge deck as poor.",
            "Repairs were estimated to take eighteen months.",
        ],
    )
    serve(
        site,
        "/sources/gone",
        "Press release",
        [
            "The city announced the closure in a press release.",
            "Traffic will be diverted over the north crossing.",
        ],
    )
    serve(
        site,
        "/sources/dropped",
        "Old traffic study",
        [
            "A traffic study from 2019 predicted heavy congestion.",
            "It recommended building a second crossing.",
        ],
    )
    serve(
        site,
        "/sources/new",
        "New budget",
        [
            "The repair budget was approved by the council.",
            "It totals forty million over two years.",
        ],
    )
    serve(
        site,
        LONG_PATH,
        "Long link",
        ["This source has a very long address indeed.", "Nothing else of note is in it."],
    )
    sources = {
        name: site.url(f"/sources/{name}")
        for name in ("alive", "changed", "gone", "dropped", "new")
    }
    sources |= {"unarchived": site.url("/unarchived/report"), "long": site.url(LONG_PATH)}
    story = {
        "title": "City closes old bridge",
        "paragraphs": list(PARAGRAPHS),
        "author": "Jane Doe",
        "links": [
            (sources["alive"], "the council minutes"),
            (sources["changed"], "an engineering survey"),
            (sources["gone"], "a press release"),
            (sources["dropped"], "a 2019 traffic study"),
            (sources["unarchived"], "an unarchived report"),
        ],
    }
    site.page(
        PATH,
        lambda: article(
            story["title"], story["paragraphs"], links=story["links"], author=story["author"]
        ),
    )
    url = site.url(PATH)
    archive.add([url])
    # v2: headline, words in two sentences, a sentence out and one in; one citation out, two in.
    story["title"] = "City closes old bridge for two years of repairs"
    story["paragraphs"] = [
        "The city closed the old bridge on Tuesday after engineers found deep cracks in its deck.",
        "Local shops near the bridge said they had already lost half their customers.",
        HOSTILE_SENTENCE,
        PARAGRAPHS[3],
    ]
    story["links"] = [link for link in story["links"] if link[0] != sources["dropped"]]
    story["links"] += [(sources["new"], HOSTILE_ANCHOR), (sources["long"], "a long link")]
    archive.snapshot(all_pages=True)
    # Then a source is edited and another deleted; the article stays as it was.
    survey["lines"] = [
        "The survey rated the bridge deck as critical.",
        "Repairs were estimated to take two years.",
    ]
    site.routes.pop("/sources/gone")
    archive.snapshot(all_pages=True)
    # v3: only the byline changes.
    story["author"] = "Omar Ali"
    archive.snapshot(all_pages=True)
    site.stop()
    yield Bridge(archive, url, sources, tmp_path_factory.mktemp("reports"))


def tree(page: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(page)


def texts(root: lxml_html.HtmlElement, xpath: str) -> list[str]:
    return [" ".join(e.text_content().split()) for e in root.xpath(xpath)]


def version_log(bridge: Bridge) -> list[dict]:
    result = userview.run(bridge.archive.root, "log", bridge.url, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- structure ---------------------------------------------------------------------------------


def test_history_has_three_versions(bridge):
    assert [(v["version"], v["kind"]) for v in version_log(bridge)] == [
        (1, "new"),
        (2, "edited"),
        (3, "edited"),
    ]


def test_report_is_self_contained_and_loads_nothing(bridge):
    page = bridge.report("1", "2")
    root = tree(page)
    assert page.startswith("<!DOCTYPE html>")
    assert root.xpath("//style") and not root.xpath(
        "//script | //link | //img | //iframe | //object | //embed"
    )
    assert not root.xpath("//*[@src]") and not re.search(r"url\(", root.xpath("string(//style)"))
    assert root.xpath("//meta[@name='viewport']")
    csp = root.xpath("string(//meta[@http-equiv='Content-Security-Policy']/@content)")
    assert "default-src 'none'" in csp and "script-src" not in csp
    hrefs = root.xpath("//a/@href")
    assert hrefs and all(h.startswith(("http://", "https://", "#")) for h in hrefs)


def test_report_sections_mark_the_changed_words(bridge):
    root = tree(bridge.report("1", "2"))
    for section in ("headline", "byline", "body", "citations", "timeline", "evidence"):
        assert root.xpath(f"//section[@id='{section}']"), section

    assert texts(root, "//section[@id='headline']//ins") == ["for two years of repairs"]
    assert texts(root, "//section[@id='headline']//del") == []
    body_del = texts(root, "//section[@id='body']//del")
    body_ins = texts(root, "//section[@id='body']//ins")
    # Word level inside changed sentences: only the words that changed are marked.
    assert "Monday" in body_del and "Tuesday" in body_ins and "deep" in body_ins
    assert "feared losing customers during the closure." in body_del
    assert "had already lost half their customers." in body_ins
    # Whole sentences out and in.
    assert "Officials said the bridge would stay closed for at least a year." in body_del
    assert "Commuters were told to use the north crossing." in body_del
    assert any(t.startswith('A resident wrote <script>alert("pwned")</script>') for t in body_ins)
    # Unchanged text is shown, unmarked.
    body = root.xpath("//section[@id='body']")[0]
    assert PARAGRAPHS[3] in " ".join(body.text_content().split())
    assert not any(PARAGRAPHS[3] in t for t in body_del + body_ins)
    # Every body change has an anchor the summary links to.
    jumps = root.xpath("//nav//a[starts-with(@href, '#change-')]/@href")
    assert jumps and all(root.xpath(f"//*[@id='{h[1:]}']") for h in jumps)
    assert "headline changed" in root.xpath("string(//p[@class='summary'])")


def test_byline_change_is_the_default_pair(bridge):
    root = tree(bridge.report())
    assert texts(root, "//section[@id='byline']//del") == ["Jane Doe"]
    assert texts(root, "//section[@id='byline']//ins") == ["Omar Ali"]
    assert texts(root, "//section[@id='body']//del | //section[@id='body']//ins") == []
    assert "byline changed" in root.xpath("string(//p[@class='summary'])")


def status_of(root: lxml_html.HtmlElement) -> dict[str, tuple[str, str, str]]:
    """Each citation's URL: (status shown, change between the versions, how the reference is
    marked)."""
    out = {}
    for item in root.xpath("//section[@id='citations']//li"):
        url = " ".join(item.xpath("string(.//*[contains(@class, 'url')])").split())
        marked = "ins" if item.xpath(".//ins") else "del" if item.xpath(".//del") else ""
        out[url] = (
            item.xpath("string(.//*[contains(@class, 'badge')])"),
            item.get("data-change"),
            marked,
        )
    return out


def test_citation_status_alive_changed_gone_not_archived(bridge):
    sources = bridge.sources
    statuses = status_of(tree(bridge.report("1", "2")))
    assert statuses == {
        sources["alive"]: ("alive", "kept", ""),
        sources["changed"]: ("changed", "kept", ""),  # edited after v2 cited it
        sources["gone"]: ("gone", "kept", ""),
        sources["unarchived"]: ("not archived", "kept", ""),  # excluded by sources.exclude
        sources["new"]: ("alive", "added", "ins"),
        sources["long"]: ("alive", "added", "ins"),
        sources["dropped"]: ("alive", "removed", "del"),
    }
    # v3 was captured after the survey's edit: it cites the edited survey, which has not changed
    # since.
    later = status_of(tree(bridge.report()))
    assert later[sources["changed"]][0] == "alive" and later[sources["gone"]][0] == "gone"


def test_citation_details_say_when(bridge):
    root = tree(bridge.report("1", "2"))
    [gone] = root.xpath("//li[@data-status='gone']")
    assert "gone since" in gone.text_content() and "HTTP 404" in gone.text_content()
    [changed] = root.xpath("//li[@data-status='changed']")
    assert "1 newer version since cited" in " ".join(changed.text_content().split())


def test_timeline_highlights_the_compared_versions(bridge):
    commits = [v["commit"] for v in version_log(bridge)]

    def marks(page: str) -> list[tuple[str, str]]:
        return [
            (li.get("id"), " ".join(li.xpath("string(.//*[@class='mark'])").split()))
            for li in tree(page).xpath("//ol[@class='timeline']/li")
        ]

    assert marks(bridge.report()) == [("v1", ""), ("v2", "compared: from"), ("v3", "compared: to")]
    # FROM and TO take the forms `diff` takes: a commit, a negative number.
    assert marks(bridge.report(commits[0][:10], "-1")) == [
        ("v1", "compared: from"),
        ("v2", ""),
        ("v3", "compared: to"),
    ]
    root = tree(bridge.report("1", "2"))
    [v2] = root.xpath("//li[@id='v2']")
    assert commits[1][:10] in v2.text_content() and "edited" in v2.text_content()
    assert "headline changed" in v2.text_content()


def test_evidence_names_the_warc_records(bridge):
    root = tree(bridge.report("1", "2"))
    cards = root.xpath("//section[@id='evidence']//article")
    assert len(cards) == 2
    for card, number in zip(cards, (1, 2), strict=True):
        meta = json.loads(
            git(
                bridge.archive.root,
                "show",
                f"{version_log(bridge)[number - 1]['commit']}:"
                f"{bridge.archive.history(bridge.url).folder}/meta.json",
            )
        )
        text = card.text_content()
        assert meta["warc"]["record_id"] in text and meta["warc"]["file"] in text
        assert f"warcio extract {meta['warc']['file']} {meta['warc']['offset']}" in text


def test_diff_html_writes_the_same_report(bridge, tmp_path):
    target = tmp_path / "diff.html"
    result = run_cli(
        "diff", bridge.url, "1", "2", "--html", str(target), "--archive", str(bridge.archive.root)
    )
    assert result.returncode == 0, result.stderr

    def stable(page: str) -> str:  # all but the time it was generated
        return re.sub(r"Generated \S+", "", page)

    assert stable(target.read_text(encoding="utf-8")) == stable(bridge.report("1", "2"))


def test_report_errors_are_usage_errors(bridge, tmp_path):
    root = str(bridge.archive.root)
    missing = run_cli("report", bridge.url, "9", "-o", str(tmp_path / "x.html"), "--archive", root)
    assert missing.returncode == 2 and "no version 9" in missing.stderr
    assert not (tmp_path / "x.html").exists()
    (tmp_path / "x.html").write_text("a file, not a folder")
    unwritable = run_cli(
        "report", bridge.url, "-o", str(tmp_path / "x.html" / "y.html"), "--archive", root
    )
    assert unwritable.returncode == 2 and unwritable.stderr.startswith(
        "archiver: error: cannot write"
    )


# -- hostile input -----------------------------------------------------------------------------


def test_hostile_text_from_the_page_stays_text(bridge):
    page = bridge.report("1", "2")
    root = tree(page)
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;the new budget" in page
    assert not root.xpath("//script | //img")
    assert not [a for e in root.iter() for a in e.attrib if a.lower().startswith("on")]
    anchors = texts(root, "//section[@id='citations']//*[contains(@class, 'anchor')]")
    assert '"><img src=x onerror=alert(1)>the new budget' in anchors


def version(number: int, kind: str = "edited", **fields: object) -> Version:
    meta = {
        "captured_at": f"2026-11-2{number}T10:00:00+00:00",
        "kind": kind,
        "status": 200,
        "final_url": fields.pop("final_url", "https://news.example/a"),
        "summary": str(fields.pop("summary", "")),
        **fields,
    }
    return Version("", number, f"{number:040x}", meta)


def test_render_never_links_anything_but_http():
    old_text = '# The plain headline\n\nA sentence "quoted" & <b>bold</b>.\n'
    new_text = "# The plain headline \"><svg onload=alert(1)>\n\nA sentence 'quoted' & <i>it</i>.\n"
    hostile = [
        CitedSource("javascript:alert(1)", "<b>click</b>", "added", "not archived"),
        CitedSource('https://ok.example/"><script>x</script>', "fine", "kept", "not archived"),
    ]
    old, new = (
        version(1, "new"),
        version(2, final_url="javascript:alert(2)", summary="<i>summary</i>"),
    )
    page = render(
        ReportData(
            url="https://news.example/a?q=<x>",
            folder="pages/news.example/a",
            versions=[old, new],
            old=old,
            new=new,
            old_text=old_text,
            new_text=new_text,
            comparison=compare(old_text, new_text),
            citations=hostile,
            generated_at=datetime(2026, 11, 24, tzinfo=UTC),
            software="archiver test",
        )
    )
    root = tree(page)
    assert not root.xpath("//script | //svg | //b | //i")
    assert all(h.startswith(("https://", "#")) for h in root.xpath("//a/@href"))
    assert 'href="https://ok.example/&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in page
    assert "javascript:alert(2)" in root.text_content()  # shown as text, not as a link
    assert texts(root, "//section[@id='headline']//ins") == ['"><svg onload=alert(1)>']


# -- rendering in a real browser ------------------------------------------------------------------

# Measures, inside the report, every <ins> and <del>, the URLs and the page width, and hands the
# numbers to the page around it (a srcdoc frame shares its origin).
PROBE = """<script>
addEventListener("load", () => {
  const width = window.innerWidth;
  const marks = [...document.querySelectorAll("ins, del")].map((e) => {
    const r = e.getBoundingClientRect();
    const style = getComputedStyle(e);
    return {tag: e.tagName.toLowerCase(), text: e.textContent, left: r.left, right: r.right,
            width: r.width, height: r.height, decoration: style.textDecorationLine,
            visible: style.visibility === "visible" && style.display !== "none" && parseFloat(style.opacity) > 0};
  });
  const urls = [...document.querySelectorAll(".url")].map((e) => e.getBoundingClientRect().right);
  const out = {width, scrollWidth: document.documentElement.scrollWidth, marks, urls};
  parent.document.getElementById("probe").textContent = JSON.stringify(out);
});
</script>"""


def dump_dom(page: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    browser = chromium()
    if browser is None:
        pytest.skip(
            "no Chromium binary found (install Debian's `chromium`): this test renders the report "
            "in it"
        )
    return subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--window-size=1400,1000",
            "--virtual-time-budget=2000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("width", [390, 1280])
def test_changes_are_visible_and_marked_in_chromium(bridge, tmp_path, width):
    page = bridge.report("1", "2")
    # The report's own policy forbids scripts; the copy under test drops it to let the probe
    # measure.
    probed = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page).replace(
        "</body>", PROBE + "</body>"
    )
    # Headless Chromium will not make a window narrower than 500 px: a frame of the width under test
    # is the report's viewport instead (its media queries and layout see exactly that width).
    host = tmp_path / "host.html"
    host.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><pre id="probe"></pre><iframe title="report" '
        f'style="border:0;display:block;width:{width}px;height:900px" srcdoc="{escape(probed)}">'
        "</iframe></body></html>",
        encoding="utf-8",
    )
    result = dump_dom(host, tmp_path / "profile")
    found = tree(result.stdout).xpath("string(//pre[@id='probe'])")
    assert found, result.stderr[-2000:]
    probe = json.loads(found)

    assert probe["width"] == width
    assert (
        probe["scrollWidth"] <= probe["width"]
    )  # no horizontal scrolling, long URLs and words included
    assert probe["urls"] and all(right <= width for right in probe["urls"])
    marks = probe["marks"]
    assert len(marks) >= 10
    for mark in marks:
        assert mark["visible"] and mark["width"] > 0 and mark["height"] > 0, mark
        assert mark["left"] >= 0 and mark["right"] <= width, mark
        assert ("line-through" if mark["tag"] == "del" else "underline") in mark["decoration"], mark
    shown = {(m["tag"], " ".join(m["text"].split())) for m in marks}
    for expected in [
        ("del", "Monday"),
        ("ins", "Tuesday"),
        ("ins", "deep"),
        ("ins", "for two years of repairs"),
        ("del", "Officials said the bridge would stay closed for at least a year."),
    ]:
        assert expected in shown
