"""A throwaway redis-server on a free loopback port, for the tests, the deployment check and
the benchmarks, started with Upstash-like limits: any value over `max_value` is refused."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def local_redis_server(max_value: str = "1mb") -> Iterator[str]:
    """Yield the URL of a new redis-server (from PATH) that keeps nothing on disk."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", directory, "--proto-max-bulk-len", max_value],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        for line in process.stdout:  # its log, on stdout, says when it accepts connections
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError(f"redis-server exited with {process.wait()}")
        process.stdout.close()
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait()
