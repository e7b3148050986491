"""URLs a user or a page gives: an unusable URL is rejected with one line, odd paths are archived
inside `pages/`, and unusual host names under their normal form.

Each test runs the real command (in-process through typer's runner, or as a subprocess where memory
is measured) against `support.hostile.Hostile` on loopback, and checks what a user sees: the outcome
in `--json`, the exit code, the files of the archive and the WARC records read back with warcio.
"""

from __future__ import annotations

import pytest
from support.archives import article, configure
from support.hostile import not_found, page, response
from support.userview import STORY, archiver

UNUSABLE_URLS = {
    "ftp": "ftp://example.com/file.txt",
    "file": "file:///etc/passwd",
    "javascript": "javascript:alert(document.cookie)",
    "data": "data:text/html,<h1>hi</h1>",
    "no-scheme": "example.com/story",
    "space-in-host": "http://exa mple.com/",
    "hyphen-host": "http://-bad-.example/",
    "empty-label": "http://a..example/",
    "long-label": "http://" + "a" * 64 + ".example/",
    "bad-port": "http://example.com:99999/",
    "bad-ipv6": "http://[::1/",
    "control-char": "http://example.com/a\x00b",
    "5000-chars": "https://example.com/" + "a" * 5000,
}


@pytest.mark.parametrize("case", list(UNUSABLE_URLS))
def test_unusable_url_is_rejected_with_one_line(root, case):
    before = (root / "urls.txt").read_text()
    run = archiver(root, "add", UNUSABLE_URLS[case])
    assert run.code == 2
    [line] = run.stderr.splitlines()
    assert line.startswith("archiver: error:") and len(line) < 200
    assert (root / "urls.txt").read_text() == before and not (root / "pages").exists()


ODD_PATHS = [
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2E%2E/etc/shadow",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/%5c..%5c..%5cwindows%5cwin.ini",
    "/CON",
    "/aux.html",
    "/com1.txt/lpt9",
    "/a:b|c*d%22e<f>g",
    "/.git/config",
    "/%00%0a%0d",
    "/~user/.ssh/id_rsa",
    "/a/./b/../../c//d",
    "/" + "é" * 300,
    "/...",
    "/%20%20/%20",
    "/page?file=../../etc/passwd&x=%2e%2e",
]


def test_odd_paths_are_archived_inside_pages(server, root):
    body = page(
        "Odd", STORY, links=ODD_PATHS
    ).encode()  # every path answers with it: tracked and cited
    server.fallback = lambda conn: conn.send(
        response("200 OK", [("Content-Type", "text/html")], body)
    )
    server.routes["/robots.txt"] = not_found
    configure(root, allow_private=True)
    run = archiver(root, "add", *[server.url(p) for p in ODD_PATHS[:8]], "--json")
    assert run.code == 0, run.stderr
    pages = (root / "pages").resolve()
    assert len(run.data["results"]) >= len(ODD_PATHS) - 2  # a few normalize to the same URL
    for entry in run.data["results"]:
        assert entry["outcome"] == "new", entry
        where = (root / entry["folder"]).resolve()
        assert where.is_relative_to(pages) and where.parent.parent == pages, entry["folder"]
        assert (where / "meta.json").is_file() and (where / "article.md").is_file()
    assert not (root.parent / "etc").exists() and not list(root.parent.glob("*passwd*"))


@pytest.mark.parametrize(
    ("url", "served", "archived", "folder"),
    [
        # an IDN host: archived under its punycode folder
        (
            "http://bücher.example/straße",
            "/stra%C3%9Fe",
            "http://xn--bcher-kva.example/stra%C3%9Fe",
            "pages/xn--bcher-kva.example/stra-e-",
        ),
        # an underscore: not a DNS host name, but DNS and browsers serve such names
        (
            "http://News_Desk.example/story",
            "/story",
            "http://news_desk.example/story",
            "pages/news_desk.example/story-",
        ),
    ],
)
def test_unusual_host_names_are_archived_under_their_normal_form(
    server, root, url, served, archived, folder
):
    # The names resolve nowhere: the loopback server answers as the HTTP proxy the environment
    # names.
    server.answer(served, page("Bookshop street", STORY).encode())
    env = {"HTTP_PROXY": server.url(), "http_proxy": server.url(), "NO_PROXY": "", "no_proxy": ""}
    run = archiver(root, "add", url, "--json", env=env)
    assert run.code == 0, run.stderr
    result = run.result(url)
    assert result["url"] == archived and result["outcome"] == "new"
    assert result["folder"].startswith(folder)
    assert (root / result["folder"]).resolve().is_relative_to((root / "pages").resolve())
    assert "ferry terminal" in article(root, url)
    assert archived in server.targets
