"""The README's and docs/deploy.md's commands exist as written. docs/deploy.md's blocks also
run end to end in CI (scripts/check_deploy_docs.py); this catches drift in seconds."""

from __future__ import annotations

import re
import shlex

import pytest

from core.cli import _parser
from scripts.check_deploy_docs import marked_blocks
from tests.conftest import ROOT

FENCE = re.compile(r"```\w*\n(.*?)```", re.S)
OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
PLACEHOLDERS = {"PATH": "x.toml", "N": "7", "ID": "2411.17700"}


def _command_lines(markdown: str) -> list[str]:
    lines = [
        line.split("#")[0].strip()
        for block in FENCE.findall(markdown)
        for line in block.splitlines()
    ]
    return [line for line in lines if line]


def _cli_arguments(line: str) -> list[str]:
    """`arxiv-feeds [--config PATH] serve [--port 8000]` -> ["--config", "x.toml", "serve", ...]."""
    words = shlex.split(OPTIONAL.sub(r"\1", line.removeprefix("uv run ")))
    return [PLACEHOLDERS.get(word, word) for word in words[1:]]


README_COMMANDS = _command_lines((ROOT / "README.md").read_text())


@pytest.mark.parametrize(
    "line", [line for line in README_COMMANDS if re.match(r"(uv run )?arxiv-feeds ", line)]
)
def test_every_documented_cli_command_parses(line: str) -> None:
    try:
        _parser().parse_args(_cli_arguments(line))
    except SystemExit as exit_:
        pytest.fail(f"the README documents `{line}`, which the CLI rejects ({exit_.code})")


def test_every_documented_script_exists() -> None:
    scripts = [
        re.search(r"scripts/\S+\.py", line) for line in README_COMMANDS if "scripts/" in line
    ]
    missing = [m.group(0) for m in scripts if m and not (ROOT / m.group(0)).is_file()]
    assert scripts and not missing


def test_every_deploy_guide_block_is_one_the_check_runs() -> None:
    blocks = marked_blocks((ROOT / "docs" / "deploy.md").read_text())
    assert set(blocks) == {"any-host", "first-refresh", "cron", "lambda-package", "vercel-cli"}
    assert any("--no-emit-project" in line for line in blocks["lambda-package"])
    assert all("--no-dev" in line for line in blocks["cron"])


def test_every_guarantee_in_the_readme_names_a_test_that_exists() -> None:
    section = (ROOT / "README.md").read_text().split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", section)
    assert len(named) >= 11
    for path, name in named:
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M), f"{path}::{name}"


def test_the_readme_states_the_query_bounds_the_code_has() -> None:
    from core.query.search import MAX_SCORED_PAPERS
    from core.web.gate import QUERY_SLOTS

    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"at most {MAX_SCORED_PAPERS:,} papers a request" in readme
    assert QUERY_SLOTS == 1 and "Queries take turns, one at a time per process" in readme
