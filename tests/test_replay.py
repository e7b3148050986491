"""The archive replayed in pywb (its rewriting replay and its raw `id_` replay) and in
ReplayWeb.page.

What a web archivist checks: each version of a page that went A -> B -> A, asked for by its own
timestamp, replays that version's text (the third, a revisit, A's); a redirect chain replayed from
its first URL reaches the final page, and raw replay gives each redirect's status, Location and body
as stored, and ends; a page served chunked replays its text. pywb serves the archive's WARC files
and `archiver index`; ReplayWeb.page (in Chromium) loads the WACZ of `archiver export --wacz`. The
site is stopped before replay: what replays comes from the archive alone.

One archive per test run (pytest-xdist workers share it), one pywb and one Chromium per worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import requests
from lxml import html as lxml_html
from support.browser import chromium
from support.evidence import EDIT, STORY
from support.replay import (
    FERRY,
    TRAM,
    Replayed,
    ReplayWebPage,
    Stored,
    Wayback,
    replay_site,
    replayed_once,
    replaywebpage,
)
from support.userview import in_process, run
from warcio.timeutils import iso_date_to_datetime


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> Replayed:
    return replayed_once(tmp_path_factory)


@pytest.fixture(scope="module")
def wayback(replayed, tmp_path_factory) -> Iterator[Wayback]:
    server = Wayback(replayed.root, tmp_path_factory.mktemp("pywb")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rwp(replayed, signed_wacz, tmp_path_factory) -> Iterator[ReplayWebPage]:
    browser = chromium()
    if browser is None:
        pytest.skip(
            "no Chromium binary found (install Debian's `chromium`): ReplayWeb.page runs in it"
        )
    assets = tmp_path_factory.mktemp("replaywebpage")
    replaywebpage(assets)
    with replay_site(assets, replayed.wacz, {SIGNED_PATH: signed_wacz}, SERVED) as site:
        player = ReplayWebPage(site, browser).start()
        yield player
        player.stop()


SIGNED_PATH = "/signed.wacz"
SERVED: set[str] = set()  # the packages ReplayWeb.page read, of this module's site


@pytest.fixture(scope="module")
def signed_wacz(replayed, tmp_path_factory) -> Path:
    """The article exported with `--sign` (a package of chosen pages: the shared archive's index is
    not rewritten)."""
    work = tmp_path_factory.mktemp("signed")
    env = {"XDG_CONFIG_HOME": str(work / "config")}
    wacz = work / "signed.wacz"
    assert in_process(["keys", "init"], env).returncode == 0
    exported = run(
        replayed.root, "export", "--wacz", str(wacz), "--sign", replayed.article, env=env
    )
    assert exported.returncode == 0 and "signed by sha256:" in exported.stdout, exported.stderr
    return wacz


def versions(replayed: Replayed) -> list[tuple[Stored, bool]]:
    """The article's three captures (response A, response B, revisit of A), each with whether it is
    B."""
    return list(zip(replayed.captures(replayed.article), [False, True, False], strict=True))


def assert_article(text: str, edited: bool, record: Stored) -> None:
    """The text of version A, or of B when `edited` (A and a new paragraph), for the capture
    `record`."""
    shows = f"the capture of {record.date} ({'B' if edited else 'A'}) shows: {text}"
    assert "Harbour dredging plan approved" in text and all(
        paragraph in text for paragraph in STORY
    ), shows
    assert (EDIT in text) == edited, shows


def page_text(response: requests.Response) -> str:
    return lxml_html.fromstring(response.content).text_content()


def memento(response: requests.Response) -> datetime:
    """The date of the capture pywb served (its Memento-Datetime header)."""
    return parsedate_to_datetime(response.headers["Memento-Datetime"])


def captured(record: Stored) -> datetime:
    """The record's WARC-Date to the second, as Memento-Datetime gives it."""
    return iso_date_to_datetime(record.date).replace(tzinfo=UTC, microsecond=0)


# -- the A -> B -> A page --------------------------------------------------------------------------


def test_pywb_raw_replay_gives_each_version_its_own_bytes_by_its_timestamp(replayed, wayback):
    bodies = replayed.bodies
    for (record, edited), body in zip(
        versions(replayed), [bodies[0], bodies[1], bodies[0]], strict=True
    ):
        answer = wayback.get(record.stamp, "id_", replayed.article)
        assert answer.status_code == 200 and memento(answer) == captured(record), record
        assert answer.content == body, record
        assert_article(page_text(answer), edited, record)


def test_pywb_replays_each_version_by_its_timestamp(replayed, wayback):
    for record, edited in versions(replayed):
        answer = wayback.get(record.stamp, "mp_", replayed.article)
        assert answer.status_code == 200 and memento(answer) == captured(record), record
        assert_article(page_text(answer), edited, record)
    last = versions(replayed)[-1][0]
    latest = wayback.get("", "mp_", replayed.article)  # no timestamp: the latest capture, A again
    assert memento(latest) == captured(last)
    assert_article(page_text(latest), False, last)


def test_replaywebpage_replays_each_version_by_its_timestamp(replayed, rwp):
    for record, edited in versions(replayed):
        shown = rwp.replay(replayed.article, record.stamp)
        assert_article(shown.text, edited, record)


def test_replaywebpage_replays_a_signed_package_as_an_unsigned_one(replayed, rwp):
    for record, edited in versions(replayed):
        shown = rwp.replay(replayed.article, record.stamp, source=SIGNED_PATH)
        assert_article(shown.text, edited, record)
    assert SIGNED_PATH in SERVED  # what replayed is the signed package


# -- the redirect chain ----------------------------------------------------------------------------


def test_pywb_raw_replay_gives_each_redirect_as_stored_and_ends(replayed, wayback):
    for url in replayed.chain:
        record = replayed.capture(url)
        answer = wayback.get(
            record.stamp, "id_", url, follow=False
        )  # read whole, or fails after 30 s
        assert (answer.status_code, answer.headers.get("Location")) == (
            record.status,
            record.header("Location"),
        )
        assert answer.content == record.body and record.body, url
    assert all(line in page_text(answer) for line in FERRY)


def test_pywb_follows_the_redirect_chain_to_the_final_page(replayed, wayback):
    first = replayed.capture(replayed.chain[0])
    answer = wayback.get(first.stamp, "mp_", first.url)
    assert [hop.status_code for hop in answer.history] == [301, 302]
    assert answer.status_code == 200 and answer.url.endswith(f"mp_/{replayed.chain[2]}")
    text = page_text(answer)
    assert "Ferry service resumes" in text and all(line in text for line in FERRY)


def test_replaywebpage_follows_the_redirect_chain_to_the_final_page(replayed, rwp):
    first = replayed.capture(replayed.chain[0])
    shown = rwp.replay(first.url, first.stamp)
    assert "Ferry service resumes" in shown.text and all(line in shown.text for line in FERRY)
    assert shown.frame_url.endswith(f"mp_/{replayed.chain[2]}")


# -- the chunked page ------------------------------------------------------------------------------


def test_pywb_raw_replay_of_a_chunked_page_gives_its_body(replayed, wayback):
    record = replayed.capture(replayed.chunked)
    answer = wayback.get(record.stamp, "id_", replayed.chunked)
    assert answer.status_code == 200 and answer.content == replayed.chunked_body


def test_pywb_replays_a_chunked_page(replayed, wayback):
    record = replayed.capture(replayed.chunked)
    text = page_text(wayback.get(record.stamp, "mp_", replayed.chunked))
    assert "Tram line extended to the hospital" in text and all(line in text for line in TRAM)


def test_replaywebpage_replays_a_chunked_page(replayed, rwp):
    record = replayed.capture(replayed.chunked)
    shown = rwp.replay(replayed.chunked, record.stamp)
    assert "Tram line extended to the hospital" in shown.text and all(
        line in shown.text for line in TRAM
    )
