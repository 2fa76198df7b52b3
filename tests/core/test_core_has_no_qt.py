"""The engine never loads Qt, directly or through another module."""

import pkgutil
import subprocess
import sys

import dedup_gui.core


def test_importing_every_core_module_loads_no_qt() -> None:
    modules = [
        f"dedup_gui.core.{info.name}" for info in pkgutil.iter_modules(dedup_gui.core.__path__)
    ]
    assert "dedup_gui.core.pipeline" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
        "print(','.join(qt))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
