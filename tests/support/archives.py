"""An archive as a user reads it on disk: its settings in archiver.toml and the files of its
pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

from archiver.urls import normalize_url, page_dir


def allow_loopback_sources(root: Path) -> None:
    """Tests serve sources on 127.0.0.x, which the default configuration refuses to fetch."""
    toml = root / "archiver.toml"
    toml.write_text(toml.read_text().replace("allow_private = false", "allow_private = true"))


def configure(root: Path, *rules: dict[str, object], **settings: object) -> None:
    """Set `key = value` lines of archiver.toml (every key used here is unique across its tables);
    append a [[schedule.rules]] table for each of `rules`."""
    toml = root / "archiver.toml"
    text = toml.read_text()
    for key, value in settings.items():
        text, count = re.subn(
            rf"^{key} = .*$", f"{key} = {json.dumps(value)}", text, flags=re.MULTILINE
        )
        assert count == 1, key
    for rule in rules:
        text += "\n[[schedule.rules]]\n" + "".join(
            f"{k} = {json.dumps(v)}\n" for k, v in rule.items()
        )
    toml.write_text(text)


def folder(root: Path, url: str) -> Path:
    return root / page_dir(normalize_url(url))


def meta(root: Path, url: str) -> dict:
    return json.loads((folder(root, url) / "meta.json").read_text())


def article(root: Path, url: str) -> str:
    return (folder(root, url) / "article.md").read_text()
