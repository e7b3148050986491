"""A server that says "too many requests": Retry-After (seconds or an HTTP date) is waited for and
the request retried, a wait longer than `max_retry_wait` fails at once, and `retries` bounds the
attempts.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime, timedelta

import pytest
from support.archives import meta
from support.newssite import Response, article
from support.schedule import STORY, outcomes, reopen

from archiver.urls import page_dir


def answers(*responses: Response):
    """A route giving these responses in turn (the last one from then on), recording when each
    came."""
    served: list[float] = []

    def serve(handler) -> Response:
        served.append(time.monotonic())
        return responses[min(len(served), len(responses)) - 1]

    serve.served = served
    return serve


def too_many(retry_after: str | None, status: int = 429) -> Response:
    return Response(
        status=status,
        body=b"slow down",
        content_type="text/plain",
        headers=[("Retry-After", retry_after)] if retry_after is not None else [],
    )


def http_date(seconds_ahead: float) -> str:
    return email.utils.format_datetime(
        datetime.now(UTC) + timedelta(seconds=seconds_ahead), usegmt=True
    )


def ok() -> Response:
    return Response(body=article("Harbour dredging plan approved", STORY).encode())


def test_429_with_retry_after_is_retried_after_the_wait(archive, site):
    site.routes["/news/harbour"] = route = answers(too_many("1"), ok())
    url = site.url("/news/harbour")
    _, summary = archive.add([url])
    assert outcomes(summary) == {url: "new"}
    assert len(route.served) == 2 and route.served[1] - route.served[0] >= 1.0
    assert meta(archive.root, url)["status"] == 200


def test_retry_after_as_an_http_date_is_honoured(archive, site):
    site.routes["/news/harbour"] = route = answers(too_many(http_date(2), status=503), ok())
    url = site.url("/news/harbour")
    _, summary = archive.add([url])
    assert outcomes(summary) == {url: "new"}
    assert len(route.served) == 2 and route.served[1] - route.served[0] >= 0.9


@pytest.mark.parametrize(
    ("retry_after", "settings"),
    [("90", {}), ("1", {"max_retry_wait": 0.5}), ("date", {})],
    ids=["seconds", "max_retry_wait", "http-date"],
)
def test_retry_after_longer_than_max_retry_wait_fails_at_once(archive, site, retry_after, settings):
    if retry_after == "date":
        retry_after = http_date(90)
    site.routes["/news/harbour"] = route = answers(too_many(retry_after), ok())
    url = site.url("/news/harbour")
    archive = reopen(archive, **settings)
    began = time.monotonic()
    _, summary = archive.add([url])
    assert time.monotonic() - began < 0.9
    [result] = summary.results
    assert result.outcome == "failed" and "429" in result.error
    assert len(route.served) == 1
    assert not (archive.root / page_dir(url)).exists()


@pytest.mark.parametrize(("retries", "requests"), [(0, 1), (1, 2), (2, 3)])
def test_retries_bounds_the_number_of_attempts(archive, site, retries, requests):
    site.routes["/news/harbour"] = route = answers(too_many("0"))
    url = site.url("/news/harbour")
    archive = reopen(archive, retries=retries)
    _, summary = archive.add([url])
    assert outcomes(summary) == {url: "failed"}
    assert len(route.served) == requests
