"""Persistent views (buttons) and modals (forms), built from render's plain descriptions.

Every button is a `CoreButton`: a discord.py DynamicItem, so presses reach the adapter after a
restart too, and nothing per message is kept in memory. A press is only a request: the core
re-checks in storage that the presser may do it.
"""

from __future__ import annotations

import discord

from adapters.discord.client import CoreButton
from adapters.discord.payload_limits import (
    MAX_INPUT_LABEL,
    MAX_INPUT_LENGTH,
    MAX_MODAL_INPUTS,
    MAX_MODAL_TITLE,
)
from adapters.discord.render import Button, button_rows
from bot.replies import FormRequest


def build_view(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for row, items in enumerate(button_rows(buttons)):
        for button in items:
            style = discord.ButtonStyle.primary if button.primary else discord.ButtonStyle.secondary
            item = CoreButton(button.custom_id, button.label, style)
            item.row = row
            view.add_item(item)
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
