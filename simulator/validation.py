"""Discord's payload limits, checked the way Discord checks them.

The limits are the bot's own list of Discord's (bot/discord_limits.py, each naming the
schema and property of Discord's OpenAPI spec it comes from), so the bot and its stand-in
never disagree; tests/test_simulator_validation.py holds each to the number Discord
documents. A broken payload yields
Discord's own error shape: `{"code": 50035, "message": "Invalid Form Body", "errors": {...}}`
with the offending path nested in `errors` (`{"embeds": {"0": {"title": {"_errors": [...]}}}}`).
"""

from __future__ import annotations

from typing import Any

from bot.discord_limits import (
    ATTACHMENTS,
    BUTTON_LABEL,
    CHOICE_NAME,
    CHOICE_VALUE,
    CHOICES,
    CUSTOM_ID,
    EMBED_AUTHOR,
    EMBED_DESCRIPTION,
    EMBED_FIELDS,
    EMBED_FOOTER,
    EMBED_TITLE,
    EMBEDS,
    EMBEDS_TOTAL,
    FIELD_NAME,
    FIELD_VALUE,
    INPUT_LABEL,
    INPUT_PLACEHOLDER,
    INPUT_VALUE,
    MESSAGE,
    MODAL_ROWS,
    MODAL_TITLE,
    NONCE,
    OPTION_TEXT,
    ROW_ITEMS,
    ROWS,
    SELECT_OPTIONS,
    SELECT_PLACEHOLDER,
    THREAD_NAME,
)

COMPONENTS_V2 = 1 << 15  # the message flag that allows more than 5 rows of components
INT64 = 2**63
EPHEMERAL = 1 << 6

BUTTON, STRING_SELECT, TEXT_INPUT, LABEL = 2, 3, 4, 18
SELECT_TYPES = (3, 5, 6, 7, 8)


class FormErrors:
    """Collects errors under their JSON path, in Discord's nested `_errors` format."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: tuple[str | int, ...], value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def required(self, path: tuple[str | int, ...], value: Any, limit: int) -> None:
        if not isinstance(value, str) or not value:
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        else:
            self.max_length(path, value, limit)

    def max_items(self, path: tuple[str | int, ...], items: Any, limit: int) -> None:
        if isinstance(items, list) and len(items) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def __bool__(self) -> bool:
        return bool(self.tree)

    def body(self) -> dict[str, Any]:
        return {"code": 50035, "message": "Invalid Form Body", "errors": self.tree}


def check_message(
    payload: dict[str, Any], *, ephemeral_allowed: bool, errors: FormErrors | None = None
) -> FormErrors:
    """A message body for a channel, a webhook, or an interaction response."""
    errors = errors or FormErrors()
    errors.max_length(("content",), payload.get("content"), MESSAGE)
    flags = payload.get("flags") or 0
    if flags & EPHEMERAL and not ephemeral_allowed:
        # Only interaction responses and follow-ups can be ephemeral.
        errors.add(("flags",), "MESSAGE_FLAGS_INVALID", "Ephemeral messages need an interaction.")
    embeds = payload.get("embeds") or []
    errors.max_items(("embeds",), embeds, EMBEDS)
    total = 0
    for index, embed in enumerate(embeds):
        total += _check_embed(errors, ("embeds", index), embed)
    if total > EMBEDS_TOTAL:
        errors.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBEDS_TOTAL}",
        )
    if not flags & COMPONENTS_V2:
        _check_rows(errors, ("components",), payload.get("components") or [], ROWS)
    errors.max_items(("attachments",), payload.get("attachments"), ATTACHMENTS)
    _check_nonce(errors, payload.get("nonce"))
    return errors


def _check_nonce(errors: FormErrors, nonce: Any) -> None:
    if nonce is None:
        return
    if isinstance(nonce, bool) or not isinstance(nonce, str | int):
        errors.add(("nonce",), "BASE_TYPE_BAD_TYPE", "Must be a string or an integer.")
    elif isinstance(nonce, int) and not -INT64 <= nonce < INT64:
        errors.add(("nonce",), "NUMBER_TYPE_MAX", "Must be a 64-bit integer.")
    else:
        errors.max_length(("nonce",), nonce, NONCE)


def _check_embed(errors: FormErrors, path: tuple[str | int, ...], embed: dict[str, Any]) -> int:
    """Check one embed; return its characters that count toward the 6,000 total."""
    title, description = embed.get("title") or "", embed.get("description") or ""
    errors.max_length((*path, "title"), title, EMBED_TITLE)
    errors.max_length((*path, "description"), description, EMBED_DESCRIPTION)
    fields = embed.get("fields") or []
    errors.max_items((*path, "fields"), fields, EMBED_FIELDS)
    size = len(title) + len(description)
    for index, item in enumerate(fields):
        name, value = item.get("name"), item.get("value")
        errors.required((*path, "fields", index, "name"), name, FIELD_NAME)
        errors.required((*path, "fields", index, "value"), value, FIELD_VALUE)
        size += len(name or "") + len(value or "")
    footer = (embed.get("footer") or {}).get("text") or ""
    errors.max_length((*path, "footer", "text"), footer, EMBED_FOOTER)
    author = (embed.get("author") or {}).get("name") or ""
    errors.max_length((*path, "author", "name"), author, EMBED_AUTHOR)
    return size + len(footer) + len(author)


def _check_rows(
    errors: FormErrors, path: tuple[str | int, ...], rows: list[dict[str, Any]], limit: int
) -> None:
    errors.max_items(path, rows, limit)
    for index, row in enumerate(rows):
        if row.get("type") != 1:
            errors.add((*path, index, "type"), "UNION_TYPE_CHOICES", "Expected an action row.")
            continue
        items = row.get("components") or []
        if not items:
            errors.add((*path, index, "components"), "BASE_TYPE_REQUIRED", "This field is required")
        errors.max_items((*path, index, "components"), items, ROW_ITEMS)
        if any(i.get("type") in SELECT_TYPES for i in items) and len(items) > 1:
            errors.add(
                (*path, index, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for position, item in enumerate(items):
            _check_component(errors, (*path, index, "components", position), item)


def _check_component(errors: FormErrors, path: tuple[str | int, ...], item: dict[str, Any]) -> None:
    kind = item.get("type")
    if kind == BUTTON:
        errors.max_length((*path, "label"), item.get("label"), BUTTON_LABEL)
        if item.get("style") in (5, 6):  # link and premium buttons carry no custom id
            return
        errors.required((*path, "custom_id"), item.get("custom_id"), CUSTOM_ID)
    elif kind in SELECT_TYPES:
        errors.required((*path, "custom_id"), item.get("custom_id"), CUSTOM_ID)
        errors.max_length((*path, "placeholder"), item.get("placeholder"), SELECT_PLACEHOLDER)
        if kind == STRING_SELECT:
            options = item.get("options") or []
            if not options:
                errors.add((*path, "options"), "BASE_TYPE_REQUIRED", "This field is required")
            errors.max_items((*path, "options"), options, SELECT_OPTIONS)
            for index, option in enumerate(options):
                for key in ("label", "value"):
                    errors.required((*path, "options", index, key), option.get(key), OPTION_TEXT)
                errors.max_length(
                    (*path, "options", index, "description"), option.get("description"), OPTION_TEXT
                )
    elif kind == TEXT_INPUT:
        _check_text_input(errors, path, item)


def _check_text_input(
    errors: FormErrors, path: tuple[str | int, ...], item: dict[str, Any]
) -> None:
    errors.required((*path, "custom_id"), item.get("custom_id"), CUSTOM_ID)
    # Nullable: inside a Label component (what discord.py 2.6+ sends) it is null.
    if item.get("label") is not None:
        errors.required((*path, "label"), item.get("label"), INPUT_LABEL)
    errors.max_length((*path, "value"), item.get("value"), INPUT_VALUE)
    errors.max_length((*path, "placeholder"), item.get("placeholder"), INPUT_PLACEHOLDER)


def check_modal(data: dict[str, Any]) -> FormErrors:
    """The `data` of a MODAL (type 9) interaction response."""
    errors = FormErrors()
    errors.required(("data", "title"), data.get("title"), MODAL_TITLE)
    errors.required(("data", "custom_id"), data.get("custom_id"), CUSTOM_ID)
    rows = data.get("components") or []
    if not rows:
        errors.add(("data", "components"), "BASE_TYPE_REQUIRED", "This field is required")
    errors.max_items(("data", "components"), rows, MODAL_ROWS)
    for index, row in enumerate(rows):
        path: tuple[str | int, ...] = ("data", "components", index)
        if row.get("type") == LABEL:
            errors.required((*path, "label"), row.get("label"), INPUT_LABEL)
            _check_component(errors, (*path, "component"), row.get("component") or {})
        elif row.get("type") == 1:
            for position, item in enumerate(row.get("components") or []):
                _check_component(errors, (*path, "components", position), item)
    return errors


def check_choices(data: dict[str, Any]) -> FormErrors:
    """The `data` of an APPLICATION_COMMAND_AUTOCOMPLETE_RESULT (type 8) response."""
    errors = FormErrors()
    choices = data.get("choices") or []
    errors.max_items(("data", "choices"), choices, CHOICES)
    for index, choice in enumerate(choices):
        errors.required(("data", "choices", index, "name"), choice.get("name"), CHOICE_NAME)
        errors.max_length(("data", "choices", index, "value"), choice.get("value"), CHOICE_VALUE)
    return errors


def check_thread_name(name: Any) -> FormErrors:
    errors = FormErrors()
    errors.required(("name",), name, THREAD_NAME)
    return errors


def is_empty_message(payload: dict[str, Any], files: int) -> bool:
    return not (
        payload.get("content")
        or payload.get("embeds")
        or payload.get("components")
        or payload.get("sticker_ids")
        or payload.get("poll")
        or files
    )
