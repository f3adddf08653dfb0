"""Messages, embeds, components and modals as plain text, for the playground."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

from simulator.invocations import iter_components
from simulator.state import SimMessage, SimState

MENTION = re.compile(r"<(@&|@!?|#)(\d+)>")
BUTTON, TEXT_INPUT = 2, 4
SELECT_TYPES = {3, 5, 6, 7, 8}
WIDTH = 78


def mentions(state: SimState, text: str) -> str:
    """<@123>, <@&456> and <#789> as @name, @role and #channel."""

    def name(match: re.Match[str]) -> str:
        kind, key = match.group(1), int(match.group(2))
        if kind == "#":
            channel = state.channels.get(key)
            return f"#{channel.name}" if channel else "#unknown"
        if kind == "@&":
            for guild in state.guilds.values():
                if key in guild.roles:
                    return f"@{guild.roles[key].name}"
            return "@unknown-role"
        user = state.users.get(key)
        return f"@{user.name}" if user else "@unknown"

    return MENTION.sub(name, text)


def _indent(text: str, prefix: str = "  ") -> str:
    lines = []
    for line in text.splitlines() or [""]:
        wrapped = textwrap.wrap(line, WIDTH - len(prefix)) or [""]
        lines.extend(prefix + part for part in wrapped)
    return "\n".join(lines)


def embed(state: SimState, data: dict[str, Any]) -> str:
    parts = []
    if (data.get("author") or {}).get("name"):
        parts.append(f"  {data['author']['name']}")
    if data.get("title"):
        parts.append(f"  == {mentions(state, data['title'])} ==")
    if data.get("description"):
        parts.append(_indent(mentions(state, data["description"])))
    for item in data.get("fields") or []:
        parts.append(f"  - {mentions(state, item.get('name', ''))}")
        parts.append(_indent(mentions(state, item.get("value", "")), "      "))
    if data.get("image"):
        parts.append(f"  [image: {data['image'].get('url')}]")
    if (data.get("footer") or {}).get("text"):
        parts.append(f"  ({mentions(state, data['footer']['text'])})")
    return "\n".join(parts)


def numbered_components(message: SimMessage) -> list[dict[str, Any]]:
    """The buttons and selects a member can use, in the order they are numbered."""
    usable = []
    for component in iter_components(message.components):
        kind = component.get("type")
        clickable = kind == BUTTON and component.get("custom_id")
        if (clickable or kind in SELECT_TYPES) and not component.get("disabled"):
            usable.append(component)
    return usable


def components(message: SimMessage, first_number: int = 1) -> str:
    lines = []
    number = first_number
    for component in iter_components(message.components):
        kind = component.get("type")
        usable = component in numbered_components(message)
        tag = f"[{number}]" if usable else "[-]"
        if kind == BUTTON:
            label = component.get("label") or (component.get("emoji") or {}).get("name") or "?"
            extra = f" -> {component['url']}" if component.get("url") else ""
            lines.append(f"  {tag} ({label}){extra}")
        elif kind in SELECT_TYPES:
            options = ", ".join(o["value"] for o in component.get("options", [])) or "pick"
            placeholder = component.get("placeholder") or "choose"
            lines.append(f"  {tag} <{placeholder}: {options}>")
        if usable:
            number += 1
    return "\n".join(lines)


def save_files(message: SimMessage, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for attachment in message.attachments:
        path = folder / f"{attachment.id}-{Path(attachment.filename).name}"
        path.write_bytes(attachment.data)
        saved.append(path)
    return saved


def message(
    state: SimState, msg: SimMessage, files_folder: Path, *, header: str | None = None
) -> str:
    lines = [header] if header else []
    if msg.content:
        lines.append(_indent(mentions(state, msg.content)))
    lines.extend(embed(state, item) for item in msg.embeds)
    for path in save_files(msg, files_folder):
        lines.append(f"  [file saved: {path}]")
    if msg.components:
        lines.append(components(msg))
    return "\n".join(line for line in lines if line)


def modal(data: dict[str, Any]) -> str:
    lines = [f"  == form: {data.get('title')} =="]
    inputs = [c for c in iter_components(data.get("components") or []) if c.get("type") == 4]
    for number, item in enumerate(inputs, start=1):
        required = "" if item.get("required", True) is False else " (required)"
        lines.append(f"  [{number}] {item.get('label')}{required}")
    return "\n".join(lines)


def modal_inputs(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in iter_components(data.get("components") or []) if c.get("type") == 4]
