"""Cold-start benchmark: importing the deployment entrypoint (api/index.py, which also builds
the app from the configuration) in a fresh interpreter, against `import fastapi` alone.

    uv run python scripts/bench_coldstart.py [--rounds 15]

Each round starts three fresh interpreters, interleaved: an empty one (interpreter start-up),
one importing fastapi, one importing api.index. Import cost = time minus the empty start-up.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
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
