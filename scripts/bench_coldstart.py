"""Cold-start benchmark: importing the deployment entrypoint (api/index.py, which also builds
the app from the configuration) in a fresh interpreter, against `import fastapi` alone.

    uv run python scripts/bench_coldstart.py [--rounds 15] [--bundle]

Each round starts three fresh interpreters, interleaved: an empty one (interpreter start-up),
one importing fastapi, one importing api.index. Import cost = time minus the empty start-up.

With --bundle, the function Vercel deploys is built twice with the real Vercel CLI (as
scripts/check_vercel_build.py builds it: with its modules' bytecode, and without) and each
built function's handler is imported in fresh Python 3.12 interpreters, interleaved, in the
function's own environment (Vercel sets PYTHONDONTWRITEBYTECODE: a function without bytecode
compiles every module it imports on every cold start).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = {"empty": "pass", "fastapi": "import fastapi", "api.index": "import api.index"}
HEAVY = (
    "feedparser",
    "feedgen",
    "lxml",
    "httpx",
    "pylatexenc",
    "pypdf",
    "tenacity",
    "jinja2",
    "uvicorn",
    "argparse",
    "snowballstemmer",
)


def _run(program: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", program], cwd=ROOT, check=True)
    return time.perf_counter() - started


def _built_functions(directory: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    """The function as built with its bytecode and without: its directory and environment."""
    from scripts import check_vercel_build as check

    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is not on PATH (Vercel's builder installs with it)")
    python = check.python312()
    path_prefix = f"{python.parent}{os.pathsep}{Path(uv).parent}"
    functions = {}
    for label, bytecode in (("with bytecode", True), ("sources only", False)):
        workdir = directory / f"repo-{bytecode}"
        workdir.mkdir()
        tracked = check.copy_repository(workdir)
        output = check.build(workdir, {"framework": "fastapi"}, path_prefix, bytecode)
        function, vc_config = check.check_output(output, workdir, tracked, bytecode)
        target = directory / f"function-{bytecode}"
        check.materialize(function, workdir, vc_config, target)
        env = {
            "PATH": os.environ["PATH"],
            **vc_config.get("environment", {}),
            "VERCEL": "1",
            "STORE_URL": f"sqlite:///{directory}/cold.db",
        }
        functions[label] = (target, env)
    return functions


def _bundle(rounds: int) -> None:
    from scripts.check_vercel_build import python312

    program = "import time; t = time.perf_counter(); import vc__handler__python; "
    program += "print(time.perf_counter() - t)"
    with tempfile.TemporaryDirectory() as scratch:
        functions = _built_functions(Path(scratch))
        samples: dict[str, list[float]] = {label: [] for label in functions}
        for _ in range(rounds):
            for label, (target, env) in functions.items():
                done = subprocess.run(
                    [str(python312()), "-c", program],
                    cwd=target,
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                samples[label].append(float(done.stdout.split()[-1]))
    print(f"the built function's handler imported, median of {rounds} interleaved rounds:")
    medians = {label: statistics.median(values) for label, values in samples.items()}
    for label, median in medians.items():
        print(f"  {label:<14} {median * 1000:7.1f} ms")
    ratio = medians["sources only"] / medians["with bytecode"]
    print(f"  sources only / with bytecode = {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--bundle", action="store_true", help="the function Vercel deploys")
    args = parser.parse_args()
    if args.bundle:
        _bundle(args.rounds)
        return
    samples: dict[str, list[float]] = {name: [] for name in PROGRAMS}
    for _ in range(args.rounds):
        for name, program in PROGRAMS.items():
            samples[name].append(_run(program))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    fastapi = medians["fastapi"] - medians["empty"]
    index = medians["api.index"] - medians["empty"]
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, api.index; print(' '.join(sorted(sys.modules)))"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    heavy = sorted({name for name in loaded if name.split(".")[0] in HEAVY})
    print(f"median of {args.rounds} interleaved rounds of fresh interpreters:")
    print(f"  interpreter start-up   {medians['empty'] * 1000:7.1f} ms")
    print(f"  import fastapi         {fastapi * 1000:7.1f} ms (beyond start-up)")
    print(f"  import api.index       {index * 1000:7.1f} ms (beyond start-up; builds the app)")
    print(f"  api.index / fastapi  = {index / fastapi:.2f}x (target <= 1.5x)")
    print(f"  heavy modules loaded by api.index: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
