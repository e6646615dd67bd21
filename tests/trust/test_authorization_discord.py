"""The authorization matrix through the Discord adapter, on the loopback Discord driving unmodified
discord.py: a representative subset of test_authorization.py's cases, entered the way Discord
delivers them (slash commands with typed options, buttons pressed in a server or a DM, forms,
autocomplete).

Two servers share one bot: "Peer Space" (fay1 facilitates; alice2 and bob3 negotiate agreement A;
carol4 has a pending suggestion) and "Elsewhere" (gus7 facilitates; hal8 has a pending
suggestion; bob3 is a member of both). Every refusal is checked to change nothing in storage,
send nothing to anyone, and name nobody and nobody's words.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# discord.py is a project dependency: this file must run in CI, never skip.
from adapters.discord.sync import sync_tree
from tests.discord.conftest import (
    MANAGE_GUILD,
    Bot,
    buttons,
    last_with_buttons,
    settings_for,
    texts,
)
from tests.discord_loopback import payloads as P
from tests.discord_loopback.conftest import point_discord_py_at
from tests.discord_loopback.interactions import InteractionHandle
from tests.discord_loopback.server import LoopbackDiscord
from tests.trust.authz_cases import fingerprint

pytestmark = pytest.mark.timeout(120)

WORDS = {
    "a_alice": "Tell me plainly qv42 when you need a pause.",
    "a_bob": "I like to be asked before advice jx19.",
    "suggest_peer": "What did zq11 teach you this week?",
    "suggest_else": "Where did yb23 come from for you?",
}
TOKENS = ("qv42", "jx19", "zq11", "yb23")
NAMES = ("fay1", "alice2", "bob3", "carol4", "gus7", "hal8")
_ID = re.compile(r"#([0-9A-Z]{5})")


@dataclass
class Two:
    bot: Bot
    elsewhere: P.SimGuild
    hall: P.SimChannel
    agreement: str  # A's short id
    suggestions: dict[str, int]  # server name -> its pending suggestion's id
    bob_confirmation: int  # bob3's pending `mydata forget` question, in Peer Space
    accept_button: str  # the "Accept this version" custom id alice2 was sent

    @property
    def server(self) -> LoopbackDiscord:
        return self.bot.server

    async def slash(
        self, user: str, name: str, options: dict[str, Any] | None = None, *, elsewhere: bool = False
    ) -> InteractionHandle:
        guild, channel = (self.elsewhere, self.hall) if elsewhere else (self.bot.guild, self.bot.circle)
        handle = await self.server.send_slash_command(guild.id, channel.id, self.bot.uid(user), name, options)
        await handle.response()
        await self.bot.settle()
        return handle

    async def press(self, user: str, custom_id: str, *, elsewhere: bool = False, dm: bool = False) -> InteractionHandle:
        guild, channel = (self.elsewhere, self.hall) if elsewhere else (self.bot.guild, self.bot.circle)
        if dm:
            handle = await self.server.send_component(None, None, self.bot.uid(user), custom_id)
        else:
            handle = await self.server.send_component(guild.id, channel.id, self.bot.uid(user), custom_id)
        await handle.response()
        await self.bot.settle()
        return handle

    def outside(self, actor: str = "") -> tuple:
        """Everything the bot has sent anyone but `actor` (whose answer to a button pressed in
        a DM is a DM): DMs and public posts."""
        # (a forged press comes from a stand-in message the loopback makes, with no text)
        dms = tuple(tuple(m["content"] for m in self.bot.dms(name) if m["content"]) for name in NAMES if name != actor)
        posts = tuple(
            tuple(m["content"] for m in self.server.channel_messages(channel.id, ephemeral=False) if m["content"])
            for channel in (self.bot.circle, self.bot.pairs, self.hall)
        )
        return dms, posts


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[Two]:
    server = await LoopbackDiscord().start()
    built: Two | None = None
    try:
        with point_discord_py_at(server.api_base, server.gateway_url):
            built = await _build(server, tmp_path)
            yield built
            await built.bot.stop()
            built = None
    finally:
        if built is not None:
            await built.bot.stop()
        await server.stop()


async def _build(server: LoopbackDiscord, tmp: Path) -> Two:
    peer = server.add_guild("Peer Space")
    circle = server.add_channel(peer.id, "circle")
    pairs = server.add_channel(peer.id, "pairs")
    hosts = server.add_role(peer.id, "facilitators", MANAGE_GUILD)
    users = {
        "fay1": server.add_member(peer.id, None, "fay1", roles=[hosts.id]).user,
        "alice2": server.add_member(peer.id, None, "alice2").user,
        "bob3": server.add_member(peer.id, None, "bob3").user,
        "carol4": server.add_member(peer.id, None, "carol4").user,
    }
    elsewhere = server.add_guild("Elsewhere")
    hall = server.add_channel(elsewhere.id, "hall")
    their_hosts = server.add_role(elsewhere.id, "facilitators", MANAGE_GUILD)
    users["gus7"] = server.add_member(elsewhere.id, None, "gus7", roles=[their_hosts.id]).user
    users["hal8"] = server.add_member(elsewhere.id, None, "hal8").user
    server.add_member(elsewhere.id, users["bob3"].id)
    settings = settings_for(server, peer.id, tmp, guild_ids=[peer.id, elsewhere.id])
    bot = Bot(server, settings, tmp, peer, circle, pairs, users, hosts)
    await bot.start(sync=False)
    await sync_tree(bot.adapter.client, bot.adapter.state, bot.adapter.tree, server.application_id, [peer.id, elsewhere.id])
    await bot.settle()
    two = Two(bot, elsewhere, hall, "", {}, 0, "")

    # Everyone meets the bot where they are (so nothing about them changes later).
    for name in ("fay1", "alice2", "bob3", "carol4"):
        await two.slash(name, "help")
    for name in ("gus7", "hal8", "bob3"):
        await two.slash(name, "help", elsewhere=True)
    await two.slash("carol4", "questions suggest", {"text": WORDS["suggest_peer"]})
    await two.slash("hal8", "questions suggest", {"text": WORDS["suggest_else"]}, elsewhere=True)
    started = texts(await two.slash("alice2", "agreement start", {"member": bot.uid("bob3")}))
    two.agreement = _ID.search(started).group(1)
    await two.slash("bob3", "yes")
    await two.slash("alice2", "agreement edit", {"section": "1", "text": WORDS["a_alice"]})
    await two.slash("bob3", "agreement edit", {"section": "1", "text": WORDS["a_bob"]})
    await two.slash("bob3", "agreement propose")
    two.accept_button = buttons(last_with_buttons(bot.dms("alice2")))["Accept this version"]
    await two.slash("bob3", "mydata forget")
    db = bot.app.db
    rows = await db.fetchall(
        "SELECT c.external_id, s.id FROM question_suggestions s JOIN communities c ON c.id = s.community_id"
    )
    two.suggestions = {("peer" if external == str(peer.id) else "elsewhere"): sid for external, sid in rows}
    (two.bob_confirmation,) = (
        await db.fetchone(
            "SELECT f.id FROM confirmations f JOIN members m ON m.id = f.member_id"
            " JOIN communities c ON c.id = m.community_id WHERE m.platform_user_id = ? AND c.external_id = ?"
            " AND f.action = 'mydata.forget'",
            (str(users["bob3"].id), str(peer.id)),
        )
    )
    status = (await db.fetchone("SELECT status FROM agreements WHERE short_id = ?", (two.agreement,)))[0]
    assert status == "proposed" and len(two.suggestions) == 2
    return two


def text(two: Two, key: str, **params: Any) -> str:
    return two.bot.app.catalog.text("en", key, prefix="/", **params)


async def refused_quietly(two: Two, actor: str, work: Awaitable[InteractionHandle], expected: str, typed: str = "") -> str:
    """Run one interaction; it must be answered privately with exactly `expected`, change
    nothing in storage, send nothing to anyone, and name nobody and nobody's words."""
    db = two.bot.app.db
    before, sent, mine = await fingerprint(db), two.outside(actor), len(two.bot.dms(actor))
    handle = await work
    answer = texts(handle)
    assert answer == expected, (actor, answer)
    assert handle.ephemeral or handle.guild_id is None, "a refusal in a server is ephemeral"
    changed = [table for table, rows in (await fingerprint(db)).items() if rows != before.get(table)]
    assert changed == [], (actor, answer, changed)
    assert two.outside(actor) == sent, (actor, answer)
    assert [m["content"] for m in two.bot.dms(actor)[mine:] if m["content"]] in ([], [answer]), (actor, answer)
    shown = [word for word in (*TOKENS, *NAMES) if word in answer and word != actor and word not in typed]
    assert shown == [], (actor, answer)
    return answer


async def test_facilitator_commands_are_refused_for_members_here_and_elsewhere(two: Two) -> None:
    for command, options in (
        ("questions review", None),
        ("questions approve", {"id": two.suggestions["peer"]}),
        ("pair stats", None),
        ("setup", {"setting": "facilitator-rule", "value": "manage-server"}),
    ):
        spec = two.bot.app.registry.get(command)
        expected = text(two, "perm.facilitator_only", usage=spec.usage("/"))
        for member in ("alice2", "carol4"):
            await refused_quietly(two, member, two.slash(member, command, options), expected)
        # bob3 is a plain member in both servers; gus7 facilitates Elsewhere, not Peer Space.
        await refused_quietly(two, "bob3", two.slash("bob3", command, options, elsewhere=True), expected)
    # A facilitator's review shows the suggestion, never who made it.
    review = texts(await two.slash("fay1", "questions review"))
    assert "zq11" in review and "carol4" not in review and "yb23" not in review


async def test_agreement_commands_by_non_parties_answer_as_for_a_missing_id(two: Two) -> None:
    no_such = text(two, "agreement.no_such")
    for command in ("agreement view", "agreement accept", "agreement withdraw", "agreement history", "agreement propose"):
        for outsider in ("carol4", "fay1"):  # a facilitator is no party either
            await refused_quietly(two, outsider, two.slash(outsider, command, {"id": f"#{two.agreement}"}), no_such)
            await refused_quietly(two, outsider, two.slash(outsider, command, {"id": "#ZZZZZ"}), no_such)
    edit = {"id": f"#{two.agreement}", "section": "2", "text": "I notice when I go quiet."}
    await refused_quietly(two, "carol4", two.slash("carol4", "agreement edit", edit), no_such)
    # A party sees it (and its words); the suggestions carol4 gets while typing leave it out.
    view = texts(await two.slash("alice2", "agreement view", {"id": f"#{two.agreement}"}))
    assert "qv42" in view and "jx19" in view


async def test_forged_confirmation_and_button_ids_change_nothing(two: Two) -> None:
    nothing = text(two, "confirm.nothing_pending")
    no_such = text(two, "agreement.no_such")
    neutral = text(two, "discord.neutral")
    bobs = two.bob_confirmation
    # bob3's pending question, answered by carol4: as a command, and as a forged button
    await refused_quietly(two, "carol4", two.slash("carol4", "yes", {"id": bobs}), nothing)
    await refused_quietly(two, "carol4", two.slash("carol4", "yes", {"id": 999_999}), nothing)
    await refused_quietly(two, "carol4", two.press("carol4", f"@{two.bot.guild.id}/~yes:{bobs}", dm=True), nothing)
    await refused_quietly(two, "carol4", two.press("carol4", f"~no:{bobs}"), nothing)
    # alice2's accept button, copied by carol4 and by fay1, in the server and in their DMs
    inner = two.accept_button.split("/", 1)[1]
    for outsider in ("carol4", "fay1"):
        await refused_quietly(two, outsider, two.press(outsider, inner), no_such)
        await refused_quietly(two, outsider, two.press(outsider, two.accept_button, dm=True), no_such)
    # a server's button pressed by someone who is not in it
    await refused_quietly(two, "hal8", two.press("hal8", two.accept_button, dm=True), neutral)
    # bob3's own question still waits, and his real answer is taken
    assert "Nothing was erased" in texts(await two.slash("bob3", "no", {"id": bobs}))


async def test_another_servers_ids_are_answered_as_missing_ones(two: Two) -> None:
    peer_suggestion, else_suggestion = two.suggestions["peer"], two.suggestions["elsewhere"]
    # gus7 facilitates Elsewhere: Peer Space's suggestion is not there for him
    for command in ("questions approve", "questions decline"):
        expected = text(two, "questions.no_such_suggestion", id=peer_suggestion)
        await refused_quietly(two, "gus7", two.slash("gus7", command, {"id": peer_suggestion}, elsewhere=True), expected)
        expected = text(two, "questions.no_such_suggestion", id=else_suggestion)
        await refused_quietly(two, "fay1", two.slash("fay1", command, {"id": else_suggestion}), expected)
    review = texts(await two.slash("gus7", "questions review", elsewhere=True))
    assert "yb23" in review and "zq11" not in review and "hal8" not in review
    # bob3 is a party to A in Peer Space: typed in Elsewhere, it is not his there
    no_such = text(two, "agreement.no_such")
    for command in ("agreement view", "agreement accept", "agreement withdraw"):
        await refused_quietly(
            two, "bob3", two.slash("bob3", command, {"id": f"#{two.agreement}"}, elsewhere=True), no_such
        )
    await refused_quietly(two, "bob3", two.slash("bob3", "agreement view", elsewhere=True), text(two, "agreement.none"))
    await refused_quietly(two, "bob3", two.slash("bob3", "yes", {"id": two.bob_confirmation}, elsewhere=True), text(two, "confirm.nothing_pending"))
    # his export there holds nothing of Peer Space
    before = two.outside()
    exported = await two.slash("bob3", "mydata export", elsewhere=True)
    files = [f for r in exported.followups() for f in r.files] + list(exported.callback.files)
    assert files, "the export arrives as a private file"
    shown = texts(exported) + "".join(f.data.decode() for f in files)
    assert '"platform_user_id"' in shown and str(two.elsewhere.id) in shown
    assert not [word for word in ("qv42", "jx19", "zq11", "alice2") if word in shown], shown
    assert two.outside()[1] == before[1]


async def test_agreement_id_suggestions_offer_only_the_members_own(two: Two) -> None:
    async def offered(user: str, *, elsewhere: bool = False) -> list[str]:
        guild, channel = (two.elsewhere, two.hall) if elsewhere else (two.bot.guild, two.bot.circle)
        handle = await two.server.send_autocomplete(
            guild.id, channel.id, two.bot.uid(user), "agreement view", {"id": ""}, focused="id"
        )
        callback = await handle.response()
        return [choice["value"] for choice in callback.json["data"]["choices"]]

    assert await offered("alice2") == [two.agreement]
    assert await offered("carol4") == []
    assert await offered("fay1") == []
    assert await offered("bob3", elsewhere=True) == []
