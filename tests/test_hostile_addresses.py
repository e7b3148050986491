"""Addresses a page must not lead the archiver to: cited private addresses, redirects (of an article
or of robots.txt) inward and sources on other private origins are not fetched unless allowed; a
checked connection goes to the checked address, and a pooled connection is never reused for another
address.

Each test runs the real command (in-process through typer's runner, or as a subprocess where memory
is measured) against `support.hostile.Hostile` on loopback, and checks what a user sees: the outcome
in `--json`, the exit code, the files of the archive and the WARC records read back with warcio.
"""

from __future__ import annotations

import re
import ssl

import pytest
import requests
import trustme
from support.archives import article, configure, folder
from support.commands import git
from support.hostile import Conn, Hostile, page, response
from support.userview import STORY, archiver, redirect
from support.warcs import responses_of_checks

from archiver.capture.addresses import Pin, pinned
from archiver.capture.transport import GuardedAdapter


def private_links(port: int) -> list[str]:
    return [
        f"http://localhost:{port}/admin",
        f"http://127.0.0.1:{port}/",
        f"http://127.1:{port}/short",
        f"http://2130706433:{port}/decimal",
        f"http://0x7f000001:{port}/hex",
        f"http://0.0.0.0:{port}/zero",
        f"http://[::ffff:127.0.0.1]:{port}/mapped",
        f"http://[::1]:{port}/v6",
        "http://10.0.0.1/intranet",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/link-local",
        "http://192.168.1.1/router",
        # IPv6 forms that carry an IPv4 address: NAT64, local-use NAT64, 6to4, IPv4-compatible, SIIT
        f"http://[64:ff9b::7f00:1]:{port}/nat64",
        "http://[64:ff9b::a00:1]/nat64-intranet",
        "http://[64:ff9b:1::808:808]/local-nat64",
        f"http://[2002:7f00:1::1]:{port}/6to4",
        f"http://[::7f00:1]:{port}/compatible",
        f"http://[::ffff:0:7f00:1]:{port}/siit",
    ]


def test_cited_private_addresses_are_not_fetched_unless_allowed(server, internal, root):
    links = private_links(internal.port)
    server.answer("/story", page("Terminal approved", STORY, links=links).encode())
    story = server.url("/story")
    run = archiver(root, "add", story, "--json")  # allow_private is false by default
    assert run.code == 0
    for link in links:
        result = run.result(link)
        assert result["outcome"] == "skipped" and "non-public address" in result["error"], result
        assert not folder(root, link).exists()
    assert internal.targets == []

    configure(root, allow_private=True)
    internal.answer("/admin", page("Admin", STORY).encode())
    server.answer("/story", page("Terminal approved", STORY, links=links[:1]).encode())
    again = archiver(root, "snapshot", story, "--json")
    assert again.result(links[0])["outcome"] == "new" and internal.paths() == [
        "/robots.txt",
        "/admin",
    ]


def test_redirect_to_a_private_address_is_not_followed(server, internal, root):
    # A public-looking name (unresolvable here) reached through the proxy, redirecting inward.
    server.answer(
        "/story", page("Terminal approved", STORY, links=["http://cdn.example/out"]).encode()
    )
    server.routes["/out"] = redirect(f"http://localhost:{internal.port}/secret")
    env = {"HTTP_PROXY": server.url(), "http_proxy": server.url(), "NO_PROXY": "", "no_proxy": ""}
    run = archiver(root, "add", "http://news.example/story", "--json", env=env)
    assert run.code == 0, run.stderr
    result = run.result("http://cdn.example/out")
    assert (
        result["outcome"] == "skipped"
        and "localhost resolves to non-public address" in result["error"]
    )
    assert internal.targets == [] and not any("secret" in t for t in server.targets)
    assert "http://cdn.example/out" in server.targets


def test_a_tracked_article_redirecting_to_an_internal_address_is_not_followed(
    server, internal, root
):
    """The origin the user named is trusted; wherever its server sends the request next is not."""
    secret = internal.url("/latest/meta-data/iam/credentials")
    internal.answer("/latest/meta-data/iam/credentials", b'{"SecretAccessKey": "wJalrXUtnFEMI"}')
    server.routes["/redir"] = redirect(secret)
    server.answer("/story", page("Terminal approved", STORY).encode())
    story, redir = server.url("/story"), server.url("/redir")

    run = archiver(root, "add", redir, story, "--json")

    result = run.result(redir)
    assert result["outcome"] == "skipped" and "non-public address" in result["error"], result
    assert (
        run.result(story)["outcome"] == "new"
    )  # the tracked origin itself is fetched, private or not
    assert internal.targets == []
    assert not folder(root, redir).exists()
    assert "wJalrXUtnFEMI" not in git(
        root, "log", "-p", "--all"
    ) and "wJalrXUtnFEMI" not in article(root, story)
    # The redirect that was refused is evidence of the check, out of git.
    assert [r.uri for r in responses_of_checks(root)] == [redir]


def test_robots_txt_of_a_tracked_origin_redirecting_inward_is_not_followed(server, internal, root):
    server.routes["/robots.txt"] = redirect(internal.url("/robots.txt"))
    server.answer("/story", page("Terminal approved", STORY).encode())
    run = archiver(root, "add", server.url("/story"), "--json")
    assert run.code == 0 and run.result(server.url("/story"))["outcome"] == "new"
    assert internal.targets == []


def test_sources_on_a_tracked_origin_are_fetched_and_others_private_ones_are_not(
    server, internal, root
):
    internal.answer("/admin", page("Admin", STORY).encode())
    server.answer("/report", page("The inquiry report", STORY[1:]).encode())
    server.answer(
        "/story",
        page("Terminal approved", STORY, links=["/report", internal.url("/admin")]).encode(),
    )
    run = archiver(root, "add", server.url("/story"), "--json")
    assert run.code == 0
    assert run.result(server.url("/report"))["outcome"] == "new"  # the origin the user named
    refused = run.result(internal.url("/admin"))
    assert refused["outcome"] == "skipped" and "non-public address" in refused["error"]
    assert internal.targets == []


def test_a_checked_connection_goes_to_the_checked_address_under_its_name(tmp_path):
    """Against DNS rebinding: no second lookup; Host, SNI and the certificate check keep the
    name."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("news.rebind.example").configure_cert(context)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = Hostile(tls=context).start()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    server.routes["/"] = lambda conn: conn.send(
        response("200 OK", [("X-Host", _host_of(conn.head))], b"ok")
    )
    session = requests.Session()
    session.mount("https://", GuardedAdapter())
    url = f"https://news.rebind.example:{server.port}/"  # a name no resolver knows
    try:
        with pinned(Pin("news.rebind.example", server.port, ("127.0.0.1",))):
            answer = session.get(url, verify=str(bundle), timeout=5)
            assert answer.headers["X-Host"] == f"news.rebind.example:{server.port}"
            assert names == ["news.rebind.example"]
            with pytest.raises(requests.ConnectionError, match="not the host checked"):
                session.get(f"https://other.example:{server.port}/", verify=str(bundle), timeout=5)
        with pytest.raises(
            requests.ConnectionError
        ):  # without the pin, the name is looked up, and fails
            requests.Session().get(url, verify=str(bundle), timeout=5)
    finally:
        session.close()
        server.stop()


def _host_of(head: bytes) -> str:
    match = re.search(rb"^Host: (.*?)\r$", head, re.MULTILINE | re.IGNORECASE)
    return match.group(1).decode() if match else ""


def test_a_pooled_connection_to_another_address_is_not_reused():
    """A connection made before the check (or to another address of the name) is dropped, not
    reused."""
    server = Hostile().start()
    answered: list[int] = []

    def keep_alive(conn: Conn) -> None:
        while True:  # answers every request on the connection, as a keep-alive server does
            answered.append(1)
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            if not conn.sock.recv(65536):
                return

    server.routes["/"] = keep_alive
    session = requests.Session()
    session.mount("http://", GuardedAdapter())
    try:
        assert (
            session.get(server.url(), timeout=5).text == "ok"
        )  # this connection stays in the pool
        with (
            pinned(Pin("127.0.0.1", server.port, ("127.0.0.2",))),
            pytest.raises(requests.ConnectionError),
        ):
            session.get(
                server.url(), timeout=2
            )  # only 127.0.0.2 is allowed now, where nothing listens
        assert answered == [1]
    finally:
        session.close()
        server.stop()
