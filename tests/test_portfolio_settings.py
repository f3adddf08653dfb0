"""Portfolio settings: documented everywhere, validated with one plain sentence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.errors import StartupError
from bot.services.portfolio import PortfolioRules

ROOT = Path(__file__).resolve().parent.parent
PORTFOLIO_SETTINGS = [name for name in Settings.model_fields if name.startswith("portfolio_")]


def test_every_portfolio_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert len(PORTFOLIO_SETTINGS) >= 10
    for name in PORTFOLIO_SETTINGS:
        default = Settings.model_fields[name].default
        assert f"| `{name.upper()}` | `{default:g}` |" in readme, name
        assert f"\n{name.upper()}={default:g}\n" in example, name


def test_rules_follow_the_settings() -> None:
    rules = PortfolioRules.from_settings(
        Settings(_env_file=None, portfolio_max_open_requests=4, portfolio_claim_return_days=10)
    )
    assert rules.max_open == 4 and rules.return_after == timedelta(days=10)
    assert PortfolioRules.from_settings(Settings(_env_file=None)) == PortfolioRules()


def test_a_return_before_the_reminder_is_refused() -> None:
    with pytest.raises(StartupError, match="PORTFOLIO_CLAIM_RETURN_DAYS is invalid"):
        load_settings(
            _env_file=None, portfolio_review_reminder_hours=72, portfolio_claim_return_days=2
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [("portfolio_max_open_requests", "0"), ("portfolio_expiry_days", "-1")],
)
def test_out_of_range_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(StartupError, match=field.upper()):
        load_settings(_env_file=None, **{field: value})
