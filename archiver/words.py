"""How counts read in the lines written for people: "1 version", "2 versions"."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """`n` and `noun`, plural unless `n` is one (English nouns of this program take an s)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
