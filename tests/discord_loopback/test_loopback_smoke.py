"""Unmodified discord.py against the loopback Discord: login, commands, modals,
persistent views, rate limits, threads, DMs and gateway resume."""

from __future__ import annotations

import asyncio
import io
import time
from collections import Counter
from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands

from .conftest import World
from .payloads import PRIVILEGED_INTENTS
from .server import LoopbackDiscord

pytestmark = pytest.mark.timeout(20)


class CheckInView(discord.ui.View):
    def __init__(self, bot: DemoBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(label="I'm okay", custom_id="checkin:ok", style=discord.ButtonStyle.primary)
    async def ok(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.bot.handled[("button", interaction.id)] += 1
        await interaction.response.send_message("Thanks for letting us know.", ephemeral=True)


class FeelingModal(discord.ui.Modal, title="How are you?"):
    feeling = discord.ui.TextInput(label="In a few words", custom_id="feeling", max_length=200)

    def __init__(self, bot: DemoBot) -> None:
        super().__init__(custom_id="demo:feeling")
        self.bot = bot

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.bot.handled[("modal", interaction.id)] += 1
        await interaction.response.send_message(f"Heard: {self.feeling.value}", ephemeral=True)


class DemoBot(discord.Client):
    def __init__(self) -> None:
        intents = discord.Intents.default()  # no members / presences / message_content
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self.handled: Counter = Counter()
        self.said: list[tuple[str, int]] = []
        self.followup_ids: list[int] = []

        @self.tree.command(name="ping", description="Check the bot is here")
        async def ping(interaction: discord.Interaction) -> None:
            self.handled[("ping", interaction.id)] += 1
            await interaction.response.send_message("pong", ephemeral=True)

        demo = app_commands.Group(name="demo", description="Demo commands")

        @demo.command(name="say", description="Say something")
        async def say(interaction: discord.Interaction, text: str, times: int = 1) -> None:
            self.handled[("say", interaction.id)] += 1
            self.said.append((text, times))
            await interaction.response.send_message(" ".join([text] * times))

        @say.autocomplete("text")
        async def say_text(interaction: discord.Interaction, current: str) -> list:
            words = ["hello", "here with you", "take care"]
            return [app_commands.Choice(name=w, value=w) for w in words if w.startswith(current)]

        @demo.command(name="slow", description="Defer, then follow up")
        async def slow(interaction: discord.Interaction) -> None:
            self.handled[("slow", interaction.id)] += 1
            await interaction.response.defer(ephemeral=True, thinking=True)
            self.followup_ids.append((await interaction.followup.send("done", wait=True)).id)

        @demo.command(name="modal", description="Open a modal")
        async def modal(interaction: discord.Interaction) -> None:
            self.handled[("modal-open", interaction.id)] += 1
            await interaction.response.send_modal(FeelingModal(self))

        self.tree.add_command(demo)

    async def setup_hook(self) -> None:
        self.add_view(CheckInView(self))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every non-initial IDENTIFY; not needed on loopback.
        return None


async def eventually(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def start_bot(client: discord.Client, token: str) -> asyncio.Task:
    await client.login(token)
    task = asyncio.create_task(client.connect(reconnect=True))
    await asyncio.wait_for(client.wait_until_ready(), 5)
    return task


@pytest.fixture
async def bot(loopback: LoopbackDiscord, world: World) -> AsyncIterator[DemoBot]:
    client = DemoBot()
    task = await start_bot(client, loopback.token)
    guild = discord.Object(world.guild.id)
    await client.tree.sync()  # global commands (also usable in the bot's DMs)
    client.tree.copy_global_to(guild=guild)  # guild commands apply at once on Discord
    await client.tree.sync(guild=guild)
    try:
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)


async def test_login_identify_and_ready(
    loopback: LoopbackDiscord, world: World, bot: DemoBot
) -> None:
    assert bot.user is not None and bot.user.id == loopback.bot_user.id
    assert bot.application_id == loopback.application_id
    assert [g.id for g in bot.guilds] == [world.guild.id]
    assert bot.get_channel(world.channel.id) is not None
    intents = loopback.last_intents
    assert intents is not None and intents & PRIVILEGED_INTENTS == 0
    assert (
        loopback.requests_to("GET", "/users/@me")[0].headers["Authorization"]
        == f"Bot {loopback.token}"
    )
    assert loopback.requests_to("GET", "/oauth2/applications/@me")
    # discord.py always asks for transport compression (zlib-stream without zstd installed)
    wanted = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
    assert loopback.gateway.connections[0].query["compress"] == wanted
    assert loopback.gateway.connections[0].compression == wanted
    assert loopback.unhandled == []


async def test_bad_token_is_login_failure(loopback: LoopbackDiscord) -> None:
    client = discord.Client(intents=discord.Intents.default())
    async with client:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    assert loopback.requests[-1].status == 401


async def test_sync_ping_and_typed_options(
    loopback: LoopbackDiscord, world: World, bot: DemoBot
) -> None:
    put = loopback.requests_to(
        "PUT", f"/applications/{loopback.application_id}/guilds/{world.guild.id}/commands"
    )
    assert put and put[-1].ok
    names = {c["name"]: c for c in put[-1].json}
    assert set(names) == {"ping", "demo"}
    say = next(o for o in names["demo"]["options"] if o["name"] == "say")
    assert [(o["name"], o["type"], o["required"]) for o in say["options"]] == [
        ("text", 3, True),
        ("times", 4, False),
    ]

    ping = await loopback.send_slash_command(
        world.guild.id, world.channel.id, world.alice.id, "ping"
    )
    callback = await ping.response()
    assert callback.json == {"type": 4, "data": {"tts": False, "content": "pong", "flags": 64}}
    assert ping.ephemeral and ping.original_message["content"] == "pong"

    handle = await loopback.send_slash_command(
        world.guild.id, world.channel.id, world.alice.id, "demo say", {"text": "hi", "times": 2}
    )
    sub = handle.payload["data"]["options"][0]
    assert sub["type"] == 1 and sub["options"] == [
        {"type": 3, "name": "text", "value": "hi"},
        {"type": 4, "name": "times", "value": 2},
    ]
    assert (await handle.response()).json["data"]["content"] == "hi hi"
    assert bot.said == [("hi", 2)]
    with pytest.raises(LookupError):
        await loopback.send_slash_command(world.guild.id, world.channel.id, world.alice.id, "nope")


async def test_autocomplete_defer_followup_and_dm(
    loopback: LoopbackDiscord, world: World, bot: DemoBot
) -> None:
    ac = await loopback.send_autocomplete(
        world.guild.id, world.channel.id, world.alice.id, "demo say", {"text": "he"}, focused="text"
    )
    assert (await ac.response()).json["type"] == 8
    assert [c["value"] for c in ac.choices] == ["hello", "here with you"]

    slow = await loopback.send_slash_command(
        world.guild.id, world.channel.id, world.alice.id, "demo slow"
    )
    deferred = await slow.response()
    assert deferred.json == {"type": 5, "data": {"flags": 64}}
    await slow.wait_followups(1)
    await eventually(lambda: bot.followup_ids)
    # The first follow-up after a "thinking" defer replaces the loading message.
    assert bot.followup_ids == [slow.original_message_id]
    assert slow.original_message["content"] == "done"
    assert slow.original_message["flags"] == 64

    dm = await loopback.send_slash_command(None, None, world.bob.id, "ping")
    assert (await dm.response()).json["data"]["content"] == "pong"
    assert dm.payload["context"] == 1 and "member" not in dm.payload


async def test_file_upload_is_parsed(loopback: LoopbackDiscord, world: World, bot: DemoBot) -> None:
    channel = bot.get_channel(world.channel.id)
    sent = await channel.send("notes", file=discord.File(io.BytesIO(b"be gentle"), "notes.txt"))
    assert sent.attachments[0].filename == "notes.txt" and sent.attachments[0].size == 9
    upload = loopback.requests_to("POST", f"/channels/{world.channel.id}/messages")[-1]
    assert upload.json["content"] == "notes"
    assert upload.files[0].filename == "notes.txt" and upload.files[0].data == b"be gentle"


async def test_modal_round_trip(loopback: LoopbackDiscord, world: World, bot: DemoBot) -> None:
    opened = await loopback.send_slash_command(
        world.guild.id, world.channel.id, world.alice.id, "demo", subcommand="modal"
    )
    callback = await opened.response()
    assert callback.json["type"] == 9 and opened.modal["custom_id"] == "demo:feeling"

    submit = await loopback.send_modal_submit(
        world.guild.id,
        world.channel.id,
        world.alice.id,
        "demo:feeling",
        values={"feeling": "tired but ok"},
    )
    answer = await submit.response()
    assert answer.json["type"] == 4
    assert answer.json["data"]["content"] == "Heard: tired but ok"
    assert submit.ephemeral


async def test_persistent_view_button(
    loopback: LoopbackDiscord, world: World, bot: DemoBot
) -> None:
    press = await loopback.send_component(
        world.guild.id, world.channel.id, world.bob.id, "checkin:ok"
    )
    answer = await press.response()
    assert answer.json["data"]["content"] == "Thanks for letting us know."
    assert bot.handled[("button", press.id)] == 1


async def test_send_survives_a_429(loopback: LoopbackDiscord, world: World, bot: DemoBot) -> None:
    path = f"/channels/{world.channel.id}/messages"
    loopback.rate_limit_next("POST", path, retry_after=0.25)
    channel = bot.get_channel(world.channel.id)
    started = time.monotonic()
    sent = await channel.send("gentle reminder")
    assert time.monotonic() - started >= 0.25
    attempts = loopback.requests_to("POST", path)
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[0].response == {
        "message": "You are being rate limited.",
        "retry_after": 0.25,
        "global": False,
    }
    assert loopback.messages[sent.id]["content"] == "gentle reminder"


async def test_threads_and_thread_members(
    loopback: LoopbackDiscord, world: World, bot: DemoBot
) -> None:
    channel = bot.get_channel(world.channel.id)
    starter = await channel.send("Weekly circle")
    public = await starter.create_thread(name="circle-notes")
    assert public.id == starter.id and public.type is discord.ChannelType.public_thread

    private = await channel.create_thread(
        name="1:1 support", type=discord.ChannelType.private_thread, invitable=False
    )
    assert private.type is discord.ChannelType.private_thread
    await private.add_user(discord.Object(world.alice.id))
    assert world.alice.id in loopback.thread_members(private.id)

    loopback.fail_thread_member_add(world.bob.id, 50007)
    with pytest.raises(discord.Forbidden) as err:
        await private.add_user(discord.Object(world.bob.id))
    assert err.value.code == 50007


async def test_closed_dms_give_50007(loopback: LoopbackDiscord, world: World, bot: DemoBot) -> None:
    user = await bot.fetch_user(world.alice.id)
    await user.send("hello")  # open DMs work
    loopback.close_dms(world.alice.id)
    with pytest.raises(discord.Forbidden) as err:
        await user.send("hello again")
    assert err.value.code == 50007
    assert loopback.requests_to("POST", "/users/@me/channels")[0].json == {
        "recipient_id": world.alice.id
    }


@pytest.mark.parametrize("code", [4000, None], ids=["close-4000", "tcp-drop"])
async def test_resume_replays_without_duplicates(
    loopback: LoopbackDiscord, world: World, bot: DemoBot, code: int | None
) -> None:
    first = await loopback.send_slash_command(
        world.guild.id, world.channel.id, world.alice.id, "ping"
    )
    await first.response()
    resumed = asyncio.create_task(bot.wait_for("resumed", timeout=5))

    assert await loopback.disconnect(code) == 1
    # Dispatched while the socket is down: must arrive exactly once, after RESUME.
    missed = await loopback.send_slash_command(
        world.guild.id, world.channel.id, world.alice.id, "ping"
    )
    await resumed
    await missed.response()
    after = await loopback.send_slash_command(
        world.guild.id, world.channel.id, world.bob.id, "ping"
    )
    await after.response()

    assert len(loopback.identify_payloads) == 1
    record = loopback.gateway.resumes[-1]
    assert record.ok and record.replayed  # the missed interaction was replayed
    assert loopback.gateway.connections[-1].path == "/gateway/resume"
    pings = {k[1]: n for k, n in bot.handled.items() if k[0] == "ping"}
    assert pings == {first.id: 1, missed.id: 1, after.id: 1}


async def test_non_resumable_disconnect_reidentifies(
    loopback: LoopbackDiscord, world: World, bot: DemoBot
) -> None:
    await loopback.disconnect(4000, resumable=False)
    await eventually(
        lambda: len(loopback.identify_payloads) == 2 and loopback.gateway.live_sessions()
    )
    assert [r.ok for r in loopback.gateway.resumes] == [False]  # RESUME got INVALID_SESSION
    handle = await loopback.send_slash_command(
        world.guild.id, world.channel.id, world.alice.id, "ping"
    )
    await handle.response()
    assert bot.handled[("ping", handle.id)] == 1


async def test_unknown_endpoints_errors_and_live_world_changes(
    loopback: LoopbackDiscord, world: World, bot: DemoBot
) -> None:
    with pytest.raises(discord.NotFound):
        await bot.http.request(
            discord.http.Route("GET", "/guilds/{guild_id}/bans", guild_id=world.guild.id)
        )
    assert [(r.method, r.path) for r in loopback.unhandled] == [
        ("GET", f"/guilds/{world.guild.id}/bans")
    ]
    loopback.unhandled.clear()

    loopback.fail_next("POST", f"/channels/{world.channel.id}/messages", 403, 50013)
    with pytest.raises(discord.Forbidden) as err:
        await bot.get_channel(world.channel.id).send("no permission")
    assert err.value.code == 50013

    added = loopback.add_channel(world.guild.id, "quiet-room")
    await loopback.flush()
    await eventually(lambda: bot.get_channel(added.id) is not None)
    msg = await loopback.send_user_message(world.channel.id, world.alice.id, "private words")
    assert msg["content"] == "private words"  # stored, but the bot lacks MESSAGE_CONTENT:
    seen = await bot.get_channel(world.channel.id).fetch_message(int(msg["id"]))
    assert seen.content == "" and seen.author.id == world.alice.id
