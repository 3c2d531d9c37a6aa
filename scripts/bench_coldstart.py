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
    "numpy",
    "wordllama",
    "tokenizers",
)


def _run(program: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", program], cwd=ROOT, check=True)
    return time.perf_counter() - started


def _built_functions(directory: Path, python: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    """The function as built with its bytecode and without: its directory and environment."""
    from scripts.check_vercel_build import built_function

    functions = {}
    for label, bytecode in (("with bytecode", True), ("sources only", False)):
        (directory / label).mkdir()
        built = built_function(directory / label, {"framework": "fastapi"}, python, bytecode)
        functions[label] = (built.function, built.env(STORE_URL=f"sqlite:///{directory}/cold.db"))
    return functions


def _bundle(rounds: int) -> None:
    from scripts.check_vercel_build import python312

    program = "import time; t = time.perf_counter(); import vc__handler__python; "
    program += "print(time.perf_counter() - t)"
    with tempfile.TemporaryDirectory() as scratch:
        python = python312()
        functions = _built_functions(Path(scratch), python)
        samples: dict[str, list[float]] = {label: [] for label in functions}
        for _ in range(rounds):
            for label, (target, env) in functions.items():
                done = subprocess.run(
                    [str(python), "-c", program],
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
