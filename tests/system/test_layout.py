"""The code stays a house a newcomer can find their way in: one place per concept, short
functions and modules, tests laid out as the code is, and the README's layout naming every
package."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

CORE = ROOT / "core"
MAX_FUNCTION_LINES = 50
MAX_MODULE_LINES = 450
MAX_TOP_LEVEL_MODULES = 10


def _sources() -> list[Path]:
    return sorted([*CORE.rglob("*.py"), *(ROOT / "api").rglob("*.py")])


def _functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.name, (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_no_function_is_longer_than_fifty_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{name} ({lines} lines)"
        for path in _sources()
        for name, lines in _functions(path)
        if lines > MAX_FUNCTION_LINES
    ]
    assert not long, f"split these into named steps: {long}"


def test_no_module_is_longer_than_about_four_hundred_fifty_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in _sources()
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    ]
    assert not long, f"these hold more than one concept: {long}"


def test_core_keeps_few_top_level_modules_beside_its_packages() -> None:
    modules = sorted(p.name for p in CORE.glob("*.py") if p.name != "__init__.py")
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


def test_tests_mirror_the_packages_of_core() -> None:
    packages = {p.parent.name for p in CORE.glob("*/__init__.py")}
    folders = {p.parent.name for p in (ROOT / "tests").glob("*/__init__.py")}
    assert packages <= folders, f"no test folder for {sorted(packages - folders)}"
    assert folders - packages == {"system"}, "a test folder for no package of core"


def test_the_readmes_layout_names_every_package_and_top_level_module() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("Layout, one concept per place") :]
    packages = [f"core/{p.parent.name}/" for p in CORE.glob("*/__init__.py")]
    modules = [f"core/{p.name}" for p in CORE.glob("*.py") if p.name != "__init__.py"]
    missing = [name for name in sorted([*packages, *modules]) if name not in layout]
    assert not missing, f"README's layout does not name {missing}"
