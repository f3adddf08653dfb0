"""Forms (modals) dispatched by their custom_id, never by memory.

discord.py hands a modal submission to the `Modal` object that opened it, which lives only
in the process that opened it: after a restart, the member's typing is lost. A `Form` is
never kept: its custom_id says what it is for (`roadmap:checkin-edit:42`), and the bot's
`FormRouter` sends every submission to the form class whose `template` matches it, with
what was typed (`Answers`). So a form opened before a restart, or twice on two devices, is
handled like any other.

When a submission cannot be handled (the form is unknown, its request was withdrawn, the
member lost the right to it, or anything else fails), the answer quotes back what was
typed, so nothing is lost.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import discord

from bot.discord_limits import MESSAGE
from bot.markdown import escape
from bot.shutdown import accepting
from bot.ui.base import SHUTTING_DOWN, MentorView
from bot.ui.errors import explain
from bot.ui.replies import reply

log = logging.getLogger(__name__)

UNKNOWN_FORM = (
    "I can no longer handle this form: it was opened before an update of Mentor and has no "
    "handler now. Open it again with its command."
)
QUOTE_HEADER = "What you typed, so nothing is lost:"
ATTACHED = "What you typed is attached, so nothing is lost."
ANSWERS_FILE = "what-you-typed.txt"
AGAIN_EXPIRED = (
    "This button stopped working when Mentor restarted. What you typed is quoted above: copy "
    "it, and open the form again with its command."
)


class Answers:
    """What a member typed into a submitted form, by field custom_id."""

    def __init__(self, values: dict[str, str | list[str]]) -> None:
        self.values = values

    @classmethod
    def from_submission(cls, data: dict[str, Any]) -> Answers:
        values: dict[str, str | list[str]] = {}
        for component in _walk(data.get("components") or []):
            custom_id = component.get("custom_id")
            if custom_id is None:
                continue
            if "values" in component:
                values[custom_id] = [str(v) for v in component["values"]]
            else:
                values[custom_id] = str(component.get("value") or "")
        return cls(values)

    def text(self, key: str) -> str:
        value = self.values.get(key, "")
        return value if isinstance(value, str) else ", ".join(value)

    def choices(self, key: str) -> list[str]:
        value = self.values.get(key, [])
        return value if isinstance(value, list) else [value] if value else []

    def texts(self, keys: Iterable[str]) -> dict[str, str]:
        return {key: self.text(key) for key in keys}

    def quote(self, labels: dict[str, str]) -> str:
        """Each answer under its label, as a Markdown quote (empty answers left out); the
        text escaped, so it shows exactly as typed."""
        parts = []
        for key, value in self.values.items():
            text = value if isinstance(value, str) else ", ".join(value)
            if not text.strip():
                continue
            lines = escape(text).splitlines()
            quoted = "\n".join(f"> {line}" if line else ">" for line in lines)
            parts.append(f"**{labels.get(key, key)}**\n{quoted}")
        return "\n".join(parts)

    def plain(self, labels: dict[str, str]) -> str:
        return "\n\n".join(
            f"{labels.get(key, key)}:\n{self.text(key)}"
            for key in self.values
            if self.text(key).strip()
        )


def _walk(components: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for component in components:
        if component.get("type") == 1:
            yield from _walk(component.get("components") or [])
        elif component.get("type") == 18:  # a Label around one input
            yield from _walk([component["component"]] if component.get("component") else [])
        else:
            yield component


class Form(discord.ui.Modal):
    """A modal handled by `submit` (a classmethod), found again by its custom_id.

    Subclasses pass `template=` (a regex the whole custom_id matches, with named groups for
    what the form is about) and name their fields in `labels` (custom_id: label), which is
    also how a refused submission is quoted back.
    """

    template: ClassVar[re.Pattern[str]]
    labels: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, *, template: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if template is not None:
            cls.template = re.compile(template)

    async def send_to(self, interaction: discord.Interaction) -> None:
        """Open the form. It is not kept: the submission comes back through the router."""
        self.stop()  # a finished modal is not stored by discord.py
        await interaction.response.send_modal(self)

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        raise NotImplementedError


def again_custom_id(client: discord.Client) -> str:
    """The custom_id of an "Edit and send again" button made by this run of the bot."""
    router: FormRouter = client.forms  # type: ignore[attr-defined]
    return f"form:again:{router.run}:{secrets.token_hex(4)}"


class AgainAfterRestart(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"form:again:(?P<run>[0-9a-f]{8}):[0-9a-f]{8}",
):
    """An "Edit and send again" button from before a restart: what it held is gone, so it
    says so (the refusal it sits under quotes the text). This run's own are answered by
    their view."""

    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(label="Edit and send again", custom_id=custom_id))
        self.run = custom_id.split(":")[2]

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> AgainAfterRestart:
        return cls(match.string)

    async def callback(self, interaction: discord.Interaction) -> None:
        router: FormRouter = interaction.client.forms  # type: ignore[attr-defined]
        if self.run != router.run:
            await reply(interaction, AGAIN_EXPIRED)


class RetryView(MentorView):
    """Offered when a form was refused: reopens it with what the member typed.

    It lives in memory until a restart (what was typed is too long for a custom_id); after
    one its button answers that it stopped working (`AgainAfterRestart`), and the refusal
    above it quotes the text anyway.
    """

    def __init__(self, client: discord.Client, owner_id: int, reopen: Callable[[], Form]) -> None:
        super().__init__(owner_id=owner_id, timeout=None)
        self.reopen = reopen
        self.again.custom_id = again_custom_id(client)

    @discord.ui.button(label="Edit and send again", style=discord.ButtonStyle.primary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.reopen().send_to(interaction)


class FormRouter:
    """Every form class of the bot; `dispatch` answers every modal submission."""

    def __init__(self) -> None:
        self._forms: list[type[Form]] = []
        self.run = secrets.token_hex(4)  # this run of the bot (see `again_custom_id`)

    def add(self, *forms: type[Form]) -> None:
        for form in forms:
            if form not in self._forms:
                self._forms.append(form)

    def remove(self, *forms: type[Form]) -> None:
        self._forms = [f for f in self._forms if f not in forms]

    def find(self, custom_id: str) -> tuple[type[Form], re.Match[str]] | None:
        for form in self._forms:
            match = form.template.fullmatch(custom_id)
            if match is not None:
                return form, match
        return None

    async def dispatch(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
        answers = Answers.from_submission(data)
        found = self.find(str(data.get("custom_id", "")))
        if found is None:
            log.info("A form nobody handles was submitted: %s", data.get("custom_id"))
            await answer_with_quote(interaction, UNKNOWN_FORM, answers, {})
            return
        form, match = found
        if not accepting(interaction.client):
            await answer_with_quote(interaction, SHUTTING_DOWN, answers, form.labels)
            return
        try:
            await form.submit(interaction, match, answers)
        except Exception as error:
            await report_form_error(interaction, error, answers, form.labels)


async def report_form_error(
    interaction: discord.Interaction,
    error: Exception,
    answers: Answers,
    labels: dict[str, str],
    view: discord.ui.View | None = None,
) -> None:
    """The reason (or a reference for a bug), with what was typed quoted back."""
    await answer_with_quote(interaction, explain(interaction, error), answers, labels, view)


async def answer_with_quote(
    interaction: discord.Interaction,
    message: str,
    answers: Answers,
    labels: dict[str, str],
    view: discord.ui.View | None = None,
    *,
    embed: discord.Embed | None = None,
) -> None:
    """Answer privately with `message` and the answers: quoted, or as a file when long."""
    extra: dict[str, Any] = {} if view is None else {"view": view}
    if embed is not None:
        extra["embed"] = embed
    quote = answers.quote(labels)
    content = f"{message}\n\n{QUOTE_HEADER}\n{quote}" if quote else message
    if len(content) > MESSAGE:
        content = f"{message}\n\n{ATTACHED}"
        data = answers.plain(labels).encode()
        extra["file"] = discord.File(io.BytesIO(data), filename=ANSWERS_FILE)
    try:
        await reply(interaction, content, **extra)
    except discord.HTTPException:
        log.warning("Could not answer user %s about a form", interaction.user.id, exc_info=True)
