"""Deployment: vercel.json, the entrypoint (ASGI and AWS Lambda), the refresh endpoint."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import feedparser
import httpx
import pytest
from fastapi.testclient import TestClient

from api.index import build, handler
from core.config import Settings, load_settings
from core.days.recovery import live_refresh
from core.models import RefreshReport
from core.store import Store
from core.web.app import create_app
from tests.conftest import ROOT, FakeClock
from tests.factories import Drip, RssItem, arxiv_rss, chat_completion
from tests.summarize.test_batch import summary_json

SECRET = "s3cret-cron-token"
ITEMS = [RssItem(f"2411.0000{n}", title=f"LLM inference trick {n}") for n in range(1, 5)]


def test_vercel_json_names_the_framework_and_four_daily_crons() -> None:
    """What Vercel's build makes of it is checked by scripts/check_vercel_build.py (in CI)."""
    config = json.loads((ROOT / "vercel.json").read_text())
    assert "builds" not in config
    assert config["framework"] == "fastapi", "a first deployment must not guess otherwise"
    assert "rewrites" not in config, "the FastAPI preset would pass the rewritten path to the app"
    assert config["functions"]["api/index.py"]["maxDuration"] == 300
    schedules = ["30 5 * * *", "0 7 * * *", "0 9 * * *", "0 13 * * *"]
    assert [c["schedule"] for c in config["crons"]] == schedules, "daily each: Vercel's Hobby"
    assert {c["path"] for c in config["crons"]} == {"/api/refresh"}


def _apigw_v2_event(path: str, headers: dict[str, str] | None = None) -> dict[str, object]:
    """An API Gateway HTTP API (payload 2.0) event, as AWS sends it to Lambda."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "NetNewsWire (RSS Reader)",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "28/Nov/2024:06:00:00 +0000",
            "timeEpoch": 1732773600000,
        },
        "isBase64Encoded": False,
    }


class _LambdaContext:
    function_name = "arxiv-feeds"
    aws_request_id = "req-1"


def test_lambda_handler_serves_the_app_through_mangum() -> None:
    response = handler(_apigw_v2_event("/feeds/cs.LG.xml"), _LambdaContext())  # type: ignore[arg-type]
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("application/rss+xml")
    body = (
        base64.b64decode(response["body"])
        if response["isBase64Encoded"]
        else response["body"].encode()
    )
    assert not feedparser.parse(body).bozo
    missing = handler(_apigw_v2_event("/feeds/nope.xml"), _LambdaContext())  # type: ignore[arg-type]
    assert missing["statusCode"] == 404


def test_vercel_without_redis_explains_what_to_connect() -> None:
    app = build({"VERCEL": "1", "CRON_SECRET": SECRET})
    response = TestClient(app).get("/feeds/cs.LG.xml")
    assert response.status_code == 503
    assert "Upstash" in response.text and "REDIS_URL" in response.text


def test_invalid_configuration_is_a_page_not_a_crash() -> None:
    app = build({"ARXIV_FEEDS_CATEGORIES": "not a category"})
    response = TestClient(app).get("/")
    assert response.status_code == 503
    assert "arxiv.categories.0" in response.text


def _settings(tmp_path: Path, extra: str = "") -> Settings:
    path = tmp_path / "config.toml"
    path.write_text('[arxiv]\ncategories = ["cs.LG"]\n[summaries]\nconcurrency = 1\n' + extra)
    return load_settings(
        path, env={"LLM_API_KEY": "sk-test", "LLM_BASE_URL": "https://llm.example/v1"}
    )


def _arxiv(request: httpx.Request) -> httpx.Response:
    """rss.arxiv.org answers the day; the papers have no HTML or PDF here (abstract used)."""
    if request.url.host == "rss.arxiv.org":
        return httpx.Response(200, content=arxiv_rss(ITEMS))
    return httpx.Response(404)


def _client(settings: Settings, store: Store, runner: object, secret: str = SECRET) -> TestClient:
    app = create_app(settings, lambda: store, refresh_runner=runner, cron_secret=secret)  # type: ignore[arg-type]
    return TestClient(app)


def test_refresh_endpoint_requires_the_secret(tmp_path: Path, store: Store) -> None:
    settings = _settings(tmp_path)
    runs: list[int] = []

    def runner(current: Store) -> RefreshReport:
        runs.append(1)
        return RefreshReport.model_validate(
            {
                "started": "2024-11-28T06:00:00Z",
                "status": "published",
                "message": "ok",
                "source": "t",
            }
        )

    client = _client(settings, store, runner)
    assert client.get("/api/refresh").status_code == 401
    assert client.get("/api/refresh", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/refresh", headers={"Authorization": SECRET}).status_code == 401
    refused = client.get("/api/refresh", headers={"Authorization": f"Basic {SECRET}"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer realm=")
    assert runs == []
    ok = client.get("/api/refresh", headers={"Authorization": f"Bearer {SECRET}"})
    assert ok.status_code == 200 and ok.json()["status"] == "published"
    lowercase = client.get("/api/refresh", headers={"Authorization": f"bearer {SECRET}"})
    assert lowercase.status_code == 200, "the scheme is case-insensitive (RFC 9110, 11.1)"
    assert (
        client.post("/api/refresh", headers={"Authorization": f"Bearer {SECRET}"}).status_code
        == 200
    )
    assert runs == [1, 1, 1]
    unset = _client(settings, store, runner, secret="").get(
        "/api/refresh", headers={"Authorization": "Bearer "}
    )
    assert unset.status_code == 503 and "set CRON_SECRET" in unset.json()["error"]
    assert runs == [1, 1, 1]


def test_refresh_endpoint_stops_at_the_deadline_and_resumes(tmp_path: Path, store: Store) -> None:
    settings = _settings(tmp_path, "deadline_seconds = 100\n")
    clock = FakeClock()
    llm_calls: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        llm_calls.append(request.url.path)
        clock.now += 45  # each summary takes 45 s: the third would start past the deadline
        return httpx.Response(200, json=chat_completion(summary_json()))

    def runner(current: Store) -> RefreshReport:
        return live_refresh(
            settings,
            current,
            clock=clock,
            arxiv_transport=httpx.MockTransport(_arxiv),
            llm_transport=httpx.MockTransport(provider),
        )

    client = _client(settings, store, runner)
    auth = {"Authorization": f"Bearer {SECRET}"}
    first = client.get("/api/refresh", headers=auth).json()
    assert first["status"] == "published"
    assert first["summaries"]["made"] >= 1 and first["summaries"]["deferred"] >= 1
    made_first = first["summaries"]["made"]
    second = client.get("/api/refresh", headers=auth).json()
    assert second["summaries"]["reused"] == made_first
    assert second["summaries"]["made"] + made_first + second["summaries"]["deferred"] == 4
    third = client.get("/api/refresh", headers=auth).json()
    total = made_first + second["summaries"]["made"] + third["summaries"]["made"]
    assert total == 4 and third["summaries"]["deferred"] == 0
    assert len(llm_calls) == 4  # nothing summarized twice
    feed = feedparser.parse(client.get("/feeds/cs.LG.xml").content)
    assert sum("It compresses the KV cache 4x." in e.content[0].value for e in feed.entries) == 4


def test_dripping_upstreams_cannot_hold_a_refresh_past_its_time_budget(
    tmp_path: Path, store: Store
) -> None:
    """The LLM sends its answers a byte a (fake) second; then arXiv's feed does. Each refresh
    still ends within refresh.time_budget_seconds, itself below maxDuration."""
    settings = _settings(tmp_path)
    budget = settings.refresh.time_budget_seconds
    max_duration = json.loads((ROOT / "vercel.json").read_text())["functions"]["api/index.py"]
    assert budget <= max_duration["maxDuration"] - 20, "leave time to render and store"
    clock = FakeClock()
    slow_feed = False

    def arxiv(request: httpx.Request) -> httpx.Response:
        if request.url.host == "rss.arxiv.org" and slow_feed:
            return httpx.Response(200, stream=Drip(clock.sleep, arxiv_rss(ITEMS)))
        return _arxiv(request)

    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=Drip(clock.sleep, json.dumps(chat_completion(summary_json())).encode())
        )

    def run() -> RefreshReport:
        return live_refresh(
            settings,
            store,
            clock=clock,
            arxiv_transport=httpx.MockTransport(arxiv),
            llm_transport=httpx.MockTransport(provider),
        )

    start = clock.now
    first = run()
    assert first.status == "published" and first.summaries is not None
    assert first.summaries.made == 0 and first.summaries.failed + first.summaries.deferred == 4
    assert clock.now - start <= budget + 2  # a chunk past the deadline per thread at most
    slow_feed, start = True, clock.now
    second = run()
    assert second.status == "upstream-error" and "time budget ran out" in second.message
    assert "still serving 2024-11-28" in second.message
    assert clock.now - start <= budget + 2


def test_feeds_come_pre_compressed_for_clients_that_ask(tmp_path: Path, store: Store) -> None:
    settings = _settings(tmp_path)
    clock = FakeClock()
    live_refresh(
        settings.model_copy(
            update={"summaries": settings.summaries.model_copy(update={"api_key": None})}
        ),
        store,
        clock=clock,
        arxiv_transport=httpx.MockTransport(_arxiv),
    )
    client = _client(settings, store, None)
    plain = client.get("/feeds/cs.LG.xml", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    raw = client.get("/feeds/cs.LG.xml", headers={"Accept-Encoding": "gzip, br"}, extensions={})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.content == plain.content  # httpx decoded the stored gzip bytes
    assert raw.headers["etag"] != plain.headers["etag"]
    compressed, plain_copy = store.feed("cs.LG.xml", gzip=True), store.feed("cs.LG.xml")
    assert compressed is not None and plain_copy is not None
    assert gzip.decompress(compressed.gzip) == plain_copy.body
    assert compressed.body == plain_copy.gzip == b"", "a request reads one copy, not both"
    again = client.get(
        "/feeds/cs.LG.xml",
        headers={"Accept-Encoding": "gzip", "If-None-Match": raw.headers["etag"]},
    )
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/feeds/cs.LG.xml", "/feed.json", "/opml", "/"])
def test_head_is_answered_without_a_body(tmp_path: Path, store: Store, path: str) -> None:
    client = _client(_settings(tmp_path), store, None)
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""


def test_readme_button_asks_for_the_secrets_and_adds_upstash() -> None:
    import re
    from urllib.parse import parse_qs, urlsplit

    from scripts.check_vercel_build import BUILD_ENV

    readme = (ROOT / "README.md").read_text()
    match = re.search(
        r"\[!\[Deploy with Vercel\]\(https://vercel.com/button\)\]\(([^)]+)\)", readme
    )
    assert match, "the README has no Deploy with Vercel button"
    params = {k: v[0] for k, v in parse_qs(urlsplit(match.group(1)).query).items()}
    assert params["env"].split(",") == ["CRON_SECRET", "LLM_API_KEY", "VERCEL_PYTHON_COMPILEALL"]
    assert all(name in params["envDescription"] for name in params["env"].split(","))
    # the function is built as its check builds it: with every module's bytecode
    assert json.loads(params["envDefaults"]) == BUILD_ENV == {"VERCEL_PYTHON_COMPILEALL": "1"}
    stores = json.loads(params["stores"])
    assert stores == [
        {
            "type": "integration",
            "integrationSlug": "upstash",
            "productSlug": "upstash-kv",
            "protocol": "storage",
        }
    ]
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    for section in ("## Vercel", "## AWS Lambda", "## Any host with uvicorn", "## GitHub Actions"):
        assert section in deploy
    workflow = (ROOT / ".github" / "workflows" / "daily-digest.yml").read_text()
    assert "arxiv-feeds refresh" in workflow and "digest > digest/README.md" in workflow


def test_the_readme_deploy_button_is_made_from_the_repository_setting() -> None:
    from scripts import deploy_button

    readme = (ROOT / "README.md").read_text()
    assert deploy_button.button() in readme.splitlines()
    fork = deploy_button.link("https://github.com/someone/arxiv-feeds")
    assert "YOUR-GITHUB-USER" not in fork
    assert fork.count("someone%2Farxiv-feeds") == 2  # the clone source and the docs link


@pytest.mark.parametrize(
    "store_url",
    [
        "redis//default:hunter2@secret-host.upstash.io:6379",
        '"rediss://default:hunter2@secret-host.upstash.io:6379"',
        "redis://default:hunter2@127.0.0.1:1/0",  # nothing listens there
    ],
)
def test_a_bad_or_unreachable_store_url_is_never_shown(
    store_url: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.index import build
    from core.cli import main

    env = {"STORE_URL": store_url, "VERCEL": "1", "CRON_SECRET": SECRET}
    client = TestClient(build(env), raise_server_exceptions=False)
    paths = ["/", "/feeds/cs.LG.xml", "/health", "/opml", "/api/papers", "/feed.json"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 503, path
        assert "hunter2" not in response.text, path
        assert "secret-host" not in response.text and "127.0.0.1:1" not in response.text, path
    assert "hunter2" not in caplog.text
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        for command in (["check-config"], ["digest"]):
            main(command)
            out, err = capsys.readouterr()
            assert "hunter2" not in out + err, command


def test_the_serving_entrypoint_imports_nothing_heavy() -> None:
    """The parsers, renderers, HTTP clients and the stemmer load when first used, not when a
    cold function starts (scripts/bench_coldstart.py times it)."""
    import subprocess
    import sys

    from scripts.bench_coldstart import HEAVY

    program = "import api.index, sys; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert not sorted({name for name in loaded if name.split(".")[0] in HEAVY})
