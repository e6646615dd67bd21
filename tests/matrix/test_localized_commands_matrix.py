"""On Matrix, every command is reachable in each locale's own words too (`!parejas unirme`,
`!preguntas enfoque avanzar`), in a community room where only a line starting with a command
word is read, and case and accents do not matter (`!Atrás`, `!SÍ`)."""

from __future__ import annotations

from typing import Any

from bot.commands.spec import ArgType, CommandSpec
from bot.commands.words import command_words
from tests.matrix.test_matrix_units import CIRCLE_ROOM, _event, circle_adapter


def _sample(spec: CommandSpec, words: Any, locale: str) -> str:
    typed = [words.name(locale, spec)]
    for arg in spec.args:
        if not arg.required:
            continue
        match arg.type:
            case ArgType.INT:
                typed.append(str(arg.min if arg.min is not None else 1))
            case ArgType.MEMBER:
                typed.append("@jo:example.org")
            case ArgType.CHOICE:
                typed.append(words.value(locale, arg.choices[0]))
            case ArgType.RECURRENCE:
                typed.append("daily 18:00")
            case ArgType.TIMEZONE:
                typed.append("UTC")
            case ArgType.WORD:
                typed.append(words.value(locale, arg.words[0]) if arg.words else "x")
            case _:
                typed.append("daily 18:00 y unas palabras")
    return " ".join(typed)


async def test_every_command_is_reachable_in_spanish_words(harness) -> None:
    app = harness.app
    words = command_words(app.catalog)
    room_id = CIRCLE_ROOM
    adapter, outcomes = circle_adapter(harness)
    await adapter._on_message(room_id, _event(room_id, "@jo:example.org", "!parejas estado", 0))
    assert outcomes[-1][1] == "pair status"
    outcomes.clear()

    specs = app.registry.specs()
    lines = [_sample(spec, words, "es") for spec in specs]
    assert "parejas unirme" in lines and "sí" in lines and "preguntas enfoque conexion" in lines
    for index, line in enumerate(lines, start=1):
        await adapter._on_message(room_id, _event(room_id, "@alex:example.org", "!" + line, index))
    reached = {name for outcome, name in outcomes if outcome in ("done", "refused")}
    missing = [spec.name for spec in specs if spec.name not in reached]
    assert not missing, (missing, outcomes)
    assert not [o for o in outcomes if o[0] in ("error", "invalid")], outcomes
    # case and accents as people type them
    outcomes.clear()
    for index, line in enumerate(["!Atrás", "!SÍ", "!PAREJAS Estado"], start=1000):
        await adapter._on_message(room_id, _event(room_id, "@alex:example.org", line, index))
    assert [name for _, name in outcomes] == ["back", "yes", "pair status"]
    # a line that only looks like chat is not read at all
    outcomes.clear()
    await adapter._on_message(room_id, _event(room_id, "@alex:example.org", "!pajaros cantan", 2000))
    assert outcomes == []
    await adapter.queues.close()
