"""One hostile value costs at most itself: a bad redirect is an ordinary failed check, a bad link is
dropped from links.txt, a bad urls.txt line is a warning with its number; what a server sends never
reaches the terminal as control sequences.
"""

from __future__ import annotations

import gzip
import json

import pytest
from support.archives import article, configure, folder, meta
from support.commands import git
from support.hostile import page
from support.userview import STORY, archiver, run_measured
from support.warcs import records

NOT_A_URL = "redirect to something that is not an http(s) URL"
BAD_LOCATIONS = {
    # id: (Location bytes, outcome, how the reason starts)
    "word-as-ipv6-literal": (b"http://[link]/", "failed", NOT_A_URL),
    "unclosed-ipv6-literal": (b"http://[::1/", "failed", NOT_A_URL),
    "port-out-of-range": (b"http://news.example:99999/", "failed", NOT_A_URL),
    "not-http": (b"javascript:alert(document.cookie)", "failed", NOT_A_URL),
    # Bytes a URL may not hold are percent-encoded and followed, as browsers do: here to a page that
    # is not there.
    "latin-1-bytes": (b"/caf\xe9/\xff", "gone", None),
    "c1-controls": (b"/story\x85\x9b31m", "gone", None),
}


@pytest.mark.parametrize("case", list(BAD_LOCATIONS))
def test_a_bad_redirect_is_an_ordinary_check(server, root, case):
    location, outcome, reason = BAD_LOCATIONS[case]
    server.routes["/moved"] = lambda conn: conn.send(
        b"HTTP/1.1 302 Found\r\nLocation: "
        + location
        + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    server.answer("/fine", page("Terminal approved", STORY).encode())
    run = archiver(root, "add", server.url("/moved"), server.url("/fine"), "--json")
    result = run.result(server.url("/moved"))
    assert result["outcome"] == outcome, result
    if reason:
        assert result["error"].startswith(reason) and "\x9b" not in result["error"], result
    assert run.result(server.url("/fine"))["outcome"] == "new"


BAD_LINKS = [
    "http://[link]/",
    "http://[::1/",
    "http://[x]:80/a",
    "https://news.example:99999/",
    "http://%zz%/",
    "http://exa mple.com/",
    "//[::1",
]


@pytest.mark.parametrize("where", ["body", "navigation", "base"])
def test_a_bad_link_or_base_is_dropped_and_the_article_archived(server, root, where):
    good = server.url("/report")
    server.answer("/report", page("The inquiry report", STORY[1:]).encode())
    links = [*BAD_LINKS, good]
    if where == "body":
        body = page("Terminal approved", STORY, links=links)
    elif where == "navigation":
        nav = "".join(f'<a href="{href}">menu</a>' for href in BAD_LINKS)
        body = page("Terminal approved", STORY, links=[good], head="").replace(
            "<body>", f"<body><nav>{nav}</nav>"
        )
    else:
        body = page("Terminal approved", STORY, links=[good], head='<base href="http://[x]/">')
    server.answer("/story", body.encode())
    configure(root, allow_private=True)
    run = archiver(root, "-v", "add", server.url("/story"), "--json")
    assert run.code == 0, run.stderr
    assert run.result(server.url("/story"))["outcome"] == "new"
    assert "ferry terminal" in article(root, server.url("/story"))
    cited = (folder(root, server.url("/story")) / "links.txt").read_text()
    assert cited.splitlines()[-1].startswith(good) and "[" not in cited
    assert run.result(good)["outcome"] == "new"
    if where == "body":
        assert "dropped a link that is not a URL: 'http://[link]/'" in run.stderr


def test_an_unusable_retry_after_is_waited_for_as_if_absent(server, root):
    server.answer(
        "/busy", b"busy", status="503 Service Unavailable", headers=[("Retry-After", "²")]
    )
    configure(
        root, retries=1, max_retry_wait=1.0
    )  # the default wait (2 s) is longer: fails at once
    run = archiver(root, "add", server.url("/busy"), "--json")
    assert run.code == 1
    assert run.result(server.url("/busy"))["error"] == "HTTP 503 Service Unavailable"


def test_a_urls_txt_line_that_is_not_utf8_is_a_warning_and_kept(server, root):
    server.answer("/one", page("Terminal approved", STORY).encode())
    server.answer("/two", page("Bridge closed", STORY[1:]).encode())
    bad = b"https://news.example/caf\xe9 # added by hand in a cp1252 editor\n"
    with (root / "urls.txt").open("ab") as f:
        f.write(server.url("/one").encode() + b"\n" + bad)
    run = archiver(root, "snapshot", "--json")
    assert run.code == 0, run.stderr
    assert "urls.txt line 3 skipped: not UTF-8 text" in run.stderr
    assert run.result(server.url("/one"))["outcome"] == "new"
    added = archiver(root, "add", server.url("/two"), "--json")
    assert added.code == 0 and added.result(server.url("/two"))["outcome"] == "new"
    assert bad in (root / "urls.txt").read_bytes()  # the person's line is kept byte for byte
    assert git(root, "status", "--porcelain") == ""


ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"


def test_what_a_server_sends_never_reaches_the_terminal_as_control_sequences(server, root):
    server.routes["/error"] = lambda conn: conn.send(
        f"HTTP/1.1 500 {ESCAPES}Oops\r\nContent-Length: 0\r\n\r\n".encode("latin-1")
    )
    title = f"Terminal{ESCAPES} [link=https://evil.example]approved[/link] \x9b2J"
    server.answer("/story", page(title, STORY).encode())
    run = archiver(root, "-v", "add", server.url("/error"), server.url("/story"))
    assert run.code == 1
    assert "failed: " in run.stderr and "Oops" in run.stderr
    shown_by = [
        archiver(root, *args).stdout
        for args in (("list",), ("log", server.url("/story")), ("show", server.url("/story")))
    ]
    for shown in (run.stdout, run.stderr, *shown_by):
        assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown, shown
    stored = article(root, server.url("/story")) + json.dumps(
        meta(root, server.url("/story")), ensure_ascii=False
    )
    assert not any(c in stored for c in "\x1b\x07\x9b"), (
        stored
    )  # the text archived holds no control either
    listed = archiver(root, "list", "--json").stdout
    assert "\x9b" not in listed and "\x1b" not in listed
    [story] = [p for p in json.loads(listed) if p["url"] == server.url("/story")]
    assert (
        "[link=https://evil.example]approved[/link]" in story["title"]
    )  # shown as written, never as markup


def test_a_redirect_with_a_compressed_body_or_a_bomb_is_followed_in_bounded_memory(server, root):
    """requests read and inflated a redirect's body itself, even with redirects left to us."""
    small = gzip.compress(b"<p>Moved to <a href='/story'>the story</a>.</p>")
    bomb = gzip.compress(b" " * 10_000_000, compresslevel=9) * 200  # 2 GB once inflated
    for path, body in (("/small", small), ("/bomb", bomb)):
        server.answer(
            path,
            body,
            status="301 Moved Permanently",
            headers=[
                ("Location", "/story"),
                ("Content-Type", "text/html"),
                ("Content-Encoding", "gzip"),
            ],
        )
    server.answer("/story", page("Terminal approved", STORY).encode())
    code, out, peak = run_measured(root, "add", server.url("/small"), server.url("/bomb"), "--json")
    assert code == 0, out
    results = {r["url"]: r for r in json.loads(out)["results"]}
    assert (
        results[server.url("/small")]["outcome"] == results[server.url("/bomb")]["outcome"] == "new"
    )
    assert peak < 300, f"peak RSS {peak:.0f} MB"
    hops = [r for r in records(root / "warcs") if r.type == "response" and r.http_status == "301"]
    assert sorted(len(r.payload) for r in hops) == sorted(
        [len(small), len(bomb)]
    )  # kept as sent, compressed
