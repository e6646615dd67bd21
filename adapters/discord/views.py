"""Persistent views (buttons) and modals (forms), built from render's plain descriptions.

Every press is dispatched by `CoreButton`, a discord.py DynamicItem registered once at start, so
presses reach the adapter after a restart too, and nothing per message is kept in memory. A
press is only a request: the core re-checks in storage that the presser may do it.
"""

from __future__ import annotations

import discord

from adapters.discord.payload_limits import (
    MAX_INPUT_LABEL,
    MAX_INPUT_LENGTH,
    MAX_MODAL_INPUTS,
    MAX_MODAL_TITLE,
)
from adapters.discord.render import Button, button_rows
from bot.replies import FormRequest


class SentView(discord.ui.View):
    """Buttons as sent: a description only. discord.py keeps no per-message state for it (no
    view store entry, no timeout), so nothing grows with every message and nothing expires.
    Presses are dispatched by the one registered `CoreButton` (a DynamicItem), which is never
    unregistered: discord.py drops a view's dynamic items from its store when that view times
    out, which is what a stored ephemeral view does after 15 minutes."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    def is_finished(self) -> bool:
        return True

    def is_dispatchable(self) -> bool:
        return False


def build_view(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    if not buttons:
        return None
    view = SentView()
    for row, items in enumerate(button_rows(buttons)):
        for button in items:
            style = discord.ButtonStyle.primary if button.primary else discord.ButtonStyle.secondary
            view.add_item(
                discord.ui.Button(label=button.label[:80] or None, custom_id=button.custom_id, style=style, row=row)
            )
    return view


class FormModal(discord.ui.Modal):
    """A core FormRequest as a modal. Submissions are handled from the raw interaction (so they
    work whichever process opened the modal); this object only describes it."""

    def __init__(self, form: FormRequest, custom_id: str) -> None:
        super().__init__(title=(form.title or "…")[:MAX_MODAL_TITLE], custom_id=custom_id, timeout=15 * 60)
        for field in form.fields[:MAX_MODAL_INPUTS]:
            limit = max(1, min(field.max_length, MAX_INPUT_LENGTH))
            self.add_item(
                discord.ui.TextInput(
                    label=(field.label or field.key)[:MAX_INPUT_LABEL],
                    custom_id=field.key,
                    style=discord.TextStyle.paragraph if field.multiline else discord.TextStyle.short,
                    default=field.value[:limit] or None,
                    required=field.required,
                    max_length=limit,
                )
            )


def modal_values(components: list[dict]) -> dict[str, str]:
    """Text input values of a MODAL_SUBMIT, by input custom id, whatever the layout."""
    values: dict[str, str] = {}

    def walk(items: list[dict]) -> None:
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("type") == 4 and "custom_id" in item:
                values[str(item["custom_id"])] = str(item.get("value") or "")
            walk(list(item.get("components") or []))
            inner = item.get("component")
            if isinstance(inner, dict):
                walk([inner])

    walk(components)
    return values


class TextModal(discord.ui.Modal):
    """One long text that a slash command left out (a suggestion, a proposed wording, a note)."""

    def __init__(self, custom_id: str, title: str, key: str, label: str, minimum: int | None, maximum: int) -> None:
        super().__init__(title=title[:MAX_MODAL_TITLE], custom_id=custom_id, timeout=15 * 60)
        self.add_item(
            discord.ui.TextInput(
                label=label[:MAX_INPUT_LABEL],
                custom_id=key,
                style=discord.TextStyle.paragraph,
                required=True,
                min_length=minimum,
                max_length=max(1, min(maximum, MAX_INPUT_LENGTH)),
            )
        )
