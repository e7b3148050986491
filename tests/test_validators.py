"""Conditional requests and revisits: a check sends the ETag and Last-Modified it kept, a 304 is
committed as a revisit apart from the versions (the article's sources still checked), and an
identical payload again is a revisit of the first record.
"""

from __future__ import annotations

import subprocess

import pytest
from support.archives import meta
from support.commands import git
from support.newssite import Response, article
from support.schedule import EDIT, EXE, STORY, files_under, outcomes, state_pages
from support.warcs import records, warcio_check
from warcio.archiveiterator import ArchiveIterator

ETAG = '"harbour-v1"'
LAST_MODIFIED = "Tue, 24 Nov 2026 10:00:00 GMT"


def conditional(body: bytes):
    """A page with validators that answers 304 (with its ETag only) when If-None-Match matches."""

    def serve(handler) -> Response:
        if handler.headers.get("If-None-Match") == ETAG:
            return Response(status=304, headers=[("ETag", ETAG)], content_type=None)
        return Response(body=body, headers=[("ETag", ETAG), ("Last-Modified", LAST_MODIFIED)])

    return serve


def test_not_modified_check_sends_validators_and_commits_a_revisit_apart_from_the_versions(
    archive, site
):
    site.routes["/news/harbour"] = conditional(
        article("Harbour dredging plan approved", STORY).encode()
    )
    url = site.url("/news/harbour")
    archive.add([url])
    assert "If-None-Match" not in site.requests[-1]
    row = state_pages(archive.root)[url]
    assert (row["etag"], row["last_modified"]) == (ETAG, LAST_MODIFIED)
    head, warcs = git(archive.root, "rev-parse", "HEAD"), files_under(archive.root, "warcs")
    record_id = meta(archive.root, url)["warc"]["record_id"]

    for check in (
        1,
        2,
    ):  # the 304 omits Last-Modified: the validators we hold are kept and sent again
        summary = archive.snapshot(all_pages=True)
        sent = site.requests[-1]
        assert (sent["If-None-Match"], sent["If-Modified-Since"]) == (ETAG, LAST_MODIFIED)
        assert (
            outcomes(summary) == {url: "unchanged"}
            and summary.warc is None
            and summary.confirmed == 1
        )
        assert [r.version for r in summary.results] == [1]

        # A commit of the run's checks WARC alone: no version, no main WARC.
        assert git(archive.root, "rev-parse", f"HEAD~{check}") == head
        assert git(archive.root, "show", "--name-only", "--format=", "HEAD").split() == [
            summary.checks
        ]
        assert (
            files_under(archive.root, "warcs") - files_under(archive.root, "warcs/checks") == warcs
        )
        assert git(archive.root, "status", "--porcelain", "--ignored=no") == ""
        checks = sorted((archive.root / "warcs" / "checks").glob("*/*/*.warc.gz"))
        assert len(checks) == check
        revisits = [(r.headers, r.http_status) for r in records(checks[-1]) if r.type == "revisit"]
        assert len(revisits) == 1
        headers, status = revisits[0]
        assert headers["WARC-Profile"].endswith("/revisit/server-not-modified") and status == "304"
        assert headers["WARC-Refers-To"] == record_id and headers["WARC-Target-URI"] == url
        verified = warcio_check(checks[-1])
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert state_pages(archive.root)[url]["last_outcome"] == "unchanged"


@pytest.mark.parametrize("explicit", [False, True], ids=["all", "url"])
def test_sources_of_a_not_modified_article_are_still_checked(archive, site, other, explicit):
    other.page("/reports/dredging", lambda: article("Dredging impact report", STORY[:2]))
    source = other.url("/reports/dredging")
    html = article(
        "Harbour dredging plan approved", STORY, links=[(source, "the impact report")], noise=False
    )
    site.routes["/news/harbour"] = conditional(html.encode())
    url = site.url("/news/harbour")
    archive.add([url])
    assert other.hits["/reports/dredging"] == 1
    summary = archive.snapshot([url]) if explicit else archive.snapshot(all_pages=True)
    assert outcomes(summary) == {url: "unchanged", source: "unchanged"}
    assert other.hits["/reports/dredging"] == 2


def test_an_identical_payload_again_is_a_revisit_of_the_first_record(archive, site):
    versions = [
        article("Harbour dredging plan approved", STORY, noise=False).encode(),
        article("Harbour dredging plan approved", [*STORY, EDIT], noise=False).encode(),
    ]
    served = [versions[0]]
    site.routes["/news/harbour"] = lambda handler: Response(body=served[0])
    url = site.url("/news/harbour")
    archive.add([url])
    first = meta(archive.root, url)["warc"]
    served[0] = versions[1]
    archive.snapshot(all_pages=True)
    served[0] = versions[0]
    summary = archive.snapshot(all_pages=True)
    assert outcomes(summary) == {url: "changed"} and summary.commit is not None

    third = meta(archive.root, url)
    assert third["version"] == 3 and third["warc"]["refers_to"]["record_id"] == first["record_id"]
    warc = archive.root / third["warc"]["file"]
    assert third["warc"]["file"] in git(archive.root, "ls-files", "warcs")
    with warc.open("rb") as f:
        f.seek(third["warc"]["offset"])
        record = next(iter(ArchiveIterator(f)))
        assert record.rec_type == "revisit"
        assert record.rec_headers.get_header("WARC-Profile").endswith(
            "/revisit/identical-payload-digest"
        )
        assert record.rec_headers.get_header("WARC-Refers-To") == first["record_id"]
        assert record.rec_headers.get_header("WARC-Payload-Digest") == first["payload_digest"]
        assert record.content_stream().read() == b""  # the bytes are not stored twice
    verified = warcio_check(warc)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    for number, body in ((3, versions[0]), (2, versions[1]), (1, versions[0])):
        shown = subprocess.run(
            [str(EXE), "show", url, "--at", str(number), "--raw", "-a", str(archive.root)],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        assert shown.returncode == 0 and shown.stdout == body, number
