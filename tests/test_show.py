"""`archiver show`: the text of a version or of the version in force at a moment, and with `--raw`
the exact bytes served for it (compressed on the wire, a 404 answer, the same bytes again).
"""

from __future__ import annotations

from support.archives import folder
from support.history import (
    BYLINE,
    HEADLINE,
    NOT_FOUND_PAGE,
    PATH,
    STORY,
    cli_bytes,
    cli_json,
    cli_ok,
    recheck,
    text_at,
)
from support.newssite import Response, article


def test_show_at_a_version_or_a_moment_prints_that_text(edited):
    archive = edited.archive
    url = edited.url
    log = cli_json(archive, "log", url)

    assert cli_ok(archive, "show", url) == (folder(archive.root, url) / "article.md").read_text()
    first = cli_ok(archive, "show", url, "--at", "1")
    assert first == text_at(archive, log[0]["commit"], url)
    assert first.startswith(f"# {HEADLINE}\n\n{BYLINE}\n\n{STORY[0]}\n")
    assert cli_ok(archive, "show", url, "--at", log[2]["captured_at"]) == text_at(
        archive, log[2]["commit"], url
    )
    assert cli_ok(archive, "show", url, "--at", log[3]["commit"][:8]) == text_at(
        archive, log[3]["commit"], url
    )
    assert "# Finance minister resigns after audit\n" in text_at(archive, log[2]["commit"], url)


def test_show_raw_writes_the_bytes_served_for_that_version(site, archive):
    first = (
        article(HEADLINE, STORY, noise=False)
        .replace("\n", "\r\n")
        .replace("Jane Doe", "Zoë Müller")
    )
    second = first.replace("on Tuesday", "on Monday").replace("millions", "millions of euros (€)")
    first_bytes, second_bytes = first.encode("utf-8"), second.encode("utf-8")
    site.routes[PATH] = Response(body=first_bytes)
    url = site.url(PATH)
    archive.add([url])
    site.routes[PATH] = Response(body=second_bytes, encoding="gzip")  # compressed on the wire
    recheck(archive)
    site.routes[PATH] = Response(status=404, body=NOT_FOUND_PAGE)
    recheck(archive)
    site.routes[PATH] = Response(body=first_bytes)  # the very same bytes as the first version
    recheck(archive)
    assert [v.kind for v in archive.history(url).versions()] == [
        "new",
        "edited",
        "gone",
        "restored",
    ]

    def raw(*args: str) -> bytes:
        result = cli_bytes(archive, "show", url, "--raw", *args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert raw("--at", "1") == first_bytes
    assert raw("--at", "2") == second_bytes
    assert raw("--at", "3") == NOT_FOUND_PAGE  # the 404 answer is the evidence of that version
    assert raw() == first_bytes
