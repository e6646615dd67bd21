"""What the adapter could send that Discord rejects, and no longer does: custom ids over 100
characters in a server (not only in direct messages), a text input's `min_length` outside 0-4000
or above its `max_length`, a form with no fields, an empty field label or a custom id over 100,
an autocomplete choice with no name, and integer bounds of 2^53 (Discord allows ±(2^53 - 1))."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord import adapter as adapter_module
from adapters.discord.payload_limits import MAX_SAFE_INT, command_problems, modal_problems
from adapters.discord.render import personal_pieces
from adapters.discord.views import FormModal, TextModal
from bot.replies import ActionButtons, Delivery, FormField, FormRequest
from tests.discord.conftest import Bot, buttons
from tests.discord_loopback.spec import discord_spec

LONG = "agreement:accept:" + "K" * 84  # 101 characters


def modal_callback(modal: Any) -> dict[str, Any]:
    return {"type": 9, "data": modal.to_dict()}


def spec_problems(body: dict[str, Any]) -> Any:
    return discord_spec().problems("POST", "/interactions/1/token/callback", body, {})


def test_an_over_long_custom_id_in_a_server_leaves_its_button_out() -> None:
    intent = ActionButtons("5", "Your turn.", ((LONG, "Accept"), ("agreement:view:K7M2Q", "View")))
    pieces = personal_pieces(intent, yes="Yes", no="No")
    assert pieces is not None
    assert [b.custom_id for p in pieces for b in p.buttons] == ["agreement:view:K7M2Q"]
    assert pieces[-1].text == "Your turn."


async def test_a_direct_message_whose_id_cannot_carry_its_server_is_still_sent(bot: Bot) -> None:
    # 90 characters fit in a server, not with "@<server id>/" in front (a direct message).
    near = "agreement:accept:" + "K" * 73
    intent = ActionButtons(str(bot.uid("carol")), "Your turn.", ((near, "Accept"), ("agreement:view:K7M2Q", "View")))
    assert bot.adapter is not None
    await bot.adapter.deliver(Delivery(90, "discord", str(bot.guild.id), intent))
    dms = bot.dms("carol")
    assert [m["content"] for m in dms] == ["Your turn."]
    assert list(buttons(dms[0]).values()) == [f"@{bot.guild.id}/agreement:view:K7M2Q"]


@pytest.mark.parametrize(("minimum", "maximum"), [(5000, 300), (400, 300), (-3, 300), (10, 9000)])
def test_a_text_form_keeps_its_lengths_within_what_discord_takes(minimum: int, maximum: int) -> None:
    modal = TextModal("~cmd:questions.suggest", "/questions suggest", "text", "Your question", minimum, maximum)
    box = modal.to_dict()["components"][0]["components"][0]
    assert 0 <= box.get("min_length", 0) <= box["max_length"] <= 4000
    assert spec_problems(modal_callback(modal)) is None


def test_a_form_field_with_no_label_gets_one() -> None:
    form = FormRequest("5", "agreement:edit:K7M2Q", "Edit", (FormField("wording", "", 500), FormField("note", "  ", 200)))
    modal = FormModal(form, form.form_id)
    assert spec_problems(modal_callback(modal)) is None
    assert modal_problems(modal.to_dict()) == []
    labels = [row["components"][0]["label"] for row in modal.to_dict()["components"]]
    assert labels == ["wording", "note"]  # a blank label reads as its field's name


@pytest.mark.parametrize(
    "form",
    [
        FormRequest("5", "agreement:edit:K7M2Q", "Edit", ()),  # no fields
        FormRequest("5", "f" * 101, "Edit", (FormField("wording", "Wording", 500),)),  # id too long
    ],
)
def test_a_form_discord_would_refuse_is_not_sent(form: FormRequest) -> None:
    with pytest.raises(ValueError):
        FormModal(form, form.form_id)


async def test_a_form_discord_would_refuse_gets_a_kind_answer_instead(bot: Bot, monkeypatch) -> None:
    empty = FormRequest(str(bot.uid("alice")), "agreement:edit:K7M2Q", "Edit", ())

    async def handle(*args: Any, **kwargs: Any) -> list[Any]:
        return [empty]

    monkeypatch.setattr(bot.app, "handle_structured", handle)
    handle_ = await bot.slash("alice", "help")
    callback = await handle_.response()
    assert callback.ok, callback.response  # a message, not a modal Discord refuses
    assert callback.json["type"] == 4


async def test_suggestions_with_no_name_are_left_out(bot: Bot, monkeypatch) -> None:
    async def suggest(*args: Any) -> list[tuple[str, str]]:
        return [("", "blank"), ("   ", "spaces"), ("Europe/London", "Europe/London")]

    monkeypatch.setattr(adapter_module, "suggestions", suggest)
    handle = await bot.server.send_autocomplete(
        bot.guild.id, bot.circle.id, bot.uid("alice"), "help", {"command": "pa"}, focused="command"
    )
    callback = await handle.response()
    assert callback.ok, callback.response
    assert [c["value"] for c in handle.choices or []] == ["Europe/London"]


def test_integer_bounds_stop_at_two_to_the_53_minus_one() -> None:
    assert MAX_SAFE_INT == 2**53 - 1
    command = {
        "name": "pick",
        "description": "Pick a number",
        "type": 1,
        "options": [{"type": 4, "name": "n", "description": "A number", "max_value": 2**53}],
    }
    assert command_problems(command)
    command["options"][0]["max_value"] = 2**53 - 1
    assert command_problems(command) == []
