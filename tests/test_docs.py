"""The README and .env.example document every setting and every slash command."""

from __future__ import annotations

from pathlib import Path

from discord import app_commands

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_has_a_readme_row_and_an_env_example_line() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = [name.upper() for name in Settings.model_fields]
    missing_readme = [name for name in names if f"| `{name}` |" not in readme]
    missing_example = [name for name in names if f"\n{name}=" not in "\n" + example]
    assert missing_readme == [], "settings without a row in the README's table"
    assert missing_example == [], "settings without a line in .env.example"


def _command_paths(commands) -> list[str]:
    paths = []
    for command in commands:
        if isinstance(command, app_commands.Group):
            paths.extend(_command_paths(command.commands))
        elif isinstance(command, app_commands.Command):
            paths.append("/" + command.qualified_name)
    return paths


async def test_every_slash_command_is_in_the_readme(sim) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paths = _command_paths(sim.bot.tree.get_commands())
    assert len(paths) > 20
    undocumented = [path for path in paths if f"`{path}" not in readme]
    assert undocumented == []
