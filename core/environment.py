"""The environment variables that configure a deployment: each cleaned and checked, and the
settings each overrides (`core.config.load_settings` applies them over the file)."""

from __future__ import annotations

from typing import Any

from core.config import DASHSCOPE_BASE_URL, OPENAI_BASE_URL, ConfigError
from core.text import has_control_characters, split_list

ENVIRONMENT = (
    *("STORE_URL", "REDIS_URL", "KV_URL", "ARXIV_FEEDS_CONFIG", "ARXIV_FEEDS_CATEGORIES"),
    *("ARXIV_FEEDS_KEYWORDS", "BASE_URL", "VERCEL_PROJECT_PRODUCTION_URL", "LLM_API_KEY"),
    *("LLM_BASE_URL", "LLM_MODEL", "DASHSCOPE_API_KEY", "OPENAI_API_KEY"),
)
"""The variables that configure the service."""


def clean_environment(env: dict[str, str]) -> dict[str, str]:
    """Surrounding white space dropped (a value pasted with its line break); any control
    character left inside is a ConfigError naming the variable, never showing its value."""
    cleaned = dict(env)
    for name in ENVIRONMENT:
        if name not in env:
            continue
        value = env[name].strip()
        if has_control_characters(value):
            raise ConfigError(
                f"{name}: holds a line break or another control character; set it again"
            )
        cleaned[name] = value
    return cleaned


def environment_overrides(
    data: dict[str, Any], env: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply deployment overrides; the store URL comes from STORE_URL, REDIS_URL, then KV_URL.
    Also returns which variable set each overridden key (`store.url` -> `STORE_URL`)."""
    sections = {key: dict(value) for key, value in data.items() if isinstance(value, dict)}
    merged: dict[str, Any] = {**data, **sections}
    from_env: dict[str, str] = {}

    def override(section: str, key: str, variable: str, value: Any) -> None:
        merged.setdefault(section, {})[key] = value
        from_env[f"{section}.{key}"] = variable

    if store_variable := next((n for n in ("STORE_URL", "REDIS_URL", "KV_URL") if env.get(n)), ""):
        override("store", "url", store_variable, env[store_variable])
    if env.get("ARXIV_FEEDS_CATEGORIES"):
        categories = split_list(env["ARXIV_FEEDS_CATEGORIES"])
        override("arxiv", "categories", "ARXIV_FEEDS_CATEGORIES", categories)
    if env.get("ARXIV_FEEDS_KEYWORDS"):
        keywords = split_list(env["ARXIV_FEEDS_KEYWORDS"])
        override("rank", "keywords", "ARXIV_FEEDS_KEYWORDS", keywords)
    if env.get("BASE_URL"):
        override("site", "base_url", "BASE_URL", env["BASE_URL"].rstrip("/"))
    elif env.get("VERCEL_PROJECT_PRODUCTION_URL"):
        address = f"https://{env['VERCEL_PROJECT_PRODUCTION_URL']}"
        override("site", "base_url", "VERCEL_PROJECT_PRODUCTION_URL", address.rstrip("/"))
    merged["summaries"] = _llm_provider(merged.get("summaries", {}), env)
    from_env.update(
        {f"summaries.{key}": name for key, name in _LLM_VARIABLES.items() if env.get(name)}
    )
    return merged, from_env


_LLM_VARIABLES = {"base_url": "LLM_BASE_URL", "model": "LLM_MODEL"}


def _llm_provider(section: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """The key comes only from the environment; endpoint and model follow the key's provider
    unless LLM_BASE_URL / LLM_MODEL or the file name them."""
    if "api_key" in section:
        raise ConfigError("summaries.api_key: put the key in LLM_API_KEY, never in the file")
    dashscope = not env.get("LLM_API_KEY") and bool(env.get("DASHSCOPE_API_KEY"))
    key = env.get("LLM_API_KEY") or env.get("DASHSCOPE_API_KEY") or env.get("OPENAI_API_KEY")
    default_url, default_model = (
        (DASHSCOPE_BASE_URL, "qwen-long") if dashscope else (OPENAI_BASE_URL, "gpt-4o-mini")
    )
    return {
        **section,
        "api_key": key or None,
        "base_url": (env.get("LLM_BASE_URL") or section.get("base_url") or default_url).rstrip("/"),
        "model": env.get("LLM_MODEL") or section.get("model") or default_model,
    }
