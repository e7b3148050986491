"""One claim of a piece of evidence, checked: what `verify --receipt` and `verify --wacz` print, a
line each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    name: str  # what is claimed: "files", "signature", "the commit object is the commit named"...
    ok: bool
    detail: str = ""

    def line(self) -> str:
        said = f": {self.detail}" if self.detail else ""
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}{said}"

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}
