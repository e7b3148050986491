"""The broker of a cluster: Dramatiq's Redis broker, with the names and keys archiver keeps there.

Dramatiq brings what a home-made queue would get wrong: a job is acknowledged only after its
worker is done, and the jobs of a worker that stops answering (killed, its machine gone) go back to
the queue after `cluster.redeliver_after` seconds. Beside its queues, archiver keeps in Redis what
a run's workers need of it (`RunInfo`, for as long as the run is alive) and which workers are up.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import redis
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from dramatiq.errors import ConnectionError as DramatiqConnectionError
from dramatiq.middleware import Retries, TimeLimit

from .. import __version__
from ..config import Config
from ..errors import ClusterError
from ..text.normalize import extractor_versions

QUEUE = "archiver-capture"  # every run's jobs; a worker takes any run's
NAMESPACE = "archiver"
WORKER_TTL = 15  # seconds a worker's entry outlives its last beat (it beats every third of it)


def results_queue(run: str) -> str:
    return f"archiver-results-{run}"


def connect(config: Config) -> RedisBroker:
    """The cluster's broker. Every command may look for silent workers, so that the jobs of a killed
    worker come back within `redeliver_after`, not whenever a one-in-a-thousand check happens."""
    try:
        broker = RedisBroker(
            url=config.cluster.broker,
            # A job that outlives its limit is stopped; one that fails is a result, never retried.
            # (Dramatiq's Prometheus exporter, on by default, is left out: nothing here serves it.)
            middleware=[TimeLimit(), Retries(max_retries=0)],
            namespace=NAMESPACE,
            heartbeat_timeout=int(config.cluster.redeliver_after * 1000),
            maintenance_chance=MAINTENANCE_SCALE,
        )
        broker.client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise ClusterError(
            f"cannot reach the broker {config.cluster.broker}: {_said(exc)}"
        ) from None
    return broker


@contextmanager
def speaking(config: Config) -> Iterator[None]:
    """Turn a lost broker into a one-line ClusterError."""
    try:
        yield
    except (redis.RedisError, DramatiqConnectionError, OSError) as exc:
        raise ClusterError(
            f"lost the broker {config.cluster.broker}: {_said(exc)}; nothing of this run was "
            "committed, and the next run checks what it was to check"
        ) from None


def settings(config: Config) -> str:
    """What a worker must share with the run for its captures to be the run's: the fetch policy,
    the ignore rules and the extractors, as a short digest."""
    fields: dict[str, Any] = {
        "fetch": asdict(config.fetch),
        "allow_private": config.sources.allow_private,
        "ignore": [asdict(rule) for rule in config.ignore],
        "extractors": extractor_versions(),
    }
    text = json.dumps(fields, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class RunInfo:
    """What a run's workers need of it, kept in Redis while the run is alive."""

    run: str
    version: str
    settings: str
    trusted: list[str]  # the origins the user named: fetched wherever they are
    segments: str  # where its segments go
    info: dict[str, str]  # the run's warcinfo fields, for its segments

    def refusal(self, version: str, settings: str) -> str | None:
        """Why a worker of `version` and `settings` cannot take this run's jobs, if it cannot."""
        if (self.version, self.settings) == (version, settings):
            return None
        return (
            f"this run is archiver {self.version} with settings {self.settings}, the worker "
            f"archiver {version} with settings {settings}: restart the worker with this version "
            "and the archive's archiver.toml"
        )


def publish(client: redis.Redis, info: RunInfo, ttl: float) -> None:
    client.set(_run_key(info.run), json.dumps(asdict(info)), ex=max(1, int(ttl)))


def alive(client: redis.Redis, run: str, ttl: float) -> None:
    client.expire(_run_key(run), max(1, int(ttl)))


def withdraw(client: redis.Redis, run: str) -> None:
    client.delete(_run_key(run))


def is_alive(client: redis.Redis, run: str) -> bool:
    return bool(client.exists(_run_key(run)))


def run_info(client: redis.Redis, run: str) -> RunInfo | None:
    """The run's info, or None once it is over (finished, or its coordinator gone)."""
    raw = client.get(_run_key(run))
    return RunInfo(**json.loads(raw)) if raw else None


def beat(client: redis.Redis, name: str, threads: int, settings: str) -> None:
    entry = {"version": __version__, "settings": settings, "threads": threads}
    client.set(f"{NAMESPACE}:worker:{name}", json.dumps(entry), ex=WORKER_TTL)


def workers(client: redis.Redis) -> dict[str, dict[str, Any]]:
    """The workers up now, by name."""
    found = {}
    for key in client.scan_iter(match=f"{NAMESPACE}:worker:*"):
        raw = client.get(key)
        if raw:
            name = (key.decode() if isinstance(key, bytes) else key).split(":worker:", 1)[1]
            found[name] = json.loads(raw)
    return found


def _run_key(run: str) -> str:
    return f"{NAMESPACE}:run:{run}"


def _plain(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else str(value)


def _said(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
