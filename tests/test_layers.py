"""The house rules on imports (DESIGN.md rules 2 and 3), checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def loaded_after(*modules: str) -> set[str]:
    code = ("import json, sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    return set(json.loads(out))


def test_console_core_never_imports_textual_or_the_backend():
    core = [f"console.{p.stem}" for p in (ROOT / "console").glob("*.py")
            if p.stem not in ("__init__", "app", "cli", "__main__")]
    assert core
    mods = loaded_after(*core)
    assert not {m for m in mods if m.split(".")[0] in ("textual", "screens", "widgets",
                                                        "backend")}


def test_backend_never_imports_the_console_or_textual():
    mods = loaded_after("backend.api.app", "backend.cli", "backend.simulator")
    assert not {m for m in mods if m.split(".")[0] in ("textual", "console", "screens",
                                                        "widgets")}


def test_console_app_and_screens_never_import_the_backend():
    screens = [f"screens.{p.stem}" for p in (ROOT / "screens").glob("*.py")]
    widgets = [f"widgets.{p.stem}" for p in (ROOT / "widgets").glob("*.py")]
    mods = loaded_after("console.app", "console.cli", *screens, *widgets)
    assert "textual" in mods
    assert not {m for m in mods if m.split(".")[0] == "backend"}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return found


def test_screens_and_widgets_never_import_the_app_shell():
    """The app (console/app.py) imports the screens; a screen that imported the app back
    made a circle that only a function-local import kept from failing. Screens reach the
    app through `self.app` and the client through console/client.py."""
    files = [*(ROOT / "screens").glob("*.py"), *(ROOT / "widgets").glob("*.py")]
    assert files
    back = {p.name: sorted(m for m in imports_of(p) if m.startswith("console.app"))
            for p in files}
    assert not {name: mods for name, mods in back.items() if mods}
