"""Persistent views (buttons) and modals (forms), built from render's plain descriptions.

Every press is dispatched by `CoreButton`, a discord.py DynamicItem registered once at start, so
presses reach the adapter after a restart too, and nothing per message is kept in memory. A
press is only a request: the core re-checks in storage that the presser may do it.
"""

from __future__ import annotations

import discord

from adapters.discord.payload_limits import (
    MAX_CUSTOM_ID,
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


def _check_id(custom_id: str, what: str) -> None:
    """Discord refuses a whole modal for one id outside 1-100 characters: never send one."""
    if not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
        raise ValueError(f"{what} custom id must be 1-{MAX_CUSTOM_ID} characters (has {len(custom_id)})")


def _label(label: str, fallback: str) -> str:
    """A field's label as Discord takes it: 1-45 characters, not blank."""
    return (label.strip() or fallback.strip() or "…")[:MAX_INPUT_LABEL]


def _lengths(minimum: int | None, maximum: int) -> tuple[int | None, int]:
    """(min_length, max_length) within Discord's 0-4000, the minimum never above the maximum."""
    high = max(1, min(maximum, MAX_INPUT_LENGTH))
    return (None if minimum is None else max(0, min(minimum, high))), high


class FormModal(discord.ui.Modal):
    """A core FormRequest as a modal. Submissions are handled from the raw interaction (so they
    work whichever process opened the modal); this object only describes it. A form Discord
    would refuse (no fields, an id too long) raises ValueError rather than being sent."""

    def __init__(self, form: FormRequest, custom_id: str) -> None:
        if not form.fields:
            raise ValueError("a form needs at least one field")
        _check_id(custom_id, "form")
        super().__init__(title=(form.title.strip() or "…")[:MAX_MODAL_TITLE], custom_id=custom_id, timeout=15 * 60)
        for field in form.fields[:MAX_MODAL_INPUTS]:
            _check_id(field.key, "form field")
            _, limit = _lengths(None, field.max_length)
            self.add_item(
                discord.ui.TextInput(
                    label=_label(field.label, field.key),
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
        _check_id(custom_id, "form")
        _check_id(key, "form field")
        super().__init__(title=(title.strip() or "…")[:MAX_MODAL_TITLE], custom_id=custom_id, timeout=15 * 60)
        low, high = _lengths(minimum, maximum)
        self.add_item(
            discord.ui.TextInput(
                label=_label(label, key),
                custom_id=key,
                style=discord.TextStyle.paragraph,
                required=True,
                min_length=low,
                max_length=high,
            )
        )
