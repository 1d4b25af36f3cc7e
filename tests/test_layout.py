"""The shape of the tests: they mirror the packages of emhana, test data comes from tests/builders, and conftest
files hold fixtures only, so no module imports from a conftest or from another test module."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "emhana"
# Test directories with no package of their own, because they test across packages:
CROSS_CUTTING = {
    "builders": "test data, constants and shared fixtures, imported by the tests of every package",
    "browser": "journeys in a real browser through every door",
    "hardening": "security, fuzzing, invariants and crash safety over the whole application",
    "docs": "the documents in docs/ against the code that cites them",
}


def _modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _forbidden(dotted: str) -> bool:
    """Whether a dotted module name is a conftest or a test module (`tests.x.conftest`, `tests.x.test_y`)."""
    return any(part == "conftest" or part.startswith("test_") for part in dotted.split("."))


def bad_imports(source: str) -> list[str]:
    """The modules a source imports that are conftests or test modules."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _forbidden(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if _forbidden(node.module):
                found.append(node.module)
            else:  # `from tests.x import conftest` or `from tests.x import test_y`
                found += [f"{node.module}.{a.name}" for a in node.names if _forbidden(a.name) and a.name != "*"]
    return found


def _is_fixture(decorator: ast.expr) -> bool:
    """`@pytest.fixture`, `@pytest.fixture(...)`, `@fixture` or `@fixture(...)`."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute):
        return target.attr == "fixture"
    return isinstance(target, ast.Name) and target.id == "fixture"


def non_fixtures(source: str) -> list[str]:
    """The top-level definitions of a conftest that are neither fixtures nor pytest hooks nor `pytest_plugins`."""
    found: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if not node.name.startswith("pytest_") and not any(_is_fixture(d) for d in node.decorator_list):
                found.append(node.name)
        elif isinstance(node, ast.ClassDef):
            found.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [ast.unparse(t) for t in targets if ast.unparse(t) != "pytest_plugins"]
    return found


def test_no_module_imports_from_a_conftest_or_a_test_module() -> None:
    offending = [
        f"{path.relative_to(TESTS.parent)}: {name}"
        for path in _modules()
        for name in bad_imports(path.read_text(encoding="utf-8"))
    ]
    assert not offending, "move shared helpers to tests/builders and fixtures to a conftest:\n" + "\n".join(offending)


def test_conftest_files_hold_only_fixtures() -> None:
    offending = [
        f"{path.relative_to(TESTS.parent)}: {name}"
        for path in _modules()
        if path.name == "conftest.py"
        for name in non_fixtures(path.read_text(encoding="utf-8"))
    ]
    assert not offending, "move builders, constants and helpers to tests/builders:\n" + "\n".join(offending)


def test_every_test_directory_mirrors_a_package() -> None:
    directories = sorted({p.parent.relative_to(TESTS) for p in _modules()} - {Path(".")})
    orphans = [
        d.as_posix()
        for d in directories
        if d.parts[0] not in CROSS_CUTTING and not (PACKAGE / d / "__init__.py").is_file()
    ]
    assert not orphans, f"no package emhana/<dir> for these test directories: {orphans}"


def test_every_test_directory_is_a_package() -> None:
    missing = sorted(
        d.relative_to(TESTS).as_posix() for d in {p.parent for p in _modules()} if not (d / "__init__.py").is_file()
    )
    assert not missing, f"add an __init__.py (a one-line docstring) to: {missing}"


def test_the_allow_list_names_existing_directories() -> None:
    stale = sorted(name for name in CROSS_CUTTING if not (TESTS / name).is_dir())
    assert not stale, f"no such test directory: {stale}"


def test_the_scans_see_every_spelling() -> None:
    source = (
        "from tests.conftest import clean\nfrom tests.a.test_b import c\nimport tests.a.conftest\n"
        "from tests.a import test_b, builders\nfrom tests.builders.people import add_person\nimport tests.builders\n"
    )
    assert bad_imports(source) == ["tests.conftest", "tests.a.test_b", "tests.a.conftest", "tests.a.test_b"]
    conftest = (
        "import pytest\nfrom pytest import fixture\npytest_plugins = ['x']\nLIMIT = 3\n"
        "@pytest.fixture\ndef a() -> int:\n    return 1\n@fixture(scope='session')\ndef b() -> int:\n    return 2\n"
        "@pytest.fixture()\ndef c() -> int:\n    return 3\ndef pytest_configure(config: object) -> None:\n    pass\n"
        "def helper() -> int:\n    return 4\nclass World:\n    pass\n"
    )
    assert non_fixtures(conftest) == ["LIMIT", "helper", "World"]
