"""Cited sources: what an article cites in its body is archived as pages of their own, with
history."""

from __future__ import annotations

import json

from support.archives import meta
from support.commands import git, run_cli
from support.newssite import Response, Site, article, pdf
from support.userview import run

from archiver import Archive
from archiver.urls import page_dir

INTRO = [
    "The health ministry published new figures on hospital waiting times on Thursday morning.",
    "Patients in the north waited twice as long as those in the capital, the figures show.",
]


def cite(href: str, text: str) -> str:
    return f'The claim rests on <a href="{href}">{text}</a>, which officials disputed.'


def serve_sources(site: Site, other: Site) -> dict[str, str]:
    other.routes["/reports/waiting-times.pdf"] = Response(
        body=pdf(
            ["Waiting times report 2026.", "Median wait rose to 14 weeks. Regional gaps widened."],
            title="Waiting times report",
        ),
        content_type="application/pdf",
    )
    other.page(
        "/statement",
        lambda: article(
            "Ministry statement on waiting times",
            [
                "The ministry said the figures reflect a temporary backlog after the winter season.",
                "It promised additional funding for regional hospitals over the next two years.",
                f'Details are in <a href="{other.url("/annex")}">the annex</a> published separately.',
            ],
        ),
    )
    other.redirect("/old-press-release", "/press/2026/waiting-times", status=301)
    other.page(
        "/press/2026/waiting-times",
        lambda: article(
            "Press release: waiting times",
            [
                "The press office released a summary of the waiting time figures for journalists.",
                "The summary repeats the ministry's commitment to reduce waiting times by next year.",
            ],
        ),
    )
    other.page(
        "/annex",
        lambda: article(
            "Annex to the statement",
            ["The annex lists hospital by hospital figures for the last twelve months of data."],
        ),
    )
    return {
        "pdf": other.url("/reports/waiting-times.pdf"),
        "statement": other.url("/statement"),
        "moved": other.url("/old-press-release"),
        "missing": site.url("/data/removed-table"),
        "relative": site.url("/analysis/background"),
    }


def first_article(
    site: Site, other: Site, sources: dict[str, str], drop: str = "", extra: str = ""
) -> str:
    body = [
        *INTRO,
        cite(sources["pdf"], "the official report"),
        cite(
            sources["statement"] + "?utm_source=newsletter&utm_medium=email", "a ministry statement"
        ),
        cite(sources["moved"], "the press release"),
        cite("/data/removed-table", "a data table"),
        cite("../analysis/background#section-2", "our background analysis"),
        cite(sources["statement"], "the same statement again"),
        'Share this on <a href="https://www.facebook.com/sharer/sharer.php?u=x">Facebook</a> or '
        '<a href="https://twitter.com/intent/tweet?text=x">X</a>, write to '
        '<a href="mailto:desk@example.com">the desk</a>, <a href="javascript:void(0)">print</a>, '
        '<a href="#top">go to the top</a> or <a href="#comments">comment</a> on this article.',
    ]
    body = [p for p in body if not (drop and drop in p)] + ([extra] if extra else [])
    site.page("/health/waiting-times", lambda: article("Waiting times double in the north", body))
    return site.url("/health/waiting-times")


def test_article_sources_are_archived_once_with_their_own_pages(site, other, archive):
    sources = serve_sources(site, other)
    site.page(
        "/analysis/background",
        lambda: article(
            "Background: how waiting times are measured",
            [
                "Waiting times are measured from referral to the start of treatment in every region.",
                "The method changed in 2024, which makes comparisons with earlier years difficult.",
            ],
        ),
    )
    url = first_article(site, other, sources)
    second = site.url("/health/reaction")
    site.page(
        "/health/reaction",
        lambda: article(
            "Doctors react to waiting time figures",
            [
                "Doctors' unions said the figures confirm what their members see every day in clinics.",
                cite(sources["statement"], "the ministry's statement"),
                cite(sources["pdf"], "the report"),
            ],
        ),
    )

    _, summary = archive.add([url, second])

    links = (archive.root / page_dir(url) / "links.txt").read_text().splitlines()
    assert links == [
        f"{sources['pdf']}\tthe official report",
        f"{sources['statement']}\ta ministry statement",
        f"{sources['moved']}\tthe press release",
        f"{sources['missing']}\ta data table",
        f"{sources['relative']}\tour background analysis",
    ]
    by_url = {r.url: r for r in summary.results}
    assert {u: (by_url[u].role, by_url[u].outcome) for u in sources.values()} == {
        sources["pdf"]: ("source", "new"),
        sources["statement"]: ("source", "new"),
        sources["moved"]: ("source", "new"),
        sources["missing"]: ("source", "gone"),
        sources["relative"]: ("source", "new"),
    }
    assert (by_url[url].role, by_url[second].role) == ("article", "article")
    # Cited by both articles, fetched once; the sources' own citations are depth 2, not followed.
    assert other.hits["/statement"] == 1 and other.hits["/reports/waiting-times.pdf"] == 1
    assert other.hits["/annex"] == 0
    # Navigation, sidebar, footer, share and comment links are not sources.
    followed = set(site.hits) | set(other.hits)
    for path in ("/", "/politics", "/world", "/about", "/privacy", "/#comments", "/comments"):
        assert path not in followed
    assert not [p for p in followed if p.startswith("/trend/")]

    pdf_meta = meta(archive.root, sources["pdf"])
    assert pdf_meta["role"] == "source" and pdf_meta["content_type"] == "application/pdf"
    assert pdf_meta["cited_by"] == sorted([url, second])
    pdf_text = (archive.root / page_dir(sources["pdf"]) / "article.md").read_text()
    assert pdf_text == (
        "# Waiting times report\n\nWaiting times report 2026.\n"
        "Median wait rose to 14 weeks.\nRegional gaps widened.\n"
    )
    moved = meta(archive.root, sources["moved"])
    assert (
        moved["final_url"] == other.url("/press/2026/waiting-times")
        and moved["redirects"][0]["status"] == 301
    )
    assert meta(archive.root, sources["missing"])["status"] == 404
    assert not (archive.root / page_dir(sources["missing"]) / "article.md").exists()
    assert sources["statement"] not in (archive.root / "urls.txt").read_text()
    message = git(archive.root, "log", "-1", "--format=%B")
    assert f"new source: {sources['pdf']}" in message and f"new: {url}" in message

    # The original href, tracking parameters and all, is kept in the WARC metadata record.
    from warcio.archiveiterator import ArchiveIterator

    with (archive.root / summary.warc).open("rb") as f:
        outlinks = next(
            r.raw_stream.read().decode()
            for r in ArchiveIterator(f)
            if r.rec_type == "metadata"
            and r.rec_headers.get_header("WARC-Target-URI") == f"urn:archiver:metadata:{url}"
        )
    assert (
        f"outlink: {sources['statement']} {sources['statement']}?utm_source=newsletter" in outlinks
    )
    assert f"outlink: {sources['relative']} ../analysis/background#section-2" in outlinks


def test_citation_edit_shows_in_links_diff_and_new_source_is_archived(site, other, archive):
    sources = serve_sources(site, other)
    site.page(
        "/analysis/background",
        lambda: article("Background", ["Background text that is long enough."]),
    )
    url = first_article(site, other, sources)
    archive.add([url])
    other.page(
        "/new-study",
        lambda: article(
            "New study on regional hospitals",
            [
                "A new study compares regional hospitals across the country over ten years of records.",
                "It finds staff shortages explain most of the difference in waiting times.",
            ],
        ),
    )

    first_article(
        site,
        other,
        sources,
        drop="the press release",
        extra=cite(other.url("/new-study"), "a new study"),
    )
    summary = archive.snapshot(all_pages=True)

    by_url = {r.url: r.outcome for r in summary.results}
    assert by_url[url] == "changed" and by_url[other.url("/new-study")] == "new"
    assert (
        by_url[sources["moved"]] == "unchanged"
    )  # no longer cited: still a known source, its history stays
    assert (archive.root / page_dir(sources["moved"]) / "meta.json").exists()
    rel = page_dir(url).as_posix()
    diff = git(archive.root, "diff", "-U0", "HEAD~1", "HEAD", "--", f"{rel}/links.txt").splitlines()
    changes = [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changes == [
        f"-{sources['moved']}\tthe press release",
        f"+{other.url('/new-study')}\ta new study",
    ]
    assert by_url[sources["statement"]] == "unchanged"


def test_list_sources_and_cited_by(site, other, archive):
    sources = serve_sources(site, other)
    site.page(
        "/analysis/background",
        lambda: article("Background", ["Background text that is long enough."]),
    )
    url = first_article(site, other, sources)
    archive.add([url])

    tracked = run(archive.root, "list", "--json")
    assert [p["url"] for p in json.loads(tracked.stdout)] == [url]
    everything = json.loads(run(archive.root, "list", "--sources", "--json").stdout)
    assert {p["url"] for p in everything} == {url, *sources.values()}
    assert {p["role"] for p in everything if p["url"] != url} == {"source"}

    cited = json.loads(run(archive.root, "list", "--cited-by", url, "--json").stdout)
    assert [(p["url"], p["status"]) for p in cited] == [
        (sources["pdf"], "200"),
        (sources["statement"], "200"),
        (sources["moved"], "200"),
        (sources["missing"], "404"),
        (sources["relative"], "200"),
    ]
    plain = run_cli("list", "--cited-by", url, "-a", str(archive.root)).stdout.splitlines()
    assert plain[3].split("\t")[0] == "404" and plain[3].endswith(sources["missing"])


def test_private_addresses_are_not_fetched_by_default(site, other, tmp_path):
    sources = serve_sources(site, other)
    url = first_article(site, other, sources)
    root = tmp_path / "default"

    result = run(root, "add", url, "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    skipped = {r["url"]: r["error"] for r in data["results"] if r["outcome"] == "skipped"}
    # The origin the user named for the tracked article (scheme, host, port) is the user's choice,
    # sources on it included; every other private origin is refused.
    assert set(skipped) == {u for u in sources.values() if u.startswith(other.url("/"))}
    assert "non-public address 127.0.0.2" in skipped[sources["pdf"]]
    assert site.hits["/health/waiting-times"] == 1 and site.hits["/data/removed-table"] == 1
    assert not other.hits
    assert not (root / page_dir(sources["pdf"])).exists()


def test_redirect_to_a_private_address_is_refused(site, other, tmp_path):
    # The first hop is on the tracked article's own origin, which the user named; the second is
    # private.
    site.redirect("/out", other.url("/statement"))
    serve_sources(site, other)
    site.page("/story", lambda: article("Story", [*INTRO, cite("/out", "a redirecting link")]))
    root = tmp_path / "arc"
    data = json.loads(run(root, "add", site.url("/story"), "--json").stdout)
    [source] = [r for r in data["results"] if r["role"] == "source"]
    assert source["outcome"] == "skipped" and "non-public address 127.0.0.2" in source["error"]
    assert site.hits["/out"] == 1 and not other.hits


def test_scope_controls(site, other, archive):
    sources = serve_sources(site, other)
    url = first_article(site, other, sources)
    toml = archive.root / "archiver.toml"
    toml.write_text(
        toml.read_text()
        .replace("exclude = []", 'exclude = ["\\\\.pdf$"]')
        .replace("other_hosts = true", "other_hosts = false")
    )
    archive = Archive.open(archive.root)

    _, summary = archive.add([url])

    fetched = {r.url for r in summary.results if r.role == "source"}
    assert fetched == {sources["missing"], sources["relative"]}  # same host only, no PDFs
    assert not other.hits

    toml.write_text(
        toml.read_text()
        .replace("other_hosts = false", "other_hosts = true")
        .replace("max_per_article = 100", "max_per_article = 2")
    )
    summary = Archive.open(archive.root).snapshot(all_pages=True)
    cited_now = {
        r.url
        for r in summary.results
        if r.role == "source"
        and r.depth == 1
        and url
        in json.loads((archive.root / r.folder / "meta.json").read_text()).get("cited_by", [])
    }
    assert {
        sources["statement"],
        sources["moved"],
    } <= cited_now  # the first two in order of citation
    assert sources["pdf"] not in {r.url for r in summary.results}  # still excluded by pattern


def test_depth_options(site, other, archive):
    sources = serve_sources(site, other)
    url = first_article(site, other, sources)

    _, summary = archive.add([url], depth=0)
    assert [r.url for r in summary.results] == [url] and not other.hits

    summary = archive.snapshot(depth=2, all_pages=True)
    assert other.hits["/annex"] == 1
    [annex] = [r for r in summary.results if r.url == other.url("/annex")]
    assert (annex.depth, annex.role, annex.outcome) == (2, "source", "new")
    assert meta(archive.root, other.url("/annex"))["cited_by"] == [sources["statement"]]

    result = run(archive.root, "snapshot", "--all", "--no-sources", "--json")
    assert [r["url"] for r in json.loads(result.stdout)["results"]] == [url]


def test_a_tracked_article_cited_by_another_keeps_its_article_role(site, other, archive):
    site.page(
        "/a",
        lambda: article("First article on the harbour", [*INTRO, cite("/b", "our earlier story")]),
    )
    site.page("/b", lambda: article("Earlier article on the harbour", INTRO))
    archive.add([site.url("/b")])
    _, summary = archive.add([site.url("/a")])
    assert site.hits["/b"] == 2
    kept = meta(archive.root, site.url("/b"))
    assert kept["role"] == "article" and kept["cited_by"] == [site.url("/a")]
    assert [r.outcome for r in summary.results] == ["new", "unchanged"]
    assert git(archive.root, "status", "--porcelain") == ""


def test_binary_source_kept_without_text(site, other, archive):
    other.routes["/photo.jpg"] = Response(
        body=b"\xff\xd8\xff\xe0" + bytes(5000), content_type="image/jpeg"
    )
    site.page(
        "/story",
        lambda: article(
            "Story with a photo source", [*INTRO, cite(other.url("/photo.jpg"), "photo")]
        ),
    )
    archive.add([site.url("/story")])
    folder = archive.root / page_dir(other.url("/photo.jpg"))
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json"]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["content_type"] == "image/jpeg" and meta["content_length"] == 5004


def test_sources_are_rechecked_with_their_article(site, other, archive):
    sources = serve_sources(site, other)
    url = first_article(site, other, sources)
    archive.add([url])
    other.page(
        "/statement",
        lambda: article(
            "Ministry statement on waiting times",
            [
                "The ministry said the figures reflect a temporary backlog after the winter season.",
                "It no longer promises additional funding for regional hospitals.",
            ],
        ),
    )

    summary = archive.snapshot(all_pages=True)

    by_url = {r.url: r.outcome for r in summary.results}
    assert by_url[url] == "unchanged" and by_url[sources["statement"]] == "changed"
    assert meta(archive.root, sources["statement"])["version"] == 2
    confirmed = sum(outcome == "unchanged" for outcome in by_url.values())
    subject = git(archive.root, "log", "-1", "--format=%s").strip()
    assert subject == f"archiver: 1 changed, {confirmed} confirmed unchanged"


def test_sources_skipped_by_policy_say_why_and_which_setting_and_come_back_when_allowed(
    tmp_path, site, other
):
    """A source on a private address is skipped by default; the run says so on one line that names
    the setting, and once it is set a plain snapshot archives the source."""
    other.page(
        "/reports/audit", article("The audit report", ["It found twelve unsigned payments."])
    )
    source = other.url("/reports/audit")
    site.page(
        "/news/audit", article("Audit finds gaps", ["The audit is out."], [(source, "audit")])
    )
    story = site.url("/news/audit")
    root = tmp_path / "arc"
    Archive.init(root)

    added = run_cli("add", story, "-a", str(root))
    assert added.returncode == 0 and "1 skipped" in added.stdout
    [note] = [line for line in added.stderr.splitlines() if line.startswith("archiver: note:")]
    assert f"skipped {source}: 127.0.0.2 resolves to non-public address 127.0.0.2" in note
    assert note.endswith("set `sources.allow_private = true` in archiver.toml")
    assert run_cli("-q", "snapshot", "-a", str(root)).stderr == ""  # cron is not told every run

    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("allow_private = false", "allow_private = true"))
    again = run(root, "snapshot")
    assert again.returncode == 0 and "1 new" in again.stdout, again.stdout
    assert (root / page_dir(source) / "article.md").exists()
