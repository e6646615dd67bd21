"""The Discord adapter: interactions in, intents out. Features never see discord types.

* Slash commands → `app.handle_structured` with the options typed as the registry says.
* Buttons → `app.press_button` (the core's ids) or the yes/no step (`~yes:<id>`); the core
  re-checks everything in storage, so a forged, copied or replayed id changes nothing.
* Modal submits → `app.submit_form`.
* Anything still working after `defer_after` seconds is deferred (ephemerally) and finished
  with follow-ups, inside Discord's 3-second window.
* Private answers are ephemeral. Messages for other people go through `Outgoing`.

Each interaction is handled at most once, even if the gateway replays it after a resume.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable
from typing import Any

import discord

from adapters.discord.autocomplete import suggestions
from adapters.discord.client import BUTTON_TEMPLATE, AlongsideClient, make_client
from adapters.discord.outgoing import Outgoing, message_kwargs
from adapters.discord.payload_limits import MAX_INPUT_LENGTH
from adapters.discord.personal_data import DiscordData
from adapters.discord.render import (
    COMMAND_FORM_PREFIX,
    FORM_PREFIX,
    NO_PREFIX,
    YES_PREFIX,
    Button,
    Piece,
    command_form_id,
    parse_command_form_id,
    plan_reply,
    unwrap,
    wrap,
)
from adapters.discord.settings import DiscordSettings
from adapters.discord.traits import TRAITS
from adapters.discord.tree import CommandTree, build_tree, our_locale
from adapters.discord.views import FormModal, TextModal, modal_values
from bot.app import App, ArgType
from bot.context import Actor, ChannelVerdict, CommunityRef, Invocation
from bot.replies import Delivery, FormRequest, Intent

log = logging.getLogger(__name__)

PLATFORM = "discord"
FORMS_KEPT = 1000
FORM_MINUTES = 15


def resolve_mention(token: str) -> str | None:
    """A user id as Discord sends it ("123"), or a typed mention ("<@123>", "<@!123>")."""
    token = token.strip()
    if token.startswith("<@") and token.endswith(">"):
        token = token[2:-1].removeprefix("!")
    return token if token.isascii() and token.isdigit() and 5 <= len(token) <= 25 else None


class _Seen:
    """Interaction ids already handled (bounded): a replayed event is ignored."""

    def __init__(self, size: int = 10_000) -> None:
        self._order: deque[int] = deque()
        self._ids: set[int] = set()
        self._size = size

    def first(self, ident: int) -> bool:
        if ident in self._ids:
            return False
        self._ids.add(ident)
        self._order.append(ident)
        if len(self._order) > self._size:
            self._ids.discard(self._order.popleft())
        return True


class DiscordAdapter:
    def __init__(self, app: App, settings: DiscordSettings, client: AlongsideClient | None = None) -> None:
        self.app = app
        self.settings = settings
        self.state = app.adapter_state(PLATFORM)
        self.client = client or make_client(settings)
        self.client.alongside = self
        self.tree: CommandTree = build_tree(
            app.registry.specs(), app.catalog, facilitator_hint=settings.facilitator_rule == "manage-server"
        )
        self.outgoing = Outgoing(
            self.client, self.state, app.cipher, self.t, self._community, self._form_opener, app.clock
        )
        # Take part in `mydata export/forget` and retention, when the core offers it.
        source = app.personal_data_source(PLATFORM)
        if source is not None:
            source.outgoing = self.outgoing  # a new adapter on the same core (a reconnect)
        else:
            app.add_personal_data_source(PLATFORM, DiscordData(self.state, self.outgoing))
        self._seen = _Seen()
        self._forms: OrderedDict[str, tuple[float, str, str, FormRequest]] = OrderedDict()
        self._delivery: asyncio.Task[None] | None = None
        self._again = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._yes, self._no = self.t("discord.yes"), self.t("discord.no")
        self.handled = 0  # interactions handled (for tests and the benchmark)
        self._closing = False
        app.register_platform(PLATFORM, TRAITS)
        app.attach_sink(self)
        app.register_checks(self)

    # -- small helpers ---------------------------------------------------------------------------

    def t(self, key: str, /, **params: Any) -> str:
        return self.app.catalog.text(self.app.settings.community.locale, key, prefix="/", **params)

    async def _community(self, guild_id: str) -> Any:
        return await self.app.community(PLATFORM, guild_id)

    def _form_opener(self, guild_id: int | str, form: FormRequest) -> Piece:
        """A button that opens `form` (when it could not be opened at once). The form, with any
        words already in it, stays in memory only, for FORM_MINUTES, for its member only."""
        now = time.monotonic()
        while self._forms and (len(self._forms) >= FORMS_KEPT or next(iter(self._forms.values()))[0] < now):
            self._forms.popitem(last=False)
        token = secrets.token_urlsafe(9)
        self._forms[token] = (now + FORM_MINUTES * 60, str(guild_id), form.user_id, form)
        custom_id = wrap(guild_id, f"{FORM_PREFIX}{token}")
        return Piece(self.t("discord.form_ready"), True, (Button(custom_id, self.t("discord.form_button"), True),))

    # -- the outbox sink and delivery scheduling -------------------------------------------------

    async def deliver(self, delivery: Delivery) -> None:
        await self.outgoing.deliver(delivery)

    def kick_delivery(self) -> None:
        """Deliver what is pending soon, without holding up the interaction at hand."""
        if self._delivery is not None and not self._delivery.done():
            self._again = True
            return
        self._delivery = asyncio.ensure_future(self._deliver_now())

    async def _deliver_now(self) -> None:
        while True:
            self._again = False
            try:
                await self.app.deliver_pending()
            except Exception:
                log.exception("delivering pending messages failed; will try again")
            if not self._again:
                return

    async def settle(self) -> None:
        """Wait until nothing the adapter started is still running (tests, shutdown)."""
        me = asyncio.current_task()
        while True:
            pending = [t for t in (*self._tasks, self._delivery) if t is not None and not t.done() and t is not me]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    async def retry_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.retry_seconds)
            self.kick_delivery()

    # -- events ----------------------------------------------------------------------------------

    async def on_ready(self) -> None:
        log.info("connected to Discord; in %d server(s)", len(self.client.guilds))
        self.kick_delivery()

    async def on_guild_available(self) -> None:
        self.kick_delivery()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if self._closing:
            return  # unanswered, Discord tells the member it failed; nothing was changed
        kind = interaction.type
        if kind is discord.InteractionType.autocomplete:
            await self._autocomplete(interaction)
        elif kind is discord.InteractionType.application_command:
            await self._guarded(interaction, self._command)
        elif kind is discord.InteractionType.modal_submit:
            await self._guarded(interaction, self._modal)
        elif kind is discord.InteractionType.component and not _view_store_takes(interaction):
            # Not on the message it claims to come from: nothing to act on.
            await self._guarded(interaction, self._neutral)

    async def on_button(self, interaction: discord.Interaction, custom_id: str) -> None:
        if self._closing:
            return
        await self._guarded(interaction, lambda i: self._component(i, custom_id))

    async def _guarded(self, interaction: discord.Interaction, handler: Any) -> None:
        if not self._seen.first(interaction.id):
            return
        self.handled += 1
        current = asyncio.current_task()
        if current is not None:
            self._tasks.add(current)
        try:
            await handler(interaction)
        except Exception:
            # Never log option values or form contents: they may be someone's words.
            log.exception("interaction %s failed", interaction.type.name)
            await self._apologise(interaction)
        finally:
            if current is not None:
                self._tasks.discard(current)

    async def _apologise(self, interaction: discord.Interaction) -> None:
        try:
            text = self.t("error.internal")
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except Exception:  # shutting down, or Discord unreachable: nothing more to do
            log.info("could not tell the member something went wrong")

    async def shutdown(self, grace: float = 5.0) -> None:
        """Stop taking interactions, let those under way finish (briefly), then disconnect."""
        self._closing = True
        try:
            await asyncio.wait_for(self.settle(), grace)
        except TimeoutError:
            log.warning("stopping with work still under way")
        await self.client.close()

    async def _neutral(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(self.t("discord.neutral"), ephemeral=True)

    # -- who is asking ---------------------------------------------------------------------------

    async def _is_facilitator(self, guild_id: int, member: discord.Member, permissions: discord.Permissions) -> bool:
        community = await self._community(str(guild_id))
        return self._under_rule(community.facilitator_rule if community is not None else "", member, permissions)

    def _under_rule(self, rule: str, member: discord.Member, permissions: discord.Permissions) -> bool:
        rule = rule or self.settings.facilitator_rule
        if rule.startswith("role:"):
            wanted = int(rule.removeprefix("role:") or 0)
            return permissions.administrator or any(role.id == wanted for role in member.roles)
        if rule.startswith("members:"):
            return str(member.id) in rule.removeprefix("members:").split(",")
        # manage-server (and Matrix's power:N, which means nothing here): the platform default
        return permissions.manage_guild or permissions.administrator

    # -- what only the platform knows (asked by `setup`) ---------------------------------------

    async def check_channel(self, community: str, value: str) -> ChannelVerdict:
        """A text channel (or thread) of this server, by name or id, that the bot may send to."""
        guild = self.outgoing.guild(int(community)) if community.isdigit() else None
        found = self.outgoing.resolve_channel(guild, value) if guild is not None else None
        if found is None:
            return ChannelVerdict(None, "missing")
        me = guild.me if guild is not None else None
        if me is not None:
            permissions = found.permissions_for(me)
            allowed = permissions.send_messages_in_threads if isinstance(found, discord.Thread) else permissions.send_messages
            if not allowed:
                return ChannelVerdict(None, "no_post")
        return ChannelVerdict(value)

    async def facilitator_under(self, community: str, user_id: str, rule: str) -> bool | None:
        guild = self.outgoing.guild(int(community)) if community.isdigit() else None
        member = guild.get_member(int(user_id)) if guild is not None and user_id.isdigit() else None
        if member is None:
            return None  # not in the cache: let the members: reading in the core decide
        return self._under_rule(rule, member, member.guild_permissions)

    async def _invocation(
        self, interaction: discord.Interaction, guild_id: int | None
    ) -> Invocation | None:
        """Who is asking, in which community. Pressed outside its server (a direct message), the
        presser must still be a member of the server the button belongs to."""
        if guild_id is None:
            return None
        guild_obj = self.client.get_guild(guild_id)
        if guild_obj is None:
            # A server the bot is not in: no community is made for it, nobody facilitates there.
            return None
        user = interaction.user
        if interaction.guild_id == guild_id and isinstance(user, discord.Member):
            member, permissions = user, interaction.permissions
            channel: str | None = str(interaction.channel_id)
            private = False
        else:
            try:
                member = await guild_obj.fetch_member(user.id)
            except (discord.NotFound, discord.Forbidden):
                return None
            permissions = member.guild_permissions
            channel, private = None, True
        facilitator = await self._is_facilitator(guild_id, member, permissions)
        return Invocation(
            community=CommunityRef(PLATFORM, str(guild_id), guild_obj.name),
            actor=Actor(str(user.id), member.display_name, facilitator),
            channel=channel,
            private=private,
            prefix="/",
            # The member's Discord client language ("es-ES"); the core decides what it means.
            client_locale=str(getattr(interaction.locale, "value", interaction.locale) or ""),
        )

    async def _meet_mentioned(self, interaction: discord.Interaction, inv: Invocation, user_ids: list[str]) -> None:
        """Members named in a command's options become known to the core (only those who are in
        this server and not bots), so they can be invited to an agreement or left out of pairs."""
        resolved = (interaction.data or {}).get("resolved") or {}
        members, users = resolved.get("members") or {}, resolved.get("users") or {}
        wanted = [u for u in user_ids if u in members and not (users.get(u) or {}).get("bot")]
        if not wanted:
            return
        community = await self.app.community_for(inv)
        for user_id in wanted:
            user = users.get(user_id) or {}
            name = (members[user_id] or {}).get("nick") or user.get("global_name") or user.get("username") or ""
            other = Invocation(inv.community, Actor(user_id, name, False), inv.channel, inv.private, inv.prefix)
            await self.app.member_for(community, other)

    # -- slash commands --------------------------------------------------------------------------

    async def _command(self, interaction: discord.Interaction) -> None:
        inv = await self._invocation(interaction, interaction.guild_id)
        if inv is None:
            await interaction.response.send_message(self.t("discord.server_only"), ephemeral=True)
            return
        route, values, _ = self.tree.route(interaction.data or {})
        if route is None:
            await interaction.response.send_message(self.t("discord.unknown_command"), ephemeral=True)
            return
        mentioned = [
            str(values[name])
            for name, arg in route.arguments.items()
            if arg.type is ArgType.MEMBER and values.get(name) is not None
        ]
        if mentioned:
            await self._meet_mentioned(interaction, inv, mentioned)
        options = self.tree.core_options(route, values)
        form_arg = route.form_arg
        if form_arg is not None and not str(options.get(form_arg.name) or "").strip():
            custom_id = command_form_id(route.spec.name, options)
            if custom_id is not None:
                # The long text was left out: a form with room to write it finishes the command.
                label_key = f"discord.labels.{route.spec.key}.{form_arg.name}"
                label = self.t(label_key) if self.app.catalog.has(label_key) else form_arg.name
                maximum = form_arg.max if form_arg.max is not None else MAX_INPUT_LENGTH
                modal = TextModal(custom_id, f"/{route.spec.name}", form_arg.name, label, form_arg.min, maximum)
                await interaction.response.send_modal(modal)
                return
        work = self.app.handle_structured(inv, route.spec.name, options, resolve_mention)
        await self._reply(interaction, inv, work, modal_ok=True)

    async def _autocomplete(self, interaction: discord.Interaction) -> None:
        route, values, focused = self.tree.route(interaction.data or {})
        choices: list[tuple[str, str]] = []
        if route is not None and focused is not None and interaction.guild_id is not None:
            try:
                # shown in the words of the member's Discord client, when Alongside has them
                shown_in = our_locale(str(interaction.locale), self.app.catalog.locales) or "en"
                choices = await suggestions(
                    self.app, route, values, focused, str(interaction.guild_id), str(interaction.user.id), shown_in
                )
            except Exception:
                log.exception("suggestions failed")
        # Discord refuses the whole list for one choice without a name (names are 1-100 characters).
        shown = [(name.strip()[:100], value[:100]) for name, value in choices if name.strip()][:25]
        try:
            await interaction.response.autocomplete(
                [discord.app_commands.Choice(name=name, value=value) for name, value in shown]
            )
        except discord.HTTPException:
            pass  # the member typed on; Discord dropped this round of suggestions

    # -- buttons and forms -----------------------------------------------------------------------

    async def _component(self, interaction: discord.Interaction, custom_id: str) -> None:
        guild_id, inner = unwrap(custom_id, interaction.guild_id)
        inv = await self._invocation(interaction, guild_id)
        if inv is None:
            await self._neutral(interaction)
            return
        if inner.startswith((YES_PREFIX, NO_PREFIX)):
            answer, _, number = inner[1:].partition(":")
            if not (number.isascii() and number.isdigit()):
                await self._neutral(interaction)
                return
            work = self.app.handle_structured(inv, answer, {"id": int(number)}, resolve_mention)
        elif inner.startswith(FORM_PREFIX):
            await self._open_kept_form(interaction, inv, inner.removeprefix(FORM_PREFIX))
            return
        elif inner.startswith("~"):
            await self._neutral(interaction)
            return
        else:
            work = self.app.press_button(inv, inner)
        await self._reply(interaction, inv, work, modal_ok=True)

    async def _open_kept_form(self, interaction: discord.Interaction, inv: Invocation, token: str) -> None:
        kept = self._forms.get(token)
        if (
            kept is None
            or kept[0] < time.monotonic()
            or kept[1] != inv.community.external_id
            or kept[2] != inv.actor.user_id
        ):
            await interaction.response.send_message(self.t("discord.form_gone"), ephemeral=True)
            return
        form = kept[3]
        await interaction.response.send_modal(FormModal(form, self._form_id(interaction, inv, form)))

    def _form_id(self, interaction: discord.Interaction, inv: Invocation, form: FormRequest) -> str:
        if interaction.guild_id is not None and str(interaction.guild_id) == inv.community.external_id:
            return form.form_id
        return wrap(inv.community.external_id, form.form_id)

    async def _modal(self, interaction: discord.Interaction) -> None:
        data = interaction.data or {}
        guild_id, form_id = unwrap(str(data.get("custom_id", "")), interaction.guild_id)
        inv = await self._invocation(interaction, guild_id)
        values = modal_values(list(data.get("components") or []))
        if inv is not None and form_id.startswith(COMMAND_FORM_PREFIX):
            # A slash command finished in a form: the same validation as any command.
            name, options = parse_command_form_id(form_id)
            options = {**options, **values}
            work = self.app.handle_structured(inv, name, options, resolve_mention)
            await self._reply(interaction, inv, work, modal_ok=False)
            return
        if inv is None or form_id.startswith("~"):
            await self._neutral(interaction)
            return
        await self._reply(interaction, inv, self.app.submit_form(inv, form_id, values), modal_ok=False)

    # -- answering -------------------------------------------------------------------------------

    async def _reply(
        self, interaction: discord.Interaction, inv: Invocation, work: Awaitable[list[Intent]], *, modal_ok: bool
    ) -> None:
        deferring: asyncio.Future[Any] | None = None

        def defer() -> None:
            # Still working: tell Discord so within its 3 seconds, then finish with follow-ups.
            nonlocal deferring
            deferring = asyncio.ensure_future(interaction.response.defer(ephemeral=True, thinking=True))

        # A timer rather than a task: the usual fast answer costs no extra scheduling.
        timer = asyncio.get_running_loop().call_later(self.settings.defer_after, defer)
        try:
            intents = await work
        finally:
            timer.cancel()
        if deferring is not None:
            await deferring
        await self._answer(interaction, inv, intents, deferred=deferring is not None, modal_ok=modal_ok)
        self.kick_delivery()

    async def _answer(
        self,
        interaction: discord.Interaction,
        inv: Invocation,
        intents: list[Intent],
        *,
        deferred: bool,
        modal_ok: bool,
    ) -> None:
        guild_id = int(inv.community.external_id)
        outside = interaction.guild_id != guild_id  # a DM: ids must carry their server
        plan = plan_reply(
            intents, inv.actor.user_id, yes=self._yes, no=self._no, guild_id=guild_id if outside else None
        )
        if plan.form is not None:
            if modal_ok and not deferred and not plan.pieces:
                await interaction.response.send_modal(FormModal(plan.form, self._form_id(interaction, inv, plan.form)))
                await self._deliver_others(guild_id, plan.others)
                return
            plan.pieces.append(self._form_opener(guild_id, plan.form))
        pieces = plan.pieces
        if await self.outgoing.has_missed(guild_id, inv.actor.user_id):
            pieces = pieces + await self.outgoing.take_missed(guild_id, inv.actor.user_id)
        if not pieces:
            pieces = [Piece(self.t("discord.neutral"))]
        first, rest = pieces[0], pieces[1:]
        if not deferred:
            await interaction.response.send_message(ephemeral=first.ephemeral, **message_kwargs(first))
        elif first.ephemeral:
            await interaction.followup.send(ephemeral=True, **message_kwargs(first))
        else:
            # The deferral was ephemeral; a public answer must not take its place.
            await interaction.delete_original_response()
            await interaction.followup.send(ephemeral=False, **message_kwargs(first))
        for piece in rest:
            await interaction.followup.send(ephemeral=piece.ephemeral, **message_kwargs(piece))
        await self._deliver_others(guild_id, plan.others)

    async def _deliver_others(self, guild_id: int, intents: list[Intent]) -> None:
        for intent in intents:
            try:
                await self.outgoing.send(guild_id, intent)
            except discord.HTTPException as error:
                log.warning("could not send %s: %s %s", type(intent).__name__, error.status, error.code)


def _view_store_takes(interaction: discord.Interaction) -> bool:
    """Whether discord.py will hand this press to a CoreButton (the id is on its message, and
    is one the button's template takes: an id with a space in it is ours to answer)."""
    custom_id = (interaction.data or {}).get("custom_id")
    message = interaction.message
    if message is None or not isinstance(custom_id, str) or not BUTTON_TEMPLATE.fullmatch(custom_id):
        return False

    def walk(components: list[Any]) -> bool:
        for component in components:
            if getattr(component, "custom_id", None) == custom_id:
                return True
            if walk(list(getattr(component, "children", []) or [])):
                return True
        return False

    return walk(list(message.components))
