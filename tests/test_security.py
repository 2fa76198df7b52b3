"""The app talks to no network, runs no shell, and builds no SQL from data (checked in source)."""

from __future__ import annotations

import ast
from pathlib import Path

import dedup_gui

SOURCES = sorted(Path(dedup_gui.__file__).parent.rglob("*.py"))
NETWORK_OR_SHELL = {"socket", "subprocess", "urllib.request", "http.client", "ftplib", "smtplib"}
# Names that may appear inside an f-string SQL statement: our own table names and integers.
SQL_FSTRING_NAMES = {"table", "current"}


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_opens_network_connections_or_runs_commands() -> None:
    assert len(SOURCES) > 20
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {name for name in _imports(tree) if name in NETWORK_OR_SHELL}
        assert not used, f"{path.name} imports {used}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in {"system", "popen", "startDetached"}, path.name


def test_sql_is_never_built_from_values() -> None:
    calls = 0
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"execute", "executemany", "executescript"}
                and node.args
            ):
                continue
            calls += 1
            sql = node.args[0]
            if isinstance(sql, ast.JoinedStr):
                names = {
                    n.id
                    for v in sql.values
                    if isinstance(v, ast.FormattedValue)
                    for n in ast.walk(v.value)
                    if isinstance(n, ast.Name)
                }
                assert names <= SQL_FSTRING_NAMES, f"{path.name}:{node.lineno} formats {names}"
            else:
                assert not isinstance(sql, ast.BinOp), f"{path.name}:{node.lineno} builds SQL"
                assert not (
                    isinstance(sql, ast.Call)
                    and isinstance(sql.func, ast.Attribute)
                    and sql.func.attr == "format"
                ), f"{path.name}:{node.lineno} formats SQL"
    assert calls > 20
