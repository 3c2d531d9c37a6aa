"""The README's "Deploy with Vercel" button, made from one setting: `Repository` under
`[project.urls]` in pyproject.toml.

Usage: `uv run python scripts/deploy_button.py` prints the button's Markdown; `--write`
puts it in README.md (after a fork, set `Repository` to the fork's address, then run this).
A test keeps the README's button equal to what this makes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BUTTON = re.compile(r"^\[!\[Deploy with Vercel\]\(https://vercel\.com/button\)\]\(.*\)$", re.M)
ENV_DESCRIPTION = (
    "CRON_SECRET: any long random string; it protects /api/refresh, which Vercel's daily cron "
    "calls. LLM_API_KEY: an OpenAI-compatible API key for paper summaries (set LLM_BASE_URL and "
    "LLM_MODEL too for other providers); leave it empty for feeds without summaries. "
    "VERCEL_PYTHON_COMPILEALL: keep 1, so the build compiles the code once and a cold "
    "function starts about twice as fast."
)
BUILD_DEFAULTS = {"VERCEL_PYTHON_COMPILEALL": "1"}
"""Pre-filled: the build precompiles every module (docs/deploy.md)."""
UPSTASH = [
    {
        "type": "integration",
        "integrationSlug": "upstash",
        "productSlug": "upstash-kv",
        "protocol": "storage",
    }
]


def repository() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    url: str = project["urls"]["Repository"]
    return url.rstrip("/")


def link(repo: str | None = None) -> str:
    repo = repo or repository()
    query = {
        "repository-url": repo,
        "project-name": "arxiv-feeds",
        "repository-name": "arxiv-feeds",
        "env": ",".join(["CRON_SECRET", "LLM_API_KEY", *BUILD_DEFAULTS]),
        "envDefaults": json.dumps(BUILD_DEFAULTS, separators=(",", ":")),
        "envDescription": ENV_DESCRIPTION,
        "envLink": f"{repo}/blob/main/docs/deploy.md",
        "stores": json.dumps(UPSTASH, separators=(",", ":")),
    }
    return "https://vercel.com/new/clone?" + urlencode(query, quote_via=quote)


def button(repo: str | None = None) -> str:
    return f"[![Deploy with Vercel](https://vercel.com/button)]({link(repo)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="put the button in README.md")
    args = parser.parse_args(argv)
    if not args.write:
        print(button())
        return 0
    text = README.read_text()
    if not BUTTON.search(text):
        print("README.md has no Deploy with Vercel button line", file=sys.stderr)
        return 1
    README.write_text(BUTTON.sub(lambda _: button(), text, count=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
