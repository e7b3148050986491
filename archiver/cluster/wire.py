"""What crosses the broker, as JSON-safe values: a job for a worker, and what the worker brings back
(`Brought`). Encoded and checked by msgspec from the dataclasses themselves, so a field added to a
capture or a document travels without a hand-written codec; a malformed message fails to decode
(`Malformed`) rather than settling as a half-read page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from ..capture.policy import Captured
from ..discovery import poll
from ..discovery.listing import Listing
from ..text.normalize import Document

T = TypeVar("T")


class Malformed(ValueError):
    """A message that is not what this version of archiver sends."""


@dataclass(frozen=True)
class Order:
    """One capture job of one run, as a worker receives it."""

    run: str  # the run's id: its settings and segments are found by it
    job: str  # the capture id: a worker's result for it is settled once, whatever redelivers it
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    spec: poll.Spec | None = None  # a followed listing: how to read it


@dataclass
class Brought:
    """A worker's result for one order: the capture (its bodies in the segment, not here), the
    segment's name and the offset of each exchange's response record in it, and what extraction
    read. `refused` and `error` say why there is no capture."""

    run: str
    job: str
    worker: str  # host:pid, for messages
    captured: Captured | None = None
    segment: str | None = None
    offsets: list[int] = field(default_factory=list)  # per exchange; -1: no response record
    document: Document | None = None
    listing: Listing | None = None
    error: str | None = None  # an internal error of the worker: the page failed, the run goes on
    refused: str | None = None  # the worker cannot take this run's jobs: the run stops


def encode(value: Any) -> Any:
    """`value` as JSON-safe builtins (bytes as base64, datetimes as ISO 8601)."""
    return msgspec.to_builtins(value, enc_hook=_enc)


def decode(data: Any, kind: type[T]) -> T:
    try:
        return msgspec.convert(data, kind, dec_hook=_dec)
    except msgspec.ValidationError as exc:
        raise Malformed(f"not a {kind.__name__} of this archiver: {exc}") from None


def _enc(value: Any) -> Any:
    if isinstance(value, Path):  # a body spooled on the worker: only whether there is one travels
        return value.name
    raise NotImplementedError(f"{type(value).__name__} does not cross the broker")


def _dec(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"{kind} does not cross the broker")
