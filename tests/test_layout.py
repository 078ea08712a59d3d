"""The package's layout is enforced: imports follow the data flow, modules stay small.

Every module's imports are read with :mod:`ast` (those inside functions too). Each
subpackage (a "room") has a rank along the flow; a module may import its own room,
any room ranked before it, and the rooms usable from anywhere. ``reports`` and
``dashboards`` share a rank and do not import each other: what both need lives before
them (``present``, ``selection``…). See docs/layout.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"

#: Usable from anywhere (and ``workbench/__init__.py``, whose front door names its targets as text).
ANYWHERE = {"", "exceptions", "periods", "resources", "publish", "safeyaml"}
#: The rooms along the flow; a room may import those before it.
FLOW = [
    {"contract"}, {"extract"}, {"prepare"}, {"indicators"}, {"selection"}, {"disclosure"}, {"present"},
    {"reports", "dashboards"}, {"distribute"}, {"cli"},
]
RANK = {room: i for i, rooms in enumerate(FLOW) for room in rooms}
MAX_LINES = 600
#: Modules allowed over MAX_LINES for now, with the reason. Remove an entry once it is split.
LONG_MODULES = {
}
#: Imports against the flow that other branches are removing: (importing module, imported room) → reason.
PENDING_IMPORTS = {
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _room(relative: Path) -> str:
    """``indicators/engine.py`` → ``indicators``; ``periods.py`` → ``periods``; ``__init__.py`` → ``""``."""
    if len(relative.parts) > 1:
        return relative.parts[0]
    return "" if relative.name == "__init__.py" else relative.stem


def _package_of(relative: Path) -> list[str]:
    parts = ["workbench", *relative.parts[:-1]]
    return parts if relative.name == "__init__.py" else parts


def imported_rooms(path: Path) -> list[tuple[int, str, str]]:
    """``(line, dotted name, room)`` for every import of a ``workbench`` module in ``path``."""
    relative = path.relative_to(PACKAGE)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(relative)[: len(_package_of(relative)) - node.level + 1]
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                module = node.module or ""
            if module == "workbench":  # from workbench import reports, resources…
                names = [f"workbench.{alias.name}" for alias in node.names]
            else:
                names = [module]
        for name in names:
            parts = name.split(".")
            if parts[0] != "workbench":
                continue
            room = parts[1] if len(parts) > 1 else ""
            if room in ("__version__", "WorkbenchError"):
                room = ""
            found.append((node.lineno, name, room))
    return found


def flow_violations() -> list[tuple[str, int, str, str, str]]:
    """``(module, line, its room, imported name, imported room)`` for every import against the flow."""
    out = []
    for path in _modules():
        relative = path.relative_to(PACKAGE)
        room = _room(relative)
        for line, name, target in imported_rooms(path):
            if target == room or target in ANYWHERE:
                continue
            if room in ANYWHERE:  # the rooms usable from anywhere import only each other
                out.append((relative.as_posix(), line, room, name, target))
                continue
            assert target in RANK, f"{relative}:{line}: {name} is in no room of the flow; add it to tests/test_layout.py"
            assert room in RANK, f"{relative} is in no room of the flow; add its room to tests/test_layout.py"
            if RANK[target] >= RANK[room]:
                out.append((relative.as_posix(), line, room, name, target))
    return out


def test_every_room_is_known():
    rooms = {_room(p.relative_to(PACKAGE)) for p in _modules()}
    assert sorted(rooms - ANYWHERE - set(RANK)) == []


def test_imports_follow_the_flow():
    problems = []
    for module, line, room, name, target in flow_violations():
        if (module, target) in PENDING_IMPORTS:
            continue
        why = "do not import each other" if RANK.get(target) == RANK.get(room) else "stands after it"
        problems.append(f"workbench/{module}:{line}: {room or 'workbench'} imports {name} ({target}), which "
                        f"{why}; move the shared part before both, or the code after {target}")
    assert not problems, "imports against the flow:\n" + "\n".join(problems)


def test_pending_exceptions_are_still_needed():
    found = {(module, target) for module, _, _, _, target in flow_violations()}
    stale = [f"{m} → {t}" for m, t in PENDING_IMPORTS if (m, t) not in found]
    assert not stale, f"fixed, remove from PENDING_IMPORTS: {', '.join(stale)}"


def test_modules_stay_small():
    long = {}
    for path in _modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        relative = path.relative_to(PACKAGE).as_posix()
        if lines > MAX_LINES and relative not in LONG_MODULES:
            long[relative] = lines
    assert not long, f"modules over {MAX_LINES} lines (split them along their concepts): {long}"


@pytest.mark.parametrize("relative", sorted(LONG_MODULES))
def test_long_module_exceptions_are_still_needed(relative):
    path = PACKAGE / relative
    if path.exists():
        assert len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES, \
            f"{relative} is short now: remove it from LONG_MODULES"


def test_the_checker_sees_imports_inside_functions(tmp_path):
    # the rule is only as good as the reading of imports: a late import inside a function counts
    rooms = {room for _, _, room in imported_rooms(PACKAGE / "cli" / "main.py")}
    assert {"extract", "reports", "indicators", "present"} <= rooms
