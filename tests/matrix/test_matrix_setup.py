"""`setup` on Matrix: the adapter answers which rooms exist and may be posted to (a room name is
stored as its room id), and who a facilitator rule would cover (power levels), so a facilitator
is asked before a rule that would lock them out is saved."""

from __future__ import annotations

from pathlib import Path

from tests.matrix import bot_kit as bk
from tests.matrix_harness import nio_kit as kit
from tests.matrix_harness.fixtures import matrix_localpart, synapse  # noqa: F401


async def test_setup_checks_rooms_and_rules_with_the_homeserver(synapse, matrix_localpart, tmp_path: Path):  # noqa: F811
    alex = await kit.connect_member(synapse, matrix_localpart("alex"), tmp_path)
    bot = await bk.start_bot(synapse, tmp_path, matrix_localpart("bot"))
    try:
        room = await bk.community_room(bot, [alex], encrypted=False, name="circle")

        async def ask(text: str, needle: str) -> str:
            seen = bk.mark(alex)
            await bk.say(alex, room, text)
            _, answer = await bk.wait_bot(alex, bot.user_id, needle, after=seen, timeout=30)
            return answer.body

        await ask("!setup question-channel #nowhere", "can't find a channel")
        assert await bot.scalar("SELECT question_channel FROM communities WHERE external_id = ?", (room,)) == room
        await ask("!setup pairing-channel circle", "Saved")
        await bot.idle()
        # The name is stored as the room id (shown again as #circle).
        assert await bot.scalar("SELECT pairing_channel FROM communities WHERE external_id = ?", (room,)) == room
        asked = await ask("!setup facilitator-rule members:@nobody:localhost", "you would no longer be a facilitator")
        assert "alongside facilitators reset" in asked
        await bot.idle()
        assert await bot.scalar("SELECT facilitator_rule FROM communities WHERE external_id = ?", (room,)) == ""
        await ask("!setup facilitator-rule power:50", "Saved")
    finally:
        await bot.stop()
        await kit.close_clients(alex)
