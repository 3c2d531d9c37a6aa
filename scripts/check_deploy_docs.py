"""Run every command block of docs/deploy.md as written, so the deployment guide cannot drift.

Each block is marked `<!-- checked: NAME -->`; an unmarked block, or a marked one this script
does not know, fails the check. The blocks run on a copy of every file git tracks, against a
local Redis and a local stand-in for arXiv (serving one announcement day in rss.arxiv.org's
shape), with only these stand-ins substituted, each of which must still appear in the text:
the public address becomes the local server's, port 8000 a free port, 0.0.0.0 the loopback,
the Redis URL the local one, and `cd /srv/arxiv-feeds` the copy. Vercel account commands run
as `--help` with the CLI pinned in scripts/node.

Usage: `uv run python -m scripts.check_deploy_docs` (uv, Python 3.12, redis-server; .ci/run
installs them). One line per block; exit 1 on the first failure.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from scripts.check_vercel_build import (
    CheckFailed,
    copy_repository,
    python312,
    sample_day,
    vercel_cli,
    without_bytecode,
)

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "deploy.md"
BLOCK = re.compile(
    r"(?:<!-- checked: (?P<name>[\w-]+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S
)
CRON_SECRET = "docs-check-secret-0123456789"


def marked_blocks(text: str) -> dict[str, list[str]]:
    """Marker name -> the block's command lines (comments dropped)."""
    blocks: dict[str, list[str]] = {}
    for match in BLOCK.finditer(text):
        name = match["name"]
        if name is None:
            raise CheckFailed(f"a command block has no `<!-- checked: NAME -->`:\n{match['body']}")
        lines = [line.split("  #")[0].rstrip() for line in match["body"].splitlines()]
        blocks[name] = [line for line in lines if line]
    return blocks


def substitute(line: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        line = line.replace(old, new)
    return line


@contextmanager
def arxiv_stand_in(day: bytes) -> Iterator[str]:
    """rss.arxiv.org's role: the same announcement day for any /rss/ path."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path.startswith("/rss/") else 404)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.end_headers()
            self.wfile.write(day)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/rss/"
    finally:
        server.shutdown()


def run(command: str, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise CheckFailed(f"`{command}` exited {result.returncode}:\n{result.stderr[-2000:]}")
    return result.stdout


def wait_until_serving(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(240):
        if process.poll() is not None:
            raise CheckFailed(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code in (200, 503):
                return
        except httpx.TransportError:
            time.sleep(0.25)
    raise CheckFailed("the server did not answer within 60 s")


class Guide:
    """The guide's blocks, run in order on one copy of the repository."""

    def __init__(self, workdir: Path, env: dict[str, str], redis_url: str, port: int) -> None:
        self.workdir = workdir
        self.env = env
        self.base = f"http://127.0.0.1:{port}"
        self.replacements = {
            "https://<your-project>.vercel.app": self.base,
            "redis://localhost:6379/0": redis_url,
            "--host 0.0.0.0": "--host 127.0.0.1",
            "--port 8000": f"--port {port}",
            "cd /srv/arxiv-feeds && ": "",
        }
        self.used: set[str] = set()
        self.server: subprocess.Popen[bytes] | None = None

    def line(self, text: str) -> str:
        self.used |= {old for old in self.replacements if old in text}
        return substitute(text, self.replacements)

    def any_host(self, lines: list[str]) -> None:
        for text in lines:
            command = self.line(text)
            if command.startswith("export "):
                name, _, value = command.removeprefix("export ").partition("=")
                self.env[name] = value
            elif "uvicorn" in command:
                log = (self.workdir / "server.log").open("wb")
                self.server = subprocess.Popen(
                    ["bash", "-c", f"exec {command}"],
                    cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
                wait_until_serving(self.base, self.server)
            else:
                run(command, self.workdir, self.env)
        installed = {p.name.lower() for p in self.workdir.glob(".venv/lib/python*/site-packages/*")}
        if {"pytest", "mypy", "ruff"} & installed:
            raise CheckFailed("`uv run --no-dev` installed the development tools")

    def first_refresh(self, lines: list[str]) -> None:
        (command,) = lines
        answer = json.loads(run(self.line(command), self.workdir, self.env))
        if answer.get("status") != "published":
            raise CheckFailed(f"the first refresh answered {answer}")
        feed = httpx.get(f"{self.base}/feeds/cs.LG.xml", timeout=10)
        if feed.status_code != 200 or b"KV cache paper 1" not in feed.content:
            raise CheckFailed("after the first refresh, /feeds/cs.LG.xml lacks the day's papers")

    def cron(self, lines: list[str]) -> None:
        for text in lines:
            command = self.line(text.split(None, 5)[5])
            run(command, self.workdir, self.env)
        log = (self.workdir / "refresh.log").read_text()
        if log.count("published") < len(lines):
            raise CheckFailed(f"the cron refreshes did not publish:\n{log}")

    def lambda_package(self, lines: list[str], python: Path) -> None:
        for text in lines:
            run(self.line(text), self.workdir, self.env)
        event = {
            "version": "2.0", "routeKey": "$default", "rawPath": "/feeds/cs.LG.xml",
            "rawQueryString": "", "headers": {"host": "lambda.example"},
            "requestContext": {"http": {"method": "GET", "path": "/feeds/cs.LG.xml",
                                        "sourceIp": "127.0.0.1", "protocol": "HTTP/1.1"},
                               "stage": "$default", "domainName": "lambda.example"},
            "isBase64Encoded": False,
        }  # fmt: skip
        driver = (
            "import json, sys\nfrom api.index import handler\n"
            "print(json.dumps(handler(json.loads(sys.argv[1]), None)))"
        )
        task_root = self.workdir / "build"  # the zip's root, where Lambda runs the handler
        packaged = (str(path.relative_to(task_root)) for path in task_root.rglob("*"))
        if uncompiled := without_bytecode(packaged):
            raise CheckFailed(f"{len(uncompiled)} packaged modules lack their bytecode")
        env = {**self.env, "PYTHONPATH": str(task_root)}
        out = run(f"{python} -c {_quote(driver)} {_quote(json.dumps(event))}", task_root, env)
        answer = json.loads(out.strip().splitlines()[-1])
        body = answer.get("body", "")
        raw = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
        if answer.get("statusCode") != 200 or b"KV cache paper 1" not in raw:
            raise CheckFailed(f"the packaged Lambda answered {answer.get('statusCode')}")

    def vercel_cli(self, lines: list[str]) -> None:
        binary = vercel_cli()
        for text in lines:
            if text == "npm i -g vercel":
                continue  # the CLI pinned in scripts/node stands in for the global install
            words = text.split()
            if words[0] != "vercel":
                raise CheckFailed(f"unexpected command in the Vercel CLI block: {text}")
            subcommand = [w for w in words[1:] if not w.startswith("-")][:2]
            run(f"{binary} {' '.join(subcommand)} --help", self.workdir, self.env, timeout=60)

    def close(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def check(python: Path, redis_url: str, arxiv_url: str, scratch: Path) -> list[str]:
    from scripts.local_redis import free_port

    blocks = marked_blocks(GUIDE.read_text())
    known = {"any-host", "first-refresh", "cron", "lambda-package", "vercel-cli"}
    if set(blocks) != known:
        raise CheckFailed(f"docs/deploy.md's blocks {sorted(blocks)} are not {sorted(known)}")
    workdir = scratch / "arxiv-feeds"
    workdir.mkdir()
    copy_repository(workdir)
    config = scratch / "check.toml"
    config.write_text(f'[arxiv]\nrss_url = "{arxiv_url}"\nretry_seconds = 0\n')
    inherited = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "STORE_URL")}
    env = {
        **inherited,
        "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}",
        "CRON_SECRET": CRON_SECRET,
        "ARXIV_FEEDS_CONFIG": str(config),
        "UV_PYTHON": str(python),
    }
    vercel_cli()
    guide = Guide(workdir, env, redis_url, free_port())
    done = []
    try:
        guide.any_host(blocks["any-host"])
        done.append("any-host: served with `uv run --no-dev`, no development tools installed")
        guide.first_refresh(blocks["first-refresh"])
        done.append("first-refresh: published, and the feed holds the day")
        guide.cron(blocks["cron"])
        done.append("cron: both lines refreshed")
        guide.lambda_package(blocks["lambda-package"], python)
        done.append(
            "lambda-package: every module with its bytecode; the packaged handler serves the feed"
        )
        guide.vercel_cli(blocks["vercel-cli"])
        done.append("vercel-cli: every subcommand exists in the pinned CLI")
    finally:
        guide.close()
    unused = set(guide.replacements) - guide.used
    if unused:
        raise CheckFailed(f"stand-ins no longer in docs/deploy.md: {sorted(unused)}")
    return done


def main() -> int:
    from scripts.local_redis import local_redis_server

    day = sample_day()
    try:
        python = python312()
        with (
            local_redis_server() as redis_url,
            arxiv_stand_in(day) as arxiv_url,
            tempfile.TemporaryDirectory() as scratch,
        ):
            for line in check(python, redis_url, arxiv_url, Path(scratch)):
                print(f"docs/deploy.md {line}")
    except (CheckFailed, subprocess.TimeoutExpired) as failure:
        print(f"docs/deploy.md check failed: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
