"""The tests' own layout: test modules share code through tests/support/ and conftest.py files,
never by importing one another, and each fixture name is defined in one place only (two
fixtures of one name silently shadow each other depending on where a test lives)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(TESTS.parent)): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(TESTS.rglob("*.py"))
    }


def _is_test_module(name: str) -> bool:
    """tests.test_x, tests.e2e.test_x or a conftest: modules pytest loads, not libraries."""
    parts = name.split(".")
    return parts[0] == "tests" and (parts[-1].startswith("test_") or parts[-1] == "conftest")


def imported_test_modules(tree: ast.Module) -> list[str]:
    """The test modules (and conftests) a module imports, at any depth of the file."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _is_test_module(node.module):
                found.append(node.module)
            else:  # from tests import test_x
                found += [
                    f"{node.module}.{a.name}"
                    for a in node.names
                    if _is_test_module(f"{node.module}.{a.name}")
                ]
    return found


def _fixture_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if ast.unparse(target) not in ("pytest.fixture", "fixture"):
            continue
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
        return node.name
    return None


def fixture_definitions(modules: dict[str, ast.Module]) -> dict[str, list[str]]:
    """Each fixture name and the places (file:line) that define it."""
    places: dict[str, list[str]] = defaultdict(list)
    for path, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = _fixture_name(node)
                if name is not None:
                    places[name].append(f"{path}:{node.lineno}")
    return places


def test_no_test_module_imports_another() -> None:
    offenders = {
        path: found for path, tree in _modules().items() if (found := imported_test_modules(tree))
    }
    assert offenders == {}, "move what is shared to tests/support/ or a conftest.py"


def test_each_fixture_is_defined_once() -> None:
    repeated = {
        name: places for name, places in fixture_definitions(_modules()).items() if len(places) > 1
    }
    assert repeated == {}, "define the fixture once, in the conftest.py that covers its users"


def test_the_checks_see_what_they_look_for() -> None:
    """The checks above must be able to fail: fed a bad layout, they find it."""
    bad = ast.parse(
        "import pytest\n"
        "from tests.test_orders import ADDRESS\n"
        "from tests import test_trace\n"
        "from tests.support import factories\n"
        "def helper():\n"
        "    from tests.e2e.conftest import NEEDS_CHROMIUM\n"
        "@pytest.fixture\n"
        "def sim(): ...\n"
        "@pytest.fixture(scope='module', name='sim')\n"
        "def other_sim(): ...\n"
    )
    assert imported_test_modules(bad) == [
        "tests.test_orders",
        "tests.test_trace",
        "tests.e2e.conftest",
    ]
    assert fixture_definitions({"a.py": bad, "b.py": bad})["sim"] == [
        "a.py:8",
        "a.py:10",
        "b.py:8",
        "b.py:10",
    ]
    assert len(fixture_definitions(_modules())) > 20  # it does find the real fixtures
