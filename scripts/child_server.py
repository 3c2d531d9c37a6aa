"""A benchmark's server in a child process, on a socket bound here, so that the load comes
from outside it: shared by bench_serve and bench_adhoc."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serving(
    script: str, arguments: Sequence[str], under: Sequence[str] = ()
) -> Iterator[tuple[str, int]]:
    """`script` run with `--serve-fd FD` and `arguments` (under a tool such as valgrind when
    `under` is given), serving on the inherited socket FD: its base URL and process id. Ends
    with SIGTERM, which uvicorn handles."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    child = subprocess.Popen(
        [*under, sys.executable, script, "--serve-fd", str(sock.fileno()), *arguments],
        pass_fds=[sock.fileno()],
        env={
            **os.environ,
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            "PYTHONHASHSEED": "0",
        },
    )
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", child.pid
    finally:
        child.terminate()
        child.wait(timeout=60)
        sock.close()
