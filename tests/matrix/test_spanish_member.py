"""A Spanish-speaking member on Matrix (issue 18), on the session's test Synapse: after
`!mydata language es` their private answers, the pairing consent, the pair's room (both read
Spanish) and the check-in are in Spanish, while the community room's posts stay in English."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit

pytestmark = pytest.mark.timeout(120)


async def test_a_spanish_speaking_member_joins_consents_and_checks_in_in_spanish(synapse, matrix_localpart, tmp_path):
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    ana = await kit.connect_member(synapse, matrix_localpart("ana"), tmp_path)
    ben = await kit.connect_member(synapse, matrix_localpart("ben"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [alex, ana, ben], encrypted=False)
        private: dict[str, str] = {}
        for member in (ana, ben):
            await bk.say(member, room, "!mydata language es")
            private[member.user_id], _ = await bk.wait_bot(member, bot.user_id, "Desde ahora te escribo en español")
            await bk.say(member, room, "!pair join")
            _, consent = await bk.wait_bot(member, bot.user_id, "¿Te gustaría sumarte?", room_id=private[member.user_id])
            assert "Antes de sumarte al emparejamiento" in consent.body
            assert "Responde sí o no aquí" in consent.body  # the adapter's own hint, in her language too
            await bk.say(member, private[member.user_id], "yes")
            await bk.wait_bot(member, bot.user_id, "Ya estás dentro", room_id=private[member.user_id])
        await bk.say(alex, room, "!pair schedule weekly mon 10:00")
        await bk.wait_bot(alex, bot.user_id, "Pairing rounds will start")
        await bk.say(alex, room, "!pair now")
        _, begun = await bk.wait_bot(alex, bot.user_id, "has begun", room_id=room)
        assert "Pairing round 1" in begun.body  # the community's room: the community's English
        pair_room, welcome = await bk.wait_bot(ana, bot.user_id, "Este es su espacio privado para la ronda 1")
        assert pair_room not in (room, private[ana.user_id])
        await bot.advance(timedelta(days=4))
        _, checkin = await bk.wait_bot(ana, bot.user_id, "A mitad de la ronda 1", room_id=private[ana.user_id])
        assert "¿Cuánta conexión sientes entre ustedes en este momento?" in checkin.body
        await bk.say(ana, private[ana.user_id], "4")
        await bk.wait_bot(ana, bot.user_id, "Anotado, solo para ti", room_id=private[ana.user_id])
    finally:
        await bot.stop()
        await kit.close_clients(alex, ana, ben)
