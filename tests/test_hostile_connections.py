"""Redirects and connections that break: a redirect loop or too many redirects fail with every hop
recorded, a connection reset or closed mid-body writes nothing and keeps the archived version, and a
self-signed certificate is a clear TLS error unless its host is allowed (`insecure_tls_hosts`,
validated).

Each test runs the real command (in-process through typer's runner, or as a subprocess where memory
is measured) against `support.hostile.Hostile` on loopback, and checks what a user sees: the outcome
in `--json`, the exit code, the files of the archive and the WARC records read back with warcio.
"""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path

import pytest
import trustme
from support.archives import article, configure, folder
from support.commands import git
from support.hostile import HTML_HEAD, MINUTES, Conn, Hostile, chunk, page
from support.userview import STORY, archiver, assert_nothing_written, redirect
from support.warcs import responses, responses_of_checks


@pytest.mark.parametrize("kind", ["loop", "too-many"])
def test_redirect_loop_and_too_many_redirects_fail_with_every_hop_recorded(server, root, kind):
    if kind == "loop":
        server.routes["/a"], server.routes["/b"] = (
            redirect("/b", "301 Moved Permanently"),
            redirect("/a"),
        )
        hops, error = ["/a", "/b"], "redirect loop at"
    else:
        for i in range(10):
            server.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
        configure(root, max_redirects=3)
        hops, error = ["/r0", "/r1", "/r2", "/r3"], "more than 3 redirects"
    url = server.url(hops[0])
    run = archiver(root, "add", url, "--json")
    assert run.code == 1
    result = run.result(url)
    assert result["outcome"] == "failed" and error in result["error"]
    assert_nothing_written(root, url)
    # The answers are evidence of the check: kept out of git, in .archiver/checks/, one record per
    # hop.
    hop_records = responses_of_checks(root)
    assert [r.uri for r in hop_records] == [server.url(h) for h in hops]
    assert all(r.http_status in ("301", "302") for r in hop_records)
    [listed] = json.loads(archiver(root, "list", "--json").stdout)
    assert listed["status"] == "failed" and error in listed["error"]


def reset_mid_body(conn: Conn) -> None:
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
        + HTML_HEAD
        + MINUTES
    )
    time.sleep(0.05)
    conn.reset()


def close_mid_length(conn: Conn) -> None:
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
        + HTML_HEAD
        + MINUTES
    )


def close_mid_chunked(conn: Conn) -> None:
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunk(HTML_HEAD)
        + chunk(MINUTES)
        + b"%x\r\n" % 5000
        + b"cut"
    )


BROKEN = {
    "reset-mid-body": reset_mid_body,
    "closed-mid-body": close_mid_length,
    "closed-mid-chunk": close_mid_chunked,
    "closed-without-answer": lambda conn: None,
    "reset-without-answer": lambda conn: conn.reset(),
    "garbage-status-line": lambda conn: conn.send(b"\x16\x03\x01 this is no HTTP\r\n\r\n"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_connection_fails_and_writes_nothing(server, root, case):
    server.routes["/broken"] = BROKEN[case]
    url = server.url("/broken")
    run = archiver(root, "add", url, "--json")
    assert run.code == 1
    result = run.result(url)
    assert result["outcome"] == "failed" and result["error"]
    assert_nothing_written(root, url)
    assert responses_of_checks(root) == []  # no answer came: no evidence of one either


def test_broken_recheck_keeps_the_archived_version_intact(server, root):
    server.answer("/story", page("Terminal approved", STORY).encode())
    url = server.url("/story")
    assert archiver(root, "add", url).code == 0
    before = {p.name: p.read_bytes() for p in folder(root, url).iterdir()}
    head = git(root, "rev-parse", "HEAD")
    warcs = sorted((root / "warcs").rglob("*.warc.gz"))
    server.routes["/story"] = reset_mid_body
    run = archiver(root, "snapshot", url, "--json")
    assert run.code == 1 and run.result(url)["outcome"] == "failed"
    assert {p.name: p.read_bytes() for p in folder(root, url).iterdir()} == before
    assert git(root, "rev-parse", "HEAD") == head and git(root, "status", "--porcelain") == ""
    assert sorted((root / "warcs").rglob("*.warc.gz")) == warcs and not list(root.rglob("*.open"))


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context whose certificate signs itself (a CA's own certificate served as the
    leaf)."""
    ca = trustme.CA()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(cert))
    ca.private_key_pem.write_to_path(str(key))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_self_signed_certificate_is_a_clear_tls_error_unless_the_host_is_allowed(tmp_path, root):
    server = Hostile(tls=self_signed(tmp_path)).start()
    try:
        server.answer("/story", page("Terminal approved", STORY).encode())
        server.answer("/private/memo", page("Memo", STORY).encode())
        server.answer(
            "/robots.txt",
            b"User-agent: *\nDisallow: /private/\n",
            headers=[("Content-Type", "text/plain")],
        )
        story, memo = server.url("/story"), server.url("/private/memo")

        refused = archiver(root, "add", story, "--json")
        assert refused.code == 1
        error = refused.result(story)["error"]
        assert error.startswith("TLS error:") and "self-signed certificate" in error, error
        assert_nothing_written(root, story)

        configure(root, insecure_tls_hosts=["127.0.0.1"])
        allowed = archiver(root, "add", story, memo, "--json")
        assert allowed.code == 0
        assert allowed.result(story)["outcome"] == "new" and "ferry terminal" in article(
            root, story
        )
        # robots.txt is read over the same accepted connection, and obeyed
        assert (
            allowed.result(memo)["outcome"] == "skipped"
            and "robots.txt" in allowed.result(memo)["error"]
        )
        assert [r.uri for r in responses(root / "warcs", story)] == [story]
    finally:
        server.stop()


@pytest.mark.parametrize(
    "value",
    [
        ["https://intranet.example"],
        ["intranet.example:8443"],
        ["two words"],
        [42],
        "intranet.example",
    ],
)
def test_insecure_tls_hosts_is_validated(root, value):
    (root / "archiver.toml").write_text(
        (root / "archiver.toml")
        .read_text()
        .replace("insecure_tls_hosts = []", f"insecure_tls_hosts = {json.dumps(value)}")
    )
    run = archiver(root, "snapshot")
    assert run.code == 2
    [line] = run.stderr.splitlines()
    assert line.startswith("archiver: error:") and "fetch.insecure_tls_hosts" in line
