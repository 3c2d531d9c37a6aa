"""Digests of the code that makes stored data (scores, and the day indexes keyed by them), so
that what one release stored is made again by a release that would make it otherwise."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).parent


@cache
def release(package: str) -> str:
    """An installed package's release ("unknown" in a bundle without its metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


@cache
def code_digest(modules: tuple[str, ...], packages: tuple[str, ...]) -> str:
    """A digest of this project's `modules` (paths under core/) and the releases of the
    `packages` they depend on for their output; of this project's release instead of its
    sources in an installation that holds none (compiled modules only)."""
    try:
        sources = b"".join((_PACKAGE / name).read_bytes() for name in modules)
    except OSError:
        sources = f"arxiv-feeds {release('arxiv-feeds')}".encode()
    releases = "|".join(release(package) for package in packages)
    return hashlib.sha256(sources + releases.encode()).hexdigest()[:16]
