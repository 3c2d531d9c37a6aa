from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from core.config import ConfigError, Settings, load_settings
from core.rank.profile import DEFAULT_INTERESTS
from tests.conftest import ROOT

README = ROOT / "README.md"


def test_shipped_file_equals_built_in_defaults(tmp_path: Path) -> None:
    from_file = load_settings(ROOT / "arxiv-feeds.toml", env={})
    (tmp_path / "empty.toml").write_text("")
    assert from_file.model_dump() == load_settings(tmp_path / "empty.toml", env={}).model_dump()


def test_the_default_interests_go_with_the_default_keywords_only(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("")
    assert load_settings(path, env={}).rank.interests == DEFAULT_INTERESTS
    path.write_text('[rank]\nkeywords = ["topology"]\n')
    assert load_settings(path, env={}).rank.interests == "", "your keywords, your interests"
    path.write_text('[rank]\nkeywords = ["topology"]\ninterests = "knots"\n')
    assert load_settings(path, env={}).rank.interests == "knots"
    path.write_text("")
    env = {"ARXIV_FEEDS_KEYWORDS": "topology"}
    assert load_settings(path, env=env).rank.interests == ""


def test_shipped_defaults_are_the_documented_ones() -> None:
    settings = load_settings(ROOT / "arxiv-feeds.toml", env={})
    assert settings.arxiv.categories == ["cs.AI", "cs.CL", "cs.DC", "cs.LG"]
    terms = [rule.term for rule in settings.rank.keywords]
    assert terms[:8] == [
        "LLM",
        "RL",
        "RLHF",
        "Inference",
        "Training",
        "Attention",
        "Pipeline",
        "MoE",
    ]
    assert terms[-2:] == ["KV cache", "State Space"]
    assert len(terms) == 29
    assert [rule.term for rule in settings.rank.exclude] == ["survey", "review", "tutorial"]
    assert settings.store.retention_days == 30
    assert [t.value for t in settings.arxiv.announce_types] == ["new", "cross"]


def test_environment_overrides() -> None:
    settings = load_settings(
        env={
            "REDIS_URL": "rediss://default:secret@example.upstash.io:6379",
            "KV_URL": "redis://ignored:6379",
            "ARXIV_FEEDS_CATEGORIES": "cs.DC, cs.LG",
            "ARXIV_FEEDS_KEYWORDS": 'moe,"kv cache"',
            "BASE_URL": "https://feeds.example.org/",
        },
    )
    assert settings.store.url == "rediss://default:secret@example.upstash.io:6379"
    assert settings.arxiv.categories == ["cs.DC", "cs.LG"]
    assert [rule.term for rule in settings.rank.keywords] == ["moe", "kv cache"]
    assert settings.site.base_url == "https://feeds.example.org"
    assert (
        load_settings(env={"STORE_URL": "sqlite:///x.db", "REDIS_URL": "redis://r"}).store.url
        == "sqlite:///x.db"
    )


def _invalid(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(path, env={})
    return str(error.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[arxiv]\ncategories = ["cs LG"]\n', "arxiv.categories.0: not an arXiv category"),
        ('[arxiv]\ncategories = ["cs.XX"]\n', "arxiv.categories.0: not an arXiv category"),
        ('[arxiv]\ncategories = ["cs.ai"]\n', "arxiv.categories.0: arXiv spells it 'cs.AI'"),
        ('[arxiv]\ncategories = ["cs.LGG"]\n', "did you mean 'cs.LG'?"),
        ('[feeds.mine]\ncategories = ["hep_ph"]\n', "feeds.mine.categories.0: not an arXiv"),
        ('[rank]\ncategory_weights = { "CS.DC" = 1 }\n', "arXiv spells it 'cs.DC'"),
        ('[rank]\nlike = ["9999.99999"]\n', "rank.like.0: no arXiv id has the year and month 9999"),
        ('[rank]\nlike = ["2411.1770"]\n', "has 5 digits since 2015 after the dot"),
        ("[arxiv]\ncolour = 1\n", "arxiv.colour: unknown key"),
        ('[rank]\ntitle_weight = "heavy"\n', "rank.title_weight: Input should be a valid number"),
        ('[rank]\nkeywords = [{ term = "x", weight = 1000 }]\n', "rank.keywords.0.weight"),
        ("[feeds.all]\ntitle = 'x'\n", "feeds.all: the name 'all' collides"),
        ('[feeds."cs.LG"]\ntitle = "x"\n', "collides with a built-in route or category feed"),
        ("[feeds.mine]\nkeywords = ['nope']\n", "feeds.mine.keywords: 'nope' is not one of"),
        ('[store]\nurl = "postgres://x"\n', "store.url: expected sqlite:///PATH"),
        ("[rank\n", "not valid TOML"),
    ],
)
def test_invalid_values_name_key_value_and_expectation(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert expected in _invalid(tmp_path, text)


def test_named_feed_table(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text(
        '[feeds.systems]\ntitle = "Systems"\ncategories = ["cs.DC"]\nkeywords = ["kv CACHE"]\n'
    )
    settings = load_settings(path, env={})
    assert settings.feeds.named["systems"].categories == ["cs.DC"]
    assert tomllib.loads(path.read_text())["feeds"]["systems"]["title"] == "Systems"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"ARXIV_FEEDS_CATEGORIES": "cs.LG,cs.XX"},
            "ARXIV_FEEDS_CATEGORIES (sets arxiv.categories.1)",
        ),
        ({"ARXIV_FEEDS_CATEGORIES": "cs.ai"}, "arXiv spells it 'cs.AI'"),
        ({"STORE_URL": "mysql://u:pw@db/x"}, "STORE_URL (sets store.url): expected sqlite"),
        ({"REDIS_URL": "mysql://db/x"}, "REDIS_URL (sets store.url)"),
        ({"BASE_URL": "ftp://x"}, "BASE_URL (sets site.base_url)"),
    ],
)
def test_a_bad_value_from_the_environment_names_its_variable_not_the_file(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    path = tmp_path / "arxiv-feeds.toml"
    path.write_text("")
    with pytest.raises(ConfigError) as error:
        load_settings(path, env=env)
    assert expected in str(error.value)
    assert str(path) not in str(error.value) and "pw@" not in str(error.value)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(env={"ARXIV_FEEDS_CONFIG": str(tmp_path / "missing.toml")})


@pytest.mark.parametrize(
    "name", ["ARXIV_FEEDS_CATEGORIES", "ARXIV_FEEDS_KEYWORDS", "BASE_URL", "STORE_URL"]
)
def test_an_override_pasted_with_its_line_break_still_works(name: str) -> None:
    values = {
        "ARXIV_FEEDS_CATEGORIES": "cs.LG,cs.AI",
        "ARXIV_FEEDS_KEYWORDS": 'moe,"kv cache"',
        "BASE_URL": "https://feeds.example",
        "STORE_URL": "redis://127.0.0.1:6379/0",
    }
    clean = load_settings(env={name: values[name]})
    assert load_settings(env={name: f"{values[name]}\r\n"}) == clean


@pytest.mark.parametrize("name", ["ARXIV_FEEDS_CATEGORIES", "LLM_API_KEY", "STORE_URL"])
def test_a_control_character_inside_an_override_names_the_variable_only(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.cli import EXIT_USAGE, main

    monkeypatch.setenv(name, "cs.LG,\ncs.AI-s3cret")
    assert main(["check-config"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") <= 2 and name in err and "s3cret" not in err


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[arxiv]\nrss_url = "ftp://x"\n', "arxiv.rss_url"),
        ('[arxiv]\nrss_url = "https://rss.arxiv.org/rss"\n', "arxiv.rss_url"),
        ('[arxiv]\ncontact = "me@example.org\\r\\nX-Evil: 1"\n', "arxiv.contact"),
        ('[arxiv]\ncontact = "not an address"\n', "arxiv.contact"),
        ("a = " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply"),
    ],
)
def test_config_errors_are_caught_at_check_config(tmp_path: Path, toml: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=expected):
        load_settings(path, env={})


def test_a_config_that_cannot_be_read_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root (CI), file modes do not stop reading: the denial is injected where it lands."""
    path = tmp_path / "locked.toml"
    path.write_text("")

    def denied(self: Path, encoding: str | None = None) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(ConfigError, match="cannot be read: Permission denied"):
        load_settings(path, env={})


def _readme_numeric_defaults() -> list[tuple[str, str]]:
    """`| \\`section.key\\` | 30 | ...` rows of the README's configuration table."""
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| ([0-9.]+) \|", README.read_text(), re.M)
    assert len(rows) >= 6, "the README's configuration table moved"
    return rows


@pytest.mark.parametrize(("key", "documented"), _readme_numeric_defaults())
def test_readme_configuration_table_states_the_real_defaults(key: str, documented: str) -> None:
    section, field = key.split(".")
    assert getattr(getattr(Settings(), section), field) == float(documented)
