"""wrk (Debian's HTTP load generator) as the benchmarks run it: one thread, `clients`
connections, `seconds` long, with the latency percentiles."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class WrkRun:
    rate: float
    """Requests per second."""
    p50: str
    p99: str
    """Latency percentiles as wrk prints them (`1.23ms`)."""
    errors: list[str]
    """wrk's lines about non-2xx answers and socket errors, if it printed any."""


def run_wrk(url: str, clients: int, seconds: int, *headers: str) -> WrkRun:
    options = [item for header in headers for item in ("-H", header)]
    out = subprocess.run(
        ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency", *options, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line.strip() for line in out.splitlines()]
    return WrkRun(
        rate=float(next(line for line in lines if "Requests/sec" in line).split()[1]),
        p50=next(line for line in lines if line.startswith("50%")).split()[1],
        p99=next(line for line in lines if line.startswith("99%")).split()[1],
        errors=[line for line in lines if "Non-2xx" in line or "Socket errors" in line],
    )
