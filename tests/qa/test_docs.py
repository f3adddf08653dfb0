"""Every Q&A setting is documented in the README's table and in .env.example."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_qa_settings_are_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = [name.upper() for name in Settings.model_fields if name.startswith("qa_")]
    assert names
    for name in names:
        assert f"| `{name}` |" in readme, name
        assert f"\n{name}=" in example, name
    for command in ("/ask", "/kb add", "/kb gaps", "/qa usage", "Promote to knowledge base"):
        assert command in readme
