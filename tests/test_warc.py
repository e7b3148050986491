"""The WARC evidence: warcio reads back exactly what the server sent, and `warcio check` passes."""

from __future__ import annotations

import base64
import gzip
import io
import json
import zlib
from hashlib import sha1
from pathlib import Path

from support.newssite import Response, article
from support.warcs import records, warcio_check
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader

from archiver import Archive
from archiver.urls import page_dir

HTML = article(
    "Exact bytes",
    [
        "Every byte of this page must come back from the WARC exactly as it was sent.",
        "That is the point of keeping evidence rather than only the extracted text.",
    ],
    noise=False,
).encode("utf-8")


def the_warc(archive: Archive) -> Path:
    [path] = [p for p in (archive.root / "warcs").rglob("*.warc.gz")]
    return path


def test_warc_structure_and_warcio_check(site, archive):
    site.routes["/plain"] = Response(
        body=HTML, headers=[("Set-Cookie", "a=1"), ("X-Custom", "MiXeD"), ("set-cookie", "b=2")]
    )
    archive.add([site.url("/plain")])
    path = the_warc(archive)

    assert path.parent.relative_to(archive.root).parts[0] == "warcs"
    assert path.name.startswith("archiver-") and path.name.endswith("-00000.warc.gz")
    check = warcio_check(path)
    assert check.returncode == 0, check.stdout + check.stderr

    recs = records(path)
    assert [r.type for r in recs] == ["warcinfo", "response", "request", "metadata"]
    assert all(r.warc.protocol == "WARC/1.1" for r in recs)
    info = recs[0].payload.decode()
    assert "software: archiver/" in info and "trafilatura" in info
    user_agent = recs[2].http.get_header("User-Agent")
    assert f"http-header-user-agent: {user_agent}\r\n" in info and "robots: obey\r\n" in info
    assert "operator:" not in info  # none set: none written
    info_id = recs[0].warc.get_header("WARC-Record-ID")
    assert all(r.warc.get_header("WARC-Warcinfo-ID") == info_id for r in recs[1:])
    response, request, metadata = recs[1], recs[2], recs[3]
    assert request.warc.get_header("WARC-Concurrent-To") == response.warc.get_header(
        "WARC-Record-ID"
    )
    assert response.warc.get_header("WARC-Block-Digest").startswith("sha1:")
    assert response.warc.get_header("WARC-IP-Address") == "127.0.0.1"
    assert request.http.protocol == "GET" and request.http.get_header("User-Agent").startswith(
        "archiver/"
    )
    # Headers as received: order, case and duplicates preserved.
    names = [k for k, _ in response.http.headers]
    assert names.index("Set-Cookie") < names.index("X-Custom") < names.index("set-cookie")
    assert response.http.get_header("X-Custom") == "MiXeD"
    assert metadata.warc.get_header("WARC-Target-URI") == "urn:archiver:metadata:" + site.url(
        "/plain"
    )
    assert metadata.warc.get_header("WARC-Date") == response.warc.get_header("WARC-Date")
    assert metadata.warc.get_header("WARC-Refers-To") == response.warc.get_header("WARC-Record-ID")
    assert b"extractor: trafilatura " in metadata.payload


def test_the_operator_set_is_named_in_the_warcinfo(site, archive):
    toml = archive.root / "archiver.toml"
    toml.write_text(
        toml.read_text().replace('operator = ""', 'operator = "Harbour Desk <archive@example.org>"')
    )
    site.routes["/plain"] = Response(body=HTML)
    Archive.open(archive.root).add([site.url("/plain")])
    assert (
        b"operator: Harbour Desk <archive@example.org>\r\n" in records(the_warc(archive))[0].payload
    )


def test_exact_bytes_of_a_gzip_encoded_response(site, archive):
    compressed = gzip.compress(HTML, mtime=0)
    site.routes["/gz"] = Response(body=compressed, headers=[("Content-Encoding", "gzip")])
    archive.add([site.url("/gz")])

    [response] = [r for r in records(the_warc(archive)) if r.type == "response"]
    assert response.payload == compressed  # the bytes on the wire
    assert response.http.get_header("Content-Encoding") == "gzip"
    assert gzip.decompress(response.payload) == HTML
    with the_warc(archive).open("rb") as f:  # warcio's decoded view gives the page itself
        decoded = (
            next(r for r in ArchiveIterator(f) if r.rec_type == "response").content_stream().read()
        )
    assert decoded == HTML
    assert warcio_check(the_warc(archive)).returncode == 0


def test_exact_bytes_of_a_chunked_response(site, archive):
    site.routes["/chunked"] = Response(body=HTML, chunked=True)
    archive.add([site.url("/chunked")])

    [response] = [r for r in records(the_warc(archive)) if r.type == "response"]
    assert (
        response.http.get_header("Transfer-Encoding") == "chunked"
    )  # stored as it came, framing and all
    assert response.payload != HTML and response.payload.endswith(b"\r\n0\r\n\r\n")
    assert ChunkedDataReader(io.BytesIO(response.payload), raise_exceptions=True).read() == HTML
    # WARC 1.1: the payload is the body with the transfer coding removed, and so is its digest.
    # `warcio check` digests the chunked bytes instead: it disagrees on that record alone, the block
    # digest passes.
    expected = "sha1:" + base64.b32encode(sha1(HTML).digest()).decode()
    assert response.warc.get_header("WARC-Payload-Digest") == expected
    report = warcio_check(the_warc(archive)).stdout
    assert report.count("payload digest failed") == 1 and "block digest failed" not in report


def test_deflate_response_is_kept_as_sent_and_extracted(site, archive):
    compressed = zlib.compress(HTML)
    site.routes["/deflate"] = Response(body=compressed, headers=[("Content-Encoding", "deflate")])
    archive.add([site.url("/deflate")])

    [response] = [r for r in records(the_warc(archive)) if r.type == "response"]
    assert response.payload == compressed
    text = (archive.root / page_dir(site.url("/deflate")) / "article.md").read_text()
    assert "Every byte of this page must come back from the WARC exactly as it was sent." in text


def test_meta_points_at_the_response_record(site, archive):
    site.routes["/a"] = Response(body=HTML)
    site.routes["/b"] = Response(body=HTML.replace(b"Exact bytes", b"Other bytes"))
    archive.add([site.url("/a"), site.url("/b")])

    for path in ("/a", "/b"):
        meta = json.loads((archive.root / page_dir(site.url(path)) / "meta.json").read_text())
        ref = meta["warc"]
        with (archive.root / ref["file"]).open("rb") as f:
            f.seek(ref["offset"])
            record = next(iter(ArchiveIterator(f)))
            assert record.rec_headers.get_header("WARC-Record-ID") == ref["record_id"]
            assert record.rec_headers.get_header("WARC-Target-URI") == site.url(path)
            assert record.rec_headers.get_header("WARC-Payload-Digest") == ref["payload_digest"]
            assert record.raw_stream.read() == site.routes[path].body


def test_redirect_hops_each_have_a_response_record(site, archive):
    site.routes["/final"] = Response(body=HTML)
    site.redirect("/start", "/final", status=301)
    archive.add([site.url("/start")])

    responses = [r for r in records(the_warc(archive)) if r.type == "response"]
    assert [(r.warc.get_header("WARC-Target-URI"), r.http.get_statuscode()) for r in responses] == [
        (site.url("/start"), "301"),
        (site.url("/final"), "200"),
    ]
    assert responses[0].http.get_header("Location") == "/final"


def test_truncated_body_is_marked(site, archive, tmp_path):
    big = HTML + b"<!--" + b"x" * 300_000 + b"-->"
    site.routes["/big"] = Response(body=big)
    (archive.root / "archiver.toml").write_text("[fetch]\nmax_body_bytes = 100000\n")
    archive = Archive.open(archive.root)
    archive.add([site.url("/big")])

    [response] = [r for r in records(the_warc(archive)) if r.type == "response"]
    assert response.warc.get_header("WARC-Truncated") == "length"
    assert response.payload == big[:100_000]
    meta = json.loads((archive.root / page_dir(site.url("/big")) / "meta.json").read_text())
    assert meta["truncated"] == "length"
    assert warcio_check(the_warc(archive)).returncode == 0
