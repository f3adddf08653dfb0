"""The `data` of interactions a member's Discord client would send.

Slash commands and autocomplete are built from the command schemas the bot registered, so a
test can only send what the Discord client would let a member send: known options, required
ones present, choices respected, lengths and ranges within the schema. Anything else raises
`InvalidInvocation` in the test instead of reaching the bot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.discord_limits import STRING_OPTION
from simulator import payloads
from simulator.state import (
    SimGuild,
    SimMessage,
    SimState,
    SimUser,
)

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(3, 12)
BUTTON, STRING_SELECT, TEXT_INPUT, LABEL = 2, 3, 4, 18
SELECT_TYPES = {3, 5, 6, 7, 8}


class InvalidInvocation(ValueError):
    """The Discord client would not let a member send this."""


def find_command(commands: list[dict[str, Any]], path: str) -> tuple[dict[str, Any], list[str]]:
    """The top-level command for "config channel" and the sub-command names under it."""
    words = path.strip().lstrip("/").split()
    if not words:
        raise InvalidInvocation("empty command")
    for command in commands:
        if command["name"] == words[0] and command.get("type", 1) == 1:
            return command, words[1:]
    known = sorted(c["name"] for c in commands)
    raise InvalidInvocation(f"no registered command /{words[0]} (registered: {known})")


def leaf_options(
    command: dict[str, Any], subs: list[str], path: str
) -> tuple[list[str], list[dict]]:
    """Walk sub-command groups; return the chain of names and the leaf's option schemas."""
    options = command.get("options") or []
    chain: list[str] = []
    for name in subs:
        match = next(
            (o for o in options if o["name"] == name and o["type"] in (1, 2)),
            None,
        )
        if match is None:
            raise InvalidInvocation(f"/{path}: no sub-command {name!r}")
        chain.append(name)
        options = match.get("options") or []
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options):
        names = [o["name"] for o in options]
        raise InvalidInvocation(f"/{path} needs a sub-command: one of {names}")
    return chain, options


TYPED_OPTION = re.compile(r"(?:^|\s)([a-z0-9_-]{1,32}):")


def parse_typed_command(
    commands: list[dict[str, Any]], line: str
) -> tuple[str, list[tuple[dict[str, Any], str]]]:
    """Split "/checkin note:read chapter 3" into the command path and (schema, text) pairs.

    A value runs to the next `name:` of a known option, so it may hold spaces and colons.
    """
    text = line.strip().lstrip("/")
    path_words = []
    for word in text.split(" "):
        if ":" in word or not word:
            break
        path_words.append(word)
    path = " ".join(path_words)
    command, subs = find_command(commands, path)
    by_name = {s["name"]: s for s in leaf_options(command, subs, path)[1]}
    rest = text[len(path) :]
    matches = [m for m in TYPED_OPTION.finditer(rest) if m.group(1) in by_name]
    values = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(rest)
        values.append((by_name[match.group(1)], rest[match.end() : end].strip()))
    return path, values


def plain_value(schema: dict[str, Any], text: str) -> Any:
    """A typed string as the option's type; a choice may be given by its name or value."""
    for choice in schema.get("choices") or []:
        if text.lower() in (choice["name"].lower(), str(choice["value"]).lower()):
            return choice["value"]
    kind = schema["type"]
    if kind == INTEGER:
        return int(text)
    if kind == NUMBER:
        return float(text)
    if kind == BOOLEAN:
        return text.lower() in ("true", "yes", "1", "on")
    return text


def typed_value(
    schema: dict[str, Any], text: str, guild: SimGuild, member: Callable[[str], SimUser]
) -> Any:
    """A typed value as a test value: @alice a member, #qa a channel, @reviewer a role,
    a file path an attachment; anything else as `plain_value`."""
    kind, name = schema["type"], text.strip().lstrip("@#")
    if kind == USER or (kind == MENTIONABLE and name not in guild.role_names):
        return member(name)
    if kind == CHANNEL:
        return guild.channel(name)
    if kind in (ROLE, MENTIONABLE):
        return guild.role(name)
    if kind == ATTACHMENT:
        path = Path(text.strip()).expanduser()
        return (path.name, path.read_bytes())
    return plain_value(schema, text)


def _nest(command: dict[str, Any], chain: list[str], leaf_options: list[dict]) -> list[dict]:
    """Wrap the leaf's option values in the sub-command (group) objects Discord sends."""
    options = leaf_options
    schemas = command.get("options") or []
    levels: list[dict[str, Any]] = []
    for name in chain:
        schema = next(o for o in schemas if o["name"] == name)
        levels.append(schema)
        schemas = schema.get("options") or []
    for schema in reversed(levels):
        options = [{"type": schema["type"], "name": schema["name"], "options": options}]
    return options


class Resolver:
    """Turns test values (SimUser, ids, (filename, bytes)) into option values + `resolved`."""

    def __init__(self, state: SimState, guild: SimGuild | None, base_url: str = "") -> None:
        self.state = state
        self.guild = guild
        self.base_url = base_url
        self.resolved: dict[str, dict[str, Any]] = {}

    def _add(self, kind: str, key: int, data: dict[str, Any]) -> None:
        self.resolved.setdefault(kind, {})[str(key)] = data

    def user(self, value: Any) -> str:
        if not isinstance(value, SimUser):
            raise InvalidInvocation(f"a user option takes a SimUser, not {value!r}")
        self._add("users", value.id, payloads.user(value))
        if self.guild is not None and value.id in self.guild.members:
            member = payloads.member(self.state, self.guild, value.id, with_user=False)
            member["permissions"] = str(self.guild.permissions_of(value.id))
            self._add("members", value.id, member)
        return str(value.id)

    def channel(self, value: Any, schema: dict[str, Any]) -> str:
        channel = self.state.channels.get(int(value))
        if channel is None or self.guild is None or channel.guild_id != self.guild.id:
            return str(int(value))  # a forged id: Discord sends no resolved data for it
        allowed = schema.get("channel_types")
        if allowed and channel.type not in allowed:
            raise InvalidInvocation(
                f"option {schema['name']!r} only offers channel types {allowed}, "
                f"not {channel.type} (#{channel.name})"
            )
        permissions = self.guild.permissions_of(self.state.bot_user.id)
        self._add(
            "channels", channel.id, payloads.resolved_channel(self.state, channel, permissions)
        )
        return str(channel.id)

    def role(self, value: Any) -> str:
        role = self.guild.roles.get(int(value)) if self.guild else None
        if role is not None:
            self._add("roles", role.id, payloads.role(role))
        return str(int(value))

    def attachment(self, value: Any) -> str:
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], bytes)):
            raise InvalidInvocation("an attachment option takes a (filename, bytes) tuple")
        filename, data = value
        stored = self.state.add_attachment(filename, data, _content_type(filename))
        self._add("attachments", stored.id, payloads.attachment(self.base_url, stored))
        return str(stored.id)


def _content_type(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "txt": "text/plain; charset=utf-8",
        "md": "text/markdown; charset=utf-8",
        "json": "application/json",
        "csv": "text/csv; charset=utf-8",
        "pdf": "application/pdf",
    }.get(suffix, "application/octet-stream")


def _option_value(resolver: Resolver, schema: dict[str, Any], value: Any, path: str) -> Any:
    kind, name = schema["type"], schema["name"]
    if kind == STRING:
        if not isinstance(value, str):
            raise InvalidInvocation(f"/{path} {name}: a string option takes a str")
        limit = schema.get("max_length", STRING_OPTION)
        if len(value) > limit or len(value) < schema.get("min_length", 0):
            raise InvalidInvocation(
                f"/{path} {name}: Discord only accepts {schema.get('min_length', 0)}-{limit} "
                f"characters here ({len(value)} given)"
            )
        return value
    if kind in (INTEGER, NUMBER):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInvocation(f"/{path} {name}: a number option takes a number")
        low, high = schema.get("min_value"), schema.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise InvalidInvocation(f"/{path} {name}: Discord only accepts {low}..{high}")
        return int(value) if kind == INTEGER else float(value)
    if kind == BOOLEAN:
        return bool(value)
    if kind == USER:
        return resolver.user(value)
    if kind == CHANNEL:
        return resolver.channel(value, schema)
    if kind == ROLE:
        return resolver.role(value)
    if kind == MENTIONABLE:
        return resolver.user(value) if isinstance(value, SimUser) else resolver.role(value)
    if kind == ATTACHMENT:
        return resolver.attachment(value)
    raise InvalidInvocation(f"/{path} {name}: option type {kind} is not supported")


def command_data(
    state: SimState,
    base_url: str,
    guild: SimGuild | None,
    path: str,
    options: dict[str, Any],
    *,
    focused: str | None = None,
) -> dict[str, Any]:
    """`data` of an APPLICATION_COMMAND (or, with `focused`, an AUTOCOMPLETE) interaction."""
    commands = state.commands_for(guild.id if guild else None)
    command, subs = find_command(commands, path)
    chain, schemas = leaf_options(command, subs, path)
    by_name = {s["name"]: s for s in schemas}
    unknown = set(options) - set(by_name)
    if unknown:
        raise InvalidInvocation(
            f"/{path} has no option {sorted(unknown)}; it has {sorted(by_name)}"
        )
    resolver = Resolver(state, guild, base_url)
    values: list[dict[str, Any]] = []
    for schema in schemas:
        name = schema["name"]
        if name == focused:
            typed = options.get(name, "")
            values.append({"type": schema["type"], "name": name, "value": typed, "focused": True})
            continue
        if name not in options or options[name] is None:
            if schema.get("required") and focused is None:
                raise InvalidInvocation(f"/{path}: option {name!r} is required")
            continue
        value = _option_value(resolver, schema, options[name], path)
        choices = schema.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            allowed = [c["value"] for c in choices]
            raise InvalidInvocation(f"/{path} {name}: {value!r} is not one of {allowed}")
        values.append({"type": schema["type"], "name": name, "value": value})
    if focused is not None and focused not in by_name:
        raise InvalidInvocation(f"/{path} has no option {focused!r} to autocomplete")
    if focused is not None and not by_name[focused].get("autocomplete"):
        raise InvalidInvocation(f"/{path} {focused}: this option has no autocomplete")
    data: dict[str, Any] = {
        "id": command["id"],
        "name": command["name"],
        "type": 1,
        "options": _nest(command, chain, values),
    }
    if resolver.resolved:
        data["resolved"] = resolver.resolved
    if guild is not None and command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    return data


def iter_components(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every interactive component of a message or modal, in reading order."""
    found: list[dict[str, Any]] = []
    for row in rows:
        if row.get("type") == LABEL:
            found.append(dict(row.get("component") or {}, label=row.get("label")))
        elif "components" in row:
            found.extend(iter_components(row["components"]))
        elif "component" in row:
            found.extend(iter_components([row["component"]]))
        elif row.get("type") in (BUTTON, TEXT_INPUT) or row.get("type") in SELECT_TYPES:
            found.append(row)
    return found


def find_component(
    message: SimMessage, *, custom_id: str | None, label: str | None, kinds: set[int]
) -> dict[str, Any]:
    candidates = [c for c in iter_components(message.components) if c.get("type") in kinds]
    for component in candidates:
        if custom_id is not None and component.get("custom_id") == custom_id:
            return component
        if label is not None and component.get("label") == label:
            return component
    shown = [(c.get("label"), c.get("custom_id")) for c in candidates]
    wanted = custom_id if custom_id is not None else label
    raise InvalidInvocation(f"no component {wanted!r} on message {message.id}; it has {shown}")


def button_data(message: SimMessage, *, custom_id: str | None, label: str | None) -> dict:
    button = find_component(message, custom_id=custom_id, label=label, kinds={BUTTON})
    if button.get("disabled"):
        raise InvalidInvocation(f"button {button.get('label')!r} is disabled")
    if button.get("style") in (5, 6) or not button.get("custom_id"):
        raise InvalidInvocation(f"button {button.get('label')!r} is a link, not an interaction")
    return {"custom_id": button["custom_id"], "component_type": BUTTON}


def select_data(
    state: SimState, guild: SimGuild | None, message: SimMessage, custom_id: str, values: list[Any]
) -> dict[str, Any]:
    select = find_component(message, custom_id=custom_id, label=None, kinds=SELECT_TYPES)
    if select.get("disabled"):
        raise InvalidInvocation(f"select {custom_id!r} is disabled")
    low, high = select.get("min_values", 1), select.get("max_values", 1)
    if not low <= len(values) <= high:
        raise InvalidInvocation(f"select {custom_id!r} takes {low}-{high} values")
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": select["type"]}
    if select["type"] == STRING_SELECT:
        allowed = [o["value"] for o in select.get("options", [])]
        wrong = [v for v in values if v not in allowed]
        if wrong:
            raise InvalidInvocation(f"select {custom_id!r} has no option {wrong}; it has {allowed}")
        data["values"] = list(values)
        return data
    resolver = Resolver(state, guild)
    ids = []
    for value in values:
        if isinstance(value, SimUser):
            ids.append(resolver.user(value))
        elif select["type"] == 8:
            ids.append(resolver.channel(value, {"name": custom_id, **select}))
        else:
            ids.append(resolver.role(value))
    data["values"] = ids
    data["resolved"] = resolver.resolved
    return data


def modal_submit_data(modal: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """What the client sends when a member fills a modal: keys are custom ids or labels.

    Text inputs take a string; a select menu in the modal takes a list of option values.
    """
    fields = [
        c
        for c in iter_components(modal.get("components") or [])
        if c.get("type") == TEXT_INPUT or c.get("type") in SELECT_TYPES
    ]
    by_key: dict[str, dict[str, Any]] = {}
    for item in fields:
        by_key[item["custom_id"]] = item
        if item.get("label"):
            by_key.setdefault(item["label"], item)
    values: dict[str, Any] = {}
    for key, value in answers.items():
        if key not in by_key:
            known = [(i.get("label"), i["custom_id"]) for i in fields]
            raise InvalidInvocation(f"modal has no field {key!r}; it has {known}")
        values[by_key[key]["custom_id"]] = value
    for item in fields:
        if item.get("type") in SELECT_TYPES:
            values[item["custom_id"]] = _select_answer(item, values.get(item["custom_id"], []))
            continue
        value = values.get(item["custom_id"], item.get("value") or "")
        if item.get("required", True) and not value:
            raise InvalidInvocation(f"modal field {item.get('label')!r} is required")
        low, high = item.get("min_length", 0), item.get("max_length", 4000)
        if value and not low <= len(value) <= high:
            raise InvalidInvocation(f"modal field {item.get('label')!r} takes {low}-{high} chars")
        values[item["custom_id"]] = value
    return {"custom_id": modal["custom_id"], "components": _submitted(modal["components"], values)}


def _select_answer(item: dict[str, Any], chosen: Any) -> list[str]:
    picked = [chosen] if isinstance(chosen, str) else list(chosen)
    low, high = item.get("min_values", 1), item.get("max_values", 1)
    if item.get("required", True) and not picked:
        raise InvalidInvocation(f"modal select {item.get('label')!r} is required")
    if picked and not low <= len(picked) <= high:
        raise InvalidInvocation(f"modal select {item.get('label')!r} takes {low}-{high} values")
    offered = {o["value"] for o in item.get("options") or []}
    if item.get("type") == STRING_SELECT and not set(picked) <= offered:
        raise InvalidInvocation(f"modal select {item.get('label')!r} offers only {sorted(offered)}")
    return [str(v) for v in picked]


def _submitted(rows: list[dict[str, Any]], values: dict[str, Any]) -> list[dict[str, Any]]:
    submitted = []
    for row in rows:
        if row.get("type") == LABEL:
            inner = row.get("component") or {}
            submitted.append({"type": LABEL, "component": _answer(inner, values)})
        elif row.get("type") == 1:
            items = [_answer(c, values) for c in row.get("components") or []]
            submitted.append({"type": 1, "components": items})
    return submitted


def _answer(component: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    if component.get("type") == TEXT_INPUT:
        return {
            "type": 4,
            "custom_id": component["custom_id"],
            "value": values.get(component["custom_id"], ""),
        }
    return {
        "type": component.get("type"),
        "custom_id": component.get("custom_id"),
        "values": values.get(component.get("custom_id"), []),
    }
