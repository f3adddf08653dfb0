"""`.env.example` copied to `.env` as the README says must start the bot with the defaults."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_as_is_gives_the_defaults(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text())
    loaded = Settings(_env_file=env)
    defaults = Settings(_env_file=None)
    assert loaded.model_dump() == defaults.model_dump()
    assert loaded.llm_enabled is False


def test_empty_environment_variable_means_not_set(monkeypatch) -> None:
    monkeypatch.setenv("DEV_GUILD_ID", "")
    monkeypatch.setenv("LLM_API_KEY", "")
    settings = Settings(_env_file=None)
    assert settings.dev_guild_id is None
    assert settings.llm_enabled is False
