"""The CLI: one line saying what to fix and a distinct exit code, never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import EXIT_BROKEN_PIPE, EXIT_LOCKED, EXIT_UPSTREAM, EXIT_USAGE, main
from core.config import load_settings
from core.store import open_store
from core.store.lock import LOCK_NAME
from tests.conftest import ROOT, shared_fixture
from tests.factories import RssItem, arxiv_rss


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "arxiv-feeds.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/cli.db"\n')
    return path


def test_check_config_prints_effective_config_and_masks_secrets(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "rediss://default:s3cret@example.upstash.io:6379")
    monkeypatch.delenv("STORE_URL", raising=False)
    config.write_text("")
    assert main(["--config", str(config), "check-config"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"config OK ({config})")
    effective = json.loads(out.split("\n", 1)[1])
    assert effective["store"]["url"] == "rediss://***@example.upstash.io:6379"
    assert "s3cret" not in out


def test_invalid_config_exits_2_with_the_key(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text('[arxiv]\ncategories = ["nope nope"]\n')
    assert main(["--config", str(config), "check-config"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "arxiv.categories.0" in err
    assert "'nope nope'" in err
    assert "Traceback" not in err


def test_refresh_from_missing_file(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "refresh", "--from-file", "/no/such.xml"]) == EXIT_USAGE
    assert "no such file /no/such.xml" in capsys.readouterr().err


def test_refresh_reports_outcomes_with_exit_codes(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(arxiv_rss([RssItem("2411.00001", title="LLM inference")]))
    empty = tmp_path / "empty.xml"
    empty.write_bytes(arxiv_rss([]))
    assert main(["--config", str(config), "refresh", "--from-file", str(good)]) == 0
    assert main(["--config", str(config), "refresh", "--from-file", str(empty)]) == 0
    out = capsys.readouterr().out
    assert "published: 1 paper announced 2024-11-28" in out
    assert "  2024-11-28 complete: cs.LG 1 new; 1 held\n" in out
    assert "no-announcement: no announcement today" in out

    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"<html>")
    assert main(["--config", str(config), "refresh", "--from-file", str(garbage)]) == EXIT_UPSTREAM

    store = open_store(load_settings(config, env={}).store)
    assert store.acquire_lock(LOCK_NAME, 600, now=9e12)
    assert main(["--config", str(config), "refresh", "--from-file", str(good)]) == EXIT_LOCKED
    store.close()


def test_backfill_bounds_days(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "backfill", "--days", "90"]) == EXIT_USAGE
    assert "--days: expected 1 to 30" in capsys.readouterr().err


def test_unreachable_store_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[store]\nurl = "redis://127.0.0.1:1/0"\nredis_timeout_seconds = 0.5\n')
    assert main(["--config", str(config), "digest"]) == EXIT_UPSTREAM
    err = capsys.readouterr().err
    assert err.startswith("arxiv-feeds: store unavailable: Redis")
    assert err.count("\n") == 1


def test_summaries_off_without_a_key(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LLM_API_KEY", "DASHSCOPE_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--config", str(config), "check-config"]) == 0
    assert "summaries off: no LLM_API_KEY" in capsys.readouterr().out
    config.write_text(config.read_text() + "[rank]\nembeddings = true\n")
    assert main(["--config", str(config), "check-config"]) == 0
    assert "likes by shared words: rank.embeddings needs LLM_API_KEY" in capsys.readouterr().out
    assert main(["--config", str(config), "summarize", "2411.17700"]) == EXIT_USAGE
    assert "summaries are off: no LLM_API_KEY" in capsys.readouterr().err


def test_check_config_never_prints_the_llm_key(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_API_KEY", "sk-very-secret")
    assert main(["--config", str(config), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "summaries on: gpt-4o-mini at https://api.openai.com/v1" in out
    assert "likes by shared words (rank.embeddings is off)" in out
    assert "sk-very-secret" not in out


def test_digest_of_empty_store(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "digest"]) == 0
    assert "run `arxiv-feeds refresh` first" in capsys.readouterr().out


def test_summarize_rejects_bad_ids_and_languages(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_API_KEY", "sk-test")
    assert main(["--config", str(config), "summarize", "not-an-id"]) == EXIT_USAGE
    assert "ID: no arXiv id in 'not-an-id'" in capsys.readouterr().err
    assert main(["--config", str(config), "summarize", "2411.17700", "--lang", "fr"]) == EXIT_USAGE
    assert "--lang: 'fr' is not in summaries.languages (en)" in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_without_a_traceback(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.cli

    def explode(*args: object) -> int:
        raise RuntimeError("something broke")

    monkeypatch.setattr(core.cli, "_digest", explode)
    monkeypatch.delenv("ARXIV_FEEDS_DEBUG", raising=False)
    assert main(["--config", str(config), "digest"]) == EXIT_UPSTREAM
    err = capsys.readouterr().err
    assert err.startswith("arxiv-feeds: unexpected error: RuntimeError: something broke")
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(b"truncated", id="the recorded day cut short"),
        pytest.param(
            b"<!DOCTYPE html><html><head><title>arXiv is down for maintenance</title></head>"
            b"<body><h1>Back soon</h1></body></html>",
            id="arXiv's maintenance page",
        ),
    ],
)
def test_a_response_that_is_not_a_whole_feed_never_replaces_the_day(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], response: bytes
) -> None:
    """README: "An empty or failed fetch never replaces the last good day"."""
    recorded = shared_fixture("arxiv-rss/all-archives-2024-11-28.rss.xml").read_bytes()
    whole, broken = tmp_path / "whole.xml", tmp_path / "broken.xml"
    whole.write_bytes(recorded)
    broken.write_bytes(recorded[:1398802] if response == b"truncated" else response)
    assert main(["--config", str(config), "refresh", "--from-file", str(whole)]) == 0
    store = open_store(load_settings(config, env={}).store)
    before = (store.day_index(), store.last_published())
    capsys.readouterr()

    assert main(["--config", str(config), "refresh", "--from-file", str(broken)]) == EXIT_UPSTREAM
    assert "upstream-error: arXiv's response is not" in capsys.readouterr().out
    assert (store.day_index(), store.last_published()) == before
    report = store.last_report()
    assert report is not None and report.status == "upstream-error"
    store.close()


def test_one_xml_invalid_character_in_arxivs_answer_keeps_the_day(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A U+0001 in one abstract of the recorded 1,504-item day: the day is published whole,
    and the refresh says what it removed."""
    recorded = shared_fixture("arxiv-rss/all-archives-2024-11-28.rss.xml").read_bytes()
    damaged = tmp_path / "damaged.xml"
    damaged.write_bytes(recorded.replace(b"Abstract: ", b"Abstract: \x01", 1))

    assert main(["--config", str(config), "refresh", "--from-file", str(damaged)]) == 0
    assert "removed 1 XML-invalid character(s) from arXiv's answer" in capsys.readouterr().out
    store = open_store(load_settings(config, env={}).store)
    report = store.last_report()
    assert report is not None and report.status == "published"
    assert report.repaired_characters == 1
    assert report.fetched == recorded.count(b"<item>")
    store.close()


def test_a_closed_pipe_stops_the_digest_quietly(config: Path, tmp_path: Path) -> None:
    """`arxiv-feeds digest | head -1`, with a real pipe whose reader leaves early."""
    day = tmp_path / "day.xml"
    long = "A long abstract. " * 60  # 300 of them overflow the pipe's buffer many times
    items = [RssItem(f"2411.{n:05d}", title=f"LLM paper {n}", abstract=long) for n in range(300)]
    day.write_bytes(arxiv_rss(items))
    assert main(["--config", str(config), "refresh", "--from-file", str(day)]) == 0
    command = [
        sys.executable,
        "-m",
        "core.cli",
        "--config",
        str(config),
        "digest",
        "--limit",
        "300",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"# arXiv digest")
    process.stdout.close()
    errors = process.stderr.read().decode()
    assert process.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert errors == ""


def test_ctrl_c_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(argv: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("core.cli.run", interrupted)
    assert main(["digest"]) == 130
    assert capsys.readouterr().err == "arxiv-feeds: interrupted\n"


def test_like_and_likes_from_the_command_line(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    item = RssItem("2411.00001", title="Paged attention for serving")
    feed = tmp_path / "day.xml"
    feed.write_bytes(arxiv_rss([item, RssItem("2411.00002", title="Serving paged attention")]))
    assert main(["--config", str(config), "like", "2411.00001v2", "hep-ph/0101001"]) == 0
    assert main(["--config", str(config), "like", "--less", "2411.00009"]) == 0
    assert main(["--config", str(config), "like", "--forget", "hep-ph/0101001"]) == 0
    assert main(["--config", str(config), "refresh", "--from-file", str(feed)]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "likes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "like\t2411.00001\tfeedback\tPaged attention for serving",
        "dislike\t2411.00009\tfeedback\t(title known after the next refresh)",
    ]
    assert main(["--config", str(config), "like", "2411.00001", "nope"]) == EXIT_USAGE
    assert "ID 'nope': expected an arXiv id" in capsys.readouterr().err


def test_liking_a_paper_already_in_the_store_shows_its_title_at_once(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "day.xml"
    feed.write_bytes(arxiv_rss([RssItem("2411.00001", title="Paged attention for serving")]))
    assert main(["--config", str(config), "refresh", "--from-file", str(feed)]) == 0
    assert main(["--config", str(config), "like", "2411.00001"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "likes"]) == 0
    assert capsys.readouterr().out == "like\t2411.00001\tfeedback\tPaged attention for serving\n"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("9999.99999", "ID '9999.99999': no arXiv id has the year and month 9999"),
        ("0705.00001", "has 4 digits before 2015"),
    ],
)
def test_an_id_arxiv_cannot_have_is_refused_and_nothing_recorded(
    config: Path, capsys: pytest.CaptureFixture[str], given: str, expected: str
) -> None:
    assert main(["--config", str(config), "like", "2411.00001", given]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
    store = open_store(load_settings(config, env={}).store)
    assert store.likes() == {}
    store.close()


@pytest.mark.parametrize("port", ["99999", "0", "http"])
def test_serve_on_an_impossible_port_is_one_line(
    config: Path, capsys: pytest.CaptureFixture[str], port: str
) -> None:
    with pytest.raises(SystemExit) as exit_code:
        main(["--config", str(config), "serve", "--port", port])
    assert exit_code.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"argument --port: expected a TCP port from 1 to 65535, got {port!r}" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_serve_on_a_port_in_use_names_it_and_says_nothing_of_serving(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["--config", str(config), "serve", "--port", str(port)]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert err.startswith(f"arxiv-feeds: --port: 127.0.0.1:{port} is in use")
    assert "choose another with --port" in err and err.count("\n") == 1
    assert "Serving on" not in out


def test_serve_help_says_what_host_and_port_do(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--host HOST the address to listen on" in help_text
    assert "--port PORT the TCP port to listen on (default 8000)" in help_text


def test_backfill_says_what_it_waits_for_before_it_asks_arxiv(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.days.recovery
    from core.ingest import ArxivError

    def unreachable(*args: object, **kwargs: object) -> object:
        assert "asking arXiv's catchup listing" in capsys.readouterr().out, "said before asking"
        raise ArxivError("arXiv did not answer")

    monkeypatch.setattr(core.days.recovery, "backfill", unreachable)
    assert main(["--config", str(config), "backfill", "--days", "2"]) == EXIT_UPSTREAM


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cs.XX", "ARXIV_FEEDS_CATEGORIES (sets arxiv.categories.0): not an arXiv category"),
        ("cs.ai", "ARXIV_FEEDS_CATEGORIES (sets arxiv.categories.0): arXiv spells it 'cs.AI'"),
    ],
)
def test_check_config_refuses_a_category_arxiv_does_not_have(
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv("ARXIV_FEEDS_CATEGORIES", value)
    assert main(["--config", str(config), "check-config"]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert "config OK" not in out and expected in err and err.count("\n") == 1
