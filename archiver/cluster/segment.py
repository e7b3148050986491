"""Segments: the WARC a worker writes of one capture, on storage every machine of the cluster
reaches (a folder they all mount at the same path, or an fsspec URL such as `s3://bucket/prefix`).

A worker writes each capture's exchanges whole (responses, requests, connection records) into a
segment of its own, named by the run, the job and the attempt, and only once it is complete: a
worker killed while writing leaves nothing half-written where the run reads. The run then reads
back the bodies of what it settles (each block checked against its digest) and writes the records
it keeps into its own WARC, as a run on one machine does. A run's segments are deleted once it has
committed; those of a run that did not finish are set aside by the next one.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import fsspec

from ..capture.exchange import Capture
from ..config import Config
from ..errors import ClusterError
from ..evidence.warc import WarcFile, copy_block
from ..storage.store import WORK_DIR

log = logging.getLogger(__name__)

SEGMENTS = "segments"  # under the archive's .archiver/, when `cluster.segments` names no place
ORPHANS = "orphaned-segments"  # under .archiver/: the segments of runs that did not finish


class SegmentError(ClusterError):
    """A segment cannot be written or read back whole."""


class Segments:
    """The cluster's shared place for segments: one folder per run."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.fs, self.base = fsspec.core.url_to_fs(location)

    @classmethod
    def of(cls, root: Path, config: Config) -> Segments:
        return cls(config.cluster.segments or str(root / WORK_DIR / SEGMENTS))

    def write(
        self, run: str, job: str, capture: Capture, info: dict[str, str]
    ) -> tuple[str, list[int]]:
        """Write `capture`'s exchanges as a segment of `run`: its name, and the offset of each
        exchange's response record."""
        with tempfile.TemporaryDirectory(prefix="archiver-segment-") as scratch:
            warc = WarcFile(Path(scratch), "segment", capture.started or datetime.now(UTC), info)
            offsets = [ref.offset for ref in warc.write_exchanges(capture)]
            written = warc.close()
            assert written is not None, "a capture with no exchange has no segment"
            name = f"{run}/{job}-{uuid.uuid4().hex[:12]}.warc.gz"
            target = f"{self.base}/{name}"
            try:
                self.fs.makedirs(f"{self.base}/{run}", exist_ok=True)
                # Put under a temporary name, then renamed: the run never reads half a segment.
                self.fs.put_file(str(Path(scratch) / written), target + ".part")
                self.fs.mv(target + ".part", target)
            except OSError as exc:
                raise SegmentError(f"cannot write the segment {target}: {exc}") from exc
        return name, offsets

    def read_bodies(self, name: str, capture: Capture, offsets: list[int], spool: Path) -> None:
        """Read back into `spool` the bodies of `capture`'s exchanges from its segment: each as it
        came (with its transfer coding, where there was one), where the worker's were."""
        path = f"{self.base}/{name}"
        try:
            with self.fs.open(path, "rb") as f:
                for exchange, offset in zip(capture.exchanges, offsets, strict=True):
                    framed, body = exchange.framed is not None, exchange.body is not None
                    exchange.framed = exchange.body = None
                    if offset < 0 or not (framed or body):
                        continue
                    target = spool / f"{uuid.uuid4().hex}.body"
                    with target.open("wb") as out:
                        copy_block(f, offset, len(exchange.head), out)
                    if (
                        framed
                    ):  # the de-chunked body was needed only to extract: the run keeps the framing
                        exchange.framed = target
                    else:
                        exchange.body = target
        except (OSError, ValueError, StopIteration) as exc:
            capture.discard()
            raise SegmentError(f"the segment {path} cannot be read back: {exc}") from exc

    def names(self, run: str, name: str) -> bool:
        """Whether `name` is a segment of `run` as workers name them: a result read from the broker
        never makes the run read or delete a file elsewhere."""
        return (
            re.fullmatch(rf"{re.escape(run)}/[0-9a-f]{{32}}-[0-9a-f]{{12}}\.warc\.gz", name)
            is not None
        )

    def remove(self, name: str) -> None:
        self.fs.rm(f"{self.base}/{name}")

    def discard(self, run: str) -> None:
        """A committed run's segments: what it kept is in its own WARC."""
        if self.fs.exists(f"{self.base}/{run}"):
            self.fs.rm(f"{self.base}/{run}", recursive=True)

    def set_aside(self, root: Path, current: str) -> list[str]:
        """The segments of earlier runs that did not finish, moved to .archiver/orphaned-segments/
        (a folder) or left where they are and named (elsewhere); returned as the places they went."""
        if not self.fs.exists(self.base):
            return []
        moved = []
        for entry in self.fs.ls(self.base, detail=False):
            run = str(entry).rstrip("/").rsplit("/", 1)[-1]
            if run == current:
                continue
            if self.fs.protocol in ("file", ("file", "local")) or "file" in self.fs.protocol:
                target = root / WORK_DIR / ORPHANS / run
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(entry), target)
                moved.append(str(target.relative_to(root)))
            else:
                moved.append(f"{self.location}/{run}")
            log.warning("a run that did not finish left the segments %s; set aside", moved[-1])
        return moved
