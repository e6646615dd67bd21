"""The loopback rejects command localizations Discord rejects: a localized name must follow the
same rule as a name (1-32 lowercase letters, digits, - _ '), a localized description 1-100
characters, a localized choice name 1-100, and every key must be one of Discord's locales ("es"
is not one: Spanish is "es-ES" and "es-419"). What is valid is stored and given back."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import World
from .server import LoopbackDiscord
from .test_spec_validation import call, command, option

pytestmark = pytest.mark.timeout(30)

BAD_LOCALIZATIONS: list[tuple[str, dict[str, Any]]] = [
    ("localized name with a capital", command(name_localizations={"es-ES": "Ayuda"})),
    ("localized name with a space", command(name_localizations={"es-ES": "mis datos"})),
    ("localized name with a dot", command(name_localizations={"es-419": "ayuda."})),
    ("localized name of 33", command(name_localizations={"es-ES": "a" * 33})),
    ("locale that is not Discord's", command(name_localizations={"es": "ayuda"})),
    ("description locale not Discord's", command(description_localizations={"spanish": "Ayuda"})),
    ("localized description of 101", command(description_localizations={"es-ES": "d" * 101})),
    ("empty localized description", command(description_localizations={"es-ES": ""})),
    ("option localized name with a capital", command(options=[option(name_localizations={"es-ES": "Texto"})])),
    ("option localized name with a space", command(options=[option(name_localizations={"es-419": "el texto"})])),
    ("option locale not Discord's", command(options=[option(description_localizations={"xx-YY": "Texto"})])),
    ("subcommand localized name with a capital", command(options=[{"type": 1, "name": "join", "description": "Join", "name_localizations": {"es-ES": "Unirme"}}])),
    ("choice localized name of 101", command(options=[option(choices=[{"name": "a", "value": "a", "name_localizations": {"es-ES": "n" * 101}}])])),
    ("choice locale not Discord's", command(options=[option(choices=[{"name": "a", "value": "a", "name_localizations": {"es": "a"}}])])),
    ("localized name not text", command(name_localizations={"es-ES": 7})),
]


@pytest.mark.parametrize(("what", "body"), BAD_LOCALIZATIONS, ids=[b[0] for b in BAD_LOCALIZATIONS])
async def test_bad_localizations_are_rejected_as_discord_does(
    loopback: LoopbackDiscord, world: World, what: str, body: dict[str, Any]
) -> None:
    path = f"/applications/{loopback.application_id}/guilds/{world.guild.id}/commands"
    before = dict(loopback.commands)
    status, answer = await call(loopback, "PUT", path, [body])
    assert status == 400, (what, status, answer)
    assert answer["code"] == 50035 and answer["message"] == "Invalid Form Body"
    assert answer["errors"], answer
    assert dict(loopback.commands) == before
    # one command at a time is checked the same way
    status, _ = await call(loopback, "POST", path, body)
    assert status == 400, what


async def test_good_localizations_are_stored_and_given_back(loopback: LoopbackDiscord, world: World) -> None:
    body = command(
        name="pair",
        name_localizations={"es-ES": "parejas", "es-419": "parejas"},
        description_localizations={"es-ES": "Conversaciones en pareja", "es-419": "Conversaciones en pareja"},
        options=[
            {
                "type": 1,
                "name": "not-with",
                "description": "Never pair me with someone",
                "name_localizations": {"es-ES": "no-con", "hi": "साथ-नहीं", "th": "ไม่จับคู่"},
                "options": [
                    option(
                        name="remove",
                        name_localizations={"es-ES": "quitar"},
                        required=False,
                        choices=[{"name": "remove", "value": "remove", "name_localizations": {"es-ES": "Quitar a esta persona"}}],
                    )
                ],
            }
        ],
    )
    path = f"/applications/{loopback.application_id}/guilds/{world.guild.id}/commands"
    status, answer = await call(loopback, "PUT", path, [body])
    assert status == 200, answer
    stored = answer[0]
    assert stored["name_localizations"] == {"es-ES": "parejas", "es-419": "parejas"}
    sub = stored["options"][0]
    assert sub["name_localizations"]["es-ES"] == "no-con"
    assert sub["options"][0]["choices"][0]["name_localizations"] == {"es-ES": "Quitar a esta persona"}
    # null means "none", as Discord allows
    status, answer = await call(loopback, "PUT", path, [command(name_localizations=None)])
    assert status == 200, answer


def test_the_locales_are_the_specifications() -> None:
    import gzip
    import json

    from .payloads import DISCORD_LOCALES
    from .spec import SPEC_FILE

    spec = json.loads(gzip.decompress(SPEC_FILE.read_bytes()))
    enum = spec["components"]["schemas"]["AvailableLocalesEnum"]["oneOf"]
    assert DISCORD_LOCALES == {entry["const"] for entry in enum}
