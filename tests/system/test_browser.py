"""The landing page in a real headless Chromium (Debian's `chromium`, driven by Playwright):
no console errors, the builder's URL returns a valid feed, a screenshot for people to look at.

Skipped where no Chromium is installed, failed instead under CI=true (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import feedparser
import httpx
import pytest
import uvicorn

from core.config import load_settings
from core.refresh import refresh
from core.store.sqlite import SQLiteStore
from core.web.app import create_app
from tests.conftest import ROOT, FakeClock, unavailable
from tests.factories import RssItem, arxiv_rss

ARTIFACTS = ROOT / "artifacts"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ITEMS = [
    RssItem(
        "2411.00001",
        title="KV cache compression for LLM inference",
        abstract="Code: https://github.com/anorganisationwithalongname/"
        "kvcachecompressionforlargelanguagemodelinferenceatscale/tree/main/src",
        categories=("cs.LG",),
    ),
    RssItem("2411.00002", title="MoE routing at scale", categories=("cs.DC", "cs.LG")),
    RssItem(
        "2411.00003",
        title="Speculative decoding on GPUs",
        abstract=r"A $\mathcal{O}(\sqrt{n})$ speed-up with $x_{ij}^{2}$ drafts.",
        categories=("cs.CL",),
    ),
]


def _chromium() -> str:
    path = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not path:
        message = "no Chromium installed (apt-get install chromium); .ci/run installs it"
        unavailable(message)
    return path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """A real uvicorn serving a refreshed store, its base URL configured to its own address."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = load_settings(env={"STORE_URL": f"sqlite:///{tmp_path}/b.db", "BASE_URL": base})
    store = SQLiteStore(tmp_path / "b.db")
    refresh(settings, store, lambda: arxiv_rss(ITEMS), source="t", clock=FakeClock())
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, lambda: store), log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_landing_page_builds_a_working_feed_url(site: str) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{site}/", wait_until="networkidle")
        assert "KV cache compression for LLM inference" in page.inner_text("#papers")

        page.check("input[name=cat][value='cs.LG']")
        page.check("input[name=kw][value='MoE']")
        page.select_option("#fmt", "atom")
        page.wait_for_function("document.getElementById('feed-url').textContent.includes('q=MoE')")
        page.wait_for_function(
            "document.getElementById('feed-count').textContent.trim() === '1 paper'"
        )
        url = page.inner_text("#feed-url").strip()
        assert url == f"{site}/feed.atom?cat=cs.LG&q=MoE"
        assert page.is_visible("#copy")
        page.screenshot(path=str(ARTIFACTS / "landing.png"), full_page=True)
        browser.close()

    assert errors == [], "a script or style the page's policy refuses is a console error"
    feed = feedparser.parse(httpx.get(url, timeout=10).content)
    assert not feed.bozo
    assert [entry.id[-10:] for entry in feed.entries] == ["2411.00002"]


AXE = ROOT / "scripts" / "node" / "node_modules" / "axe-core" / "axe.min.js"


def _axe() -> Path:
    if not AXE.is_file():
        message = f"{AXE} is missing: `cd scripts/node && npm install` (.ci/run does)"
        unavailable(message)
    return AXE


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_landing_page_has_no_axe_violations_and_fits_a_phone(
    site: str, scheme: Literal["light", "dark"]
) -> None:
    executable, axe = _chromium(), _axe()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page(  # axe is the test's script, which the page's policy refuses
            viewport={"width": 390, "height": 844}, color_scheme=scheme, bypass_csp=True
        )
        page.goto(f"{site}/", wait_until="networkidle")
        page.add_script_tag(path=str(axe))
        violations = page.evaluate(
            "async () => (await axe.run(document)).violations"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
        )
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        landmarks = page.evaluate("document.querySelectorAll('main').length")
        maths = page.evaluate("document.querySelectorAll('math[alttext]').length")
        browser.close()
    assert violations == []
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px at 390 px"
    assert landmarks == 1
    assert maths == 2, "the abstract's inline math is MathML, checked by axe too"
