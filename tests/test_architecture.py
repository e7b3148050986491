"""The layer order of ARCHITECTURE.md holds: a module imports only from its own layer or the ones
below.

Capture knows nothing of text, text nothing of storage, storage nothing of the WARC evidence, the
evidence nothing of history, and only the run, the `Archive` facade and the command line see
everything below them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "archiver"

# Lowest first; a module belongs to the layer of its subpackage, or is named here if at the top.
LAYERS = [
    {"errors", "urls", "untrusted", "config", "words"},
    {"capture"},
    {"text"},
    {"discovery"},
    {"storage"},
    {"evidence"},
    {"history"},
    {"run", "notify", "cluster"},
    {"archive", "cron"},
    {"cli", "__main__", "__init__"},  # the package exports `Archive`
]


def room(module: str) -> str:
    """The room of a dotted module name under archiver: its subpackage, or itself at the top."""
    return module.split(".")[0]


def layer(module: str) -> int:
    name = room(module) or "__init__"
    for number, rooms in enumerate(LAYERS):
        if name in rooms:
            return number
    raise AssertionError(
        f"archiver.{module} is in no layer: add its room to ARCHITECTURE.md and LAYERS"
    )


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, dotted module under archiver) of every archiver import in the file, relative ones
    resolved."""
    is_package = path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    if module == "__init__":
        package = []
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                if node.module:
                    found.append((node.lineno, ".".join(target)))
                else:
                    found += [(node.lineno, ".".join([*target, a.name])) for a in node.names]
            elif node.module == "archiver":
                found += [(node.lineno, a.name) for a in node.names]
            elif node.module and node.module.startswith("archiver."):
                found.append((node.lineno, node.module.removeprefix("archiver.")))
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name.removeprefix("archiver."))
                for a in node.names
                if a.name.startswith("archiver.")
            ]
    return [(line, name) for line, name in found if name and name != "__version__"]


def upward(module: str, path: Path) -> list[str]:
    """The imports of `module` (read from `path`) that reach a layer above its own."""
    return [
        f"{path.name}:{line} imports archiver.{name}"
        for line, name in imports(module, path)
        if layer(name) > layer(module)
    ]


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_module_imports_from_a_layer_above_its_own(module: str) -> None:
    found = upward(module, modules()[module])
    assert not found, f"archiver.{module}: " + "; ".join(found)


def test_the_rooms_are_one_level_deep() -> None:
    deep = [p for p in PACKAGE.rglob("__init__.py") if len(p.relative_to(PACKAGE).parts) > 2]
    assert not deep


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself: storage reaching up to the run, relatively or not, is reported; capture's
    own is not."""
    source = tmp_path / "fake.py"
    source.write_text(
        "from ..run.run import Run\nfrom archiver.history import compare\nfrom . import atomic\n"
    )
    assert upward("storage.fake", source) == [
        "fake.py:1 imports archiver.run.run",
        "fake.py:2 imports archiver.history",
    ]
    assert upward("run.fake", source) == []
