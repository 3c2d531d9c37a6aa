"""Build the deployment with the real Vercel CLI and check what it made, in both modes Vercel
can take: the FastAPI framework detected (what a first deployment gets) and no framework set
in the project (vercel.json's `framework` must then decide).

For each mode, on a copy of every file git tracks (so vercel.json alone must keep tests/ and
scripts/ out, not .vercelignore):
- one function, Python 3.12, vercel.json's maxDuration; the crons in config.json;
- no development package, no builder's pip, no second copy of the project, nothing from
  tests/, scripts/, docs/ or CI in the bundle, and its size (MB unzipped) under a budget;
- built as docs/deploy.md says to deploy (`VERCEL_PYTHON_COMPILEALL=1`): every module in the
  bundle comes with its bytecode, so a cold function compiles none;
- no file of the repository served as a static file;
- every path reaches the function with its own path (config.json's routes, followed);
- the built function's own handler, run with Python 3.12 against a real Redis, answers
  /feeds/cs.LG.xml, /, /health, /opml and /api/refresh exactly as the app does locally.

Usage: `uv run python -m scripts.check_vercel_build` (Node.js with npm, Python 3.12, uv and
redis-server on the machine; .ci/run installs them). Prints the bundle size; exit 1 on any
failure, each failure on one line.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
CLI_DIR = ROOT / "scripts" / "node"
MODES: dict[str, dict[str, Any]] = {
    "framework detected": {"framework": "fastapi"},
    "no framework set": {"framework": None},
}
PATHS = ["/feeds/cs.LG.xml", "/", "/health", "/opml", "/api/refresh"]
# Development tools, the builder's pip, and a second copy of the project (installed as a package).
UNWANTED_PACKAGES = {
    *("pytest", "_pytest", "mypy", "ruff", "playwright", "pip"),
    *("core", "api", "arxiv_feeds"),
}
UNWANTED_DIRS = ("tests/", "scripts/", "docs/", ".ci/", ".github/")
BUNDLE_BUDGET_MB = 220.0
"""About 55 MB for the service's own packages with their bytecode, 136 MB more for similarity
by meaning (numpy with its OpenBLAS, tokenizers and huggingface-hub, the model's weights):
under Vercel's 250 MB with room for a release or two."""
_BYTECODE = ".cpython-312.pyc"
BUILD_ENV = {"VERCEL_PYTHON_COMPILEALL": "1"}
"""What docs/deploy.md has every deployment set: the builder precompiles every module."""
CRON_SECRET = "check-secret-0123456789abcdef"

HANDLER_DRIVER = """
import base64, json, sys
import vc__handler__python as entry
answers = []
for request in json.load(open(sys.argv[1])):
    event = {"body": json.dumps({"method": "GET", "path": request["path"],
                                 "headers": request["headers"], "body": ""})}
    result = entry.vc_handler(event, None)
    body = result.get("body", "")
    raw = base64.b64decode(body) if result.get("encoding") == "base64" else body.encode()
    headers = {k.lower(): ", ".join(v) if isinstance(v, list) else v
               for k, v in result["headers"].items()}
    answers.append({"status": result["statusCode"], "headers": headers,
                    "body": base64.b64encode(raw).decode()})
json.dump(answers, open(sys.argv[2], "w"))
"""


class CheckFailed(Exception):
    pass


@dataclass
class Answer:
    status: int
    media_type: str
    body: bytes


def python312() -> Path:
    """Python 3.12, which Vercel's builder requires: on PATH, under pyenv, or found by uv."""
    candidates = [shutil.which("python3.12")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(p) for p in sorted(pyenv_root.glob("versions/3.12*/bin/python3.12"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "--version"], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.startswith("Python 3.12"):
            return Path(candidate)
    found = subprocess.run(["uv", "python", "find", "3.12"], capture_output=True, text=True)
    if found.returncode == 0:
        return Path(found.stdout.strip())
    raise CheckFailed("Python 3.12 not found (Vercel's Python runtime builds with it)")


def vercel_cli() -> Path:
    binary = CLI_DIR / "node_modules" / ".bin" / "vercel"
    if not binary.exists():
        # `npm install`, not `npm ci`: npm's lock file omits the CLI's optional native
        # packages for other platforms, which `npm ci` then reports as out of sync.
        installed = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"],
            cwd=CLI_DIR,
            capture_output=True,
            text=True,
        )
        if installed.returncode != 0:
            raise CheckFailed(f"npm could not install the Vercel CLI:\n{installed.stderr[-2000:]}")
    return binary


def copy_repository(destination: Path) -> set[str]:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    files = {name for name in tracked.split("\0") if name and (ROOT / name).is_file()}
    for name in files:
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination / name)
    return files


def build(workdir: Path, settings: dict[str, Any], path_prefix: str, bytecode: bool = True) -> Path:
    """The Build Output of `vercel build` (`bytecode`: with `BUILD_ENV` set, as deployed)."""
    (workdir / ".vercel").mkdir()
    project = {"projectId": "prj_check", "orgId": "team_check", "settings": settings}
    (workdir / ".vercel" / "project.json").write_text(json.dumps(project))
    env = {**os.environ, "PATH": f"{path_prefix}{os.pathsep}{os.environ['PATH']}"}
    env = {key: value for key, value in env.items() if key not in BUILD_ENV}
    env.update(BUILD_ENV if bytecode else {})
    env["VERCEL_TELEMETRY_DISABLED"] = "1"
    result = subprocess.run(
        [str(vercel_cli()), "build", "--yes"], cwd=workdir, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise CheckFailed(f"vercel build failed:\n{result.stdout}\n{result.stderr}")
    return workdir / ".vercel" / "output"


def route(config: dict[str, Any], path: str) -> tuple[str, str]:
    """Follow config.json's routes for `path`: (the destination, the path the app sees)."""
    phase = None
    for entry in config["routes"]:
        if "handle" in entry:
            phase = entry["handle"]
            continue
        if phase in ("error", "miss") or "dest" not in entry:
            continue
        match = re.match(entry["src"], path)
        if match is None:
            continue
        destination = match.expand(entry["dest"].replace("$", "\\"))
        seen = destination
        for transform in entry.get("transforms", []):
            if transform["type"] == "request.path" and transform["op"] == "set":
                seen = match.expand(transform["args"].replace("$", "\\"))
        return destination, seen
    return "", path


def check_output(
    output: Path, workdir: Path, tracked: set[str], bytecode: bool = True
) -> tuple[Path, dict[str, Any]]:
    """The function directory and its .vc-config.json, after checking everything around it
    (`bytecode`: built to carry it)."""
    project = json.loads((ROOT / "vercel.json").read_text())
    config = json.loads((output / "config.json").read_text())
    if config.get("crons") != project["crons"]:
        raise CheckFailed(f"crons in config.json: {config.get('crons')}")
    functions = sorted((output / "functions").rglob("*.func"))
    if len(functions) != 1:
        raise CheckFailed(f"expected one function, found {[f.name for f in functions]}")
    function = functions[0]
    vc_config = json.loads((function / ".vc-config.json").read_text())
    if vc_config["runtime"] != "python3.12":
        raise CheckFailed(f"runtime {vc_config['runtime']}")
    wanted = project["functions"]["api/index.py"]["maxDuration"]
    if vc_config.get("maxDuration") != wanted:
        raise CheckFailed(f"maxDuration {vc_config.get('maxDuration')}, not {wanted}")
    static = output / "static"
    served = {str(p.relative_to(static)) for p in static.rglob("*") if p.is_file()}
    if served & tracked:
        raise CheckFailed(f"repository files served as static files: {sorted(served & tracked)}")
    bundle: dict[str, str] = vc_config["filePathMap"]
    for name in bundle:
        vendored = name.split("/")[1].split("-")[0].lower() if name.startswith("_vendor/") else ""
        if name.startswith(UNWANTED_DIRS) or vendored in UNWANTED_PACKAGES:
            raise CheckFailed(f"{name} is in the bundle")
    if bytecode and (missing := without_bytecode(bundle)):
        raise CheckFailed(f"{len(missing)} modules without their bytecode, such as {missing[0]}")
    function_name = "/" + str(function.relative_to(output / "functions")).removesuffix(".func")
    for path in PATHS:
        destination, seen = route(config, path)
        if (destination, seen) != (function_name, path):
            raise CheckFailed(f"{path} reaches {destination or 'nothing'} as {seen}")
    return function, vc_config


def without_bytecode(files: Iterable[str]) -> list[str]:
    """The modules among `files` (paths from a function's root) without their Python 3.12
    bytecode beside them (`__pycache__/NAME.cpython-312.pyc`)."""
    names = sorted(files)
    compiled = {
        (name.rpartition("/__pycache__/")[0], name.rpartition("/")[2].removesuffix(_BYTECODE))
        for name in names
        if name.endswith(_BYTECODE)
    }
    return [
        name
        for name in names
        if name.endswith(".py")
        and (name.rpartition("/")[0], name[:-3].rpartition("/")[2]) not in compiled
    ]


def bundle_megabytes(workdir: Path, vc_config: dict[str, Any]) -> float:
    sources: dict[str, str] = vc_config["filePathMap"]
    return sum((workdir / source).stat().st_size for source in sources.values()) / 1e6


def materialize(function: Path, workdir: Path, vc_config: dict[str, Any], target: Path) -> None:
    """The function as Vercel deploys it: its files at the paths the bundle names."""
    shutil.copytree(function, target)
    for name, source in vc_config["filePathMap"].items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(workdir / source, target / name)


def _requests() -> list[dict[str, Any]]:
    requests = [{"path": path, "headers": {"host": "check.example"}} for path in PATHS]
    authorized = {"host": "check.example", "authorization": "Bearer wrong-secret"}
    return [*requests, {"path": "/api/refresh", "headers": authorized}]


def through_handler(function_dir: Path, python: Path, env: dict[str, str]) -> list[Answer]:
    requests = _requests()
    (function_dir / "requests.json").write_text(json.dumps(requests))
    result = subprocess.run(
        [str(python), "-c", HANDLER_DRIVER, "requests.json", "answers.json"],
        cwd=function_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise CheckFailed(f"the built handler failed:\n{result.stderr[-3000:]}")
    return [
        Answer(a["status"], a["headers"].get("content-type", ""), base64.b64decode(a["body"]))
        for a in json.loads((function_dir / "answers.json").read_text())
    ]


def locally(env: dict[str, str]) -> list[Answer]:
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from api.index import build as build_app

    with TestClient(build_app(env), base_url="http://check.example") as client:
        answers = [
            client.get(request["path"], headers=request["headers"]) for request in _requests()
        ]
    return [Answer(a.status_code, a.headers.get("content-type", ""), a.content) for a in answers]


def sample_day() -> bytes:
    """Today's announcements in rss.arxiv.org's shape (so /health says ok): five cs.LG
    papers on KV caches."""
    from tests.factories import RssItem, arxiv_rss

    today = datetime.now(UTC).strftime("%a, %d %b %Y")
    items = [RssItem(f"2411.{n:05d}", title=f"KV cache paper {n}") for n in range(1, 6)]
    return arxiv_rss(items, day=today)


def fill_store(store_url: str, directory: Path) -> None:
    """The sample day, through the project's own refresh."""
    from core.cli import main

    saved = directory / "day.xml"
    saved.write_bytes(sample_day())
    os.environ["STORE_URL"] = store_url
    if main(["refresh", "--from-file", str(saved)]) != 0:
        raise CheckFailed("could not fill the store")


def compare(mode: str, built: list[Answer], local: list[Answer]) -> None:
    requests = _requests()
    for request, remote, here in zip(requests, built, local, strict=True):
        label = f"{mode}: {request['path']}"
        if (remote.status, remote.media_type) != (here.status, here.media_type):
            raise CheckFailed(
                f"{label} answered {remote.status} {remote.media_type}, "
                f"locally {here.status} {here.media_type}"
            )
        if request["path"].startswith("/feeds/") and remote.body != here.body:
            raise CheckFailed(f"{label}: the feed differs from the local one")
        if remote.status == 404:
            raise CheckFailed(f"{label} answered 404")
    statuses = [answer.status for answer in built]
    if statuses != [200, 200, 200, 200, 401, 401]:
        raise CheckFailed(f"{mode}: statuses {statuses}")


class Built(NamedTuple):
    function: Path
    """The function laid out as Vercel deploys it."""
    vc_config: dict[str, Any]
    megabytes: float
    """Its files' size, unzipped."""

    def env(self, **extra: str) -> dict[str, str]:
        """The environment the function runs in (its own, as Vercel sets it), with `extra`."""
        own: dict[str, str] = self.vc_config.get("environment", {})
        return {"PATH": os.environ["PATH"], **own, "VERCEL": "1", **extra}


def built_function(
    directory: Path, settings: dict[str, Any], python: Path, bytecode: bool = True
) -> Built:
    """The repository built in `directory` with the real Vercel CLI (`bytecode`: as
    deployed), its output checked, and its function laid out as Vercel deploys it."""
    uv = shutil.which("uv")
    if uv is None:
        raise CheckFailed("uv is not on PATH (Vercel's builder installs with it)")
    path_prefix = f"{python.parent}{os.pathsep}{Path(uv).parent}"
    workdir = directory / "repo"
    workdir.mkdir()
    tracked = copy_repository(workdir)
    output = build(workdir, settings, path_prefix, bytecode)
    function, vc_config = check_output(output, workdir, tracked, bytecode)
    deployed = directory / "function"
    materialize(function, workdir, vc_config, deployed)
    return Built(deployed, vc_config, bundle_megabytes(workdir, vc_config))


def check_mode(mode: str, settings: dict[str, Any], python: Path, store_url: str) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        built = built_function(Path(scratch), settings, python)
        if built.megabytes > BUNDLE_BUDGET_MB:
            raise CheckFailed(
                f"{mode}: the bundle is {built.megabytes:.1f} MB, over {BUNDLE_BUDGET_MB} MB"
            )
        env = built.env(
            STORE_URL=store_url, CRON_SECRET=CRON_SECRET, BASE_URL="https://check.example"
        )
        app_env = {k: v for k, v in env.items() if k not in ("PATH", "PYTHONPATH")}
        compare(mode, through_handler(built.function, python, env), locally(app_env))
    return built.megabytes


def main() -> int:
    from scripts.local_redis import local_redis_server

    try:
        python = python312()
        with local_redis_server() as store_url, tempfile.TemporaryDirectory() as scratch:
            fill_store(store_url, Path(scratch))
            for mode, settings in MODES.items():
                size = check_mode(mode, settings, python, store_url)
                print(f"vercel build ({mode}): ok, bundle {size:.1f} MB unzipped")
    except CheckFailed as failure:
        print(f"vercel build check failed: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
