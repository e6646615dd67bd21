"""The core's front door: adapters hand it invocations and a Sink; it answers with intents.

Wiring only: every feature gets its dependencies passed in here (storage, clock, outbox, texts),
so there is no global state and tests can build an App on a fake clock and an in-memory sink.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.commands.parser import (
    MentionResolver,
    ParsedCommand,
    ParseError,
    PlainName,
    parse_structured,
    parse_text,
)
from bot.commands.registry import Registry
from bot.commands.spec import CommandSpec, Where, Who
from bot.commands.words import command_words
from bot.config import Settings
from bot.context import Actor, CommunityRef, Ctx, Invocation
from bot.errors import Refusal
from bot.features.agreements import AgreementsFeature
from bot.features.agreements.personal_data import AgreementsData
from bot.features.confirmations import Confirmations
from bot.features.dialogs import Dialogs
from bot.features.feature import Feature
from bot.features.help import HelpFeature
from bot.features.mydata import CoreData, MyDataFeature, PersonalDataSource
from bot.features.pairing import CheckinFeature, PairingFeature
from bot.features.pairing.checkins import DONE_WORDS, SKIP_WORDS
from bot.features.pairing.personal_data import PairingData
from bot.features.questions import QuestionsFeature
from bot.features.resources import ResourcesFeature
from bot.features.setup import PlatformChecks, SetupFeature
from bot.features.typed_lines import TypedLines
from bot.ids import IdSource
from bot.languages import known_locale, member_locale
from bot.once import Once  # adapters import it from here
from bot.outbox import Outbox, Sink
from bot.ownership import Owns, owns_everything
from bot.replies import Answer, Intent, Reply
from bot.scheduling.timeline import Timeline
from bot.services import Services
from bot.storage.adapter_state import AdapterState, record_seen
from bot.storage.communities import Community, CommunityRepo, Member, MemberRepo
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.texts.catalog import Catalog
from bot.traits import PlatformTraits, register_platform

log = logging.getLogger(__name__)


# Every feature the bot has, in the order their commands are shown (help, Discord's command
# tree): the one list. App holds one feature of each; `all_commands` reads their commands.
FEATURES: tuple[type[Feature], ...] = (
    HelpFeature,
    QuestionsFeature,
    SetupFeature,
    Confirmations,
    AgreementsFeature,
    ResourcesFeature,
    Dialogs,
    PairingFeature,
    CheckinFeature,
    MyDataFeature,
)


def all_commands() -> tuple[CommandSpec, ...]:
    """Every command, in the order help and the platforms show them (for tools with no App)."""
    return tuple(spec for feature in FEATURES for spec in feature.commands)


def in_feature_order(features: list[Feature]) -> list[Feature]:
    """The features App built, ordered as FEATURES lists their classes (one of each)."""
    by_class = {type(feature): feature for feature in features}
    if set(by_class) != set(FEATURES) or len(by_class) != len(features):
        raise RuntimeError("App builds one feature of each class in FEATURES")
    return [by_class[cls] for cls in FEATURES]


class App:
    # long: the composition root: every service and feature, wired in one place
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        cipher: FieldCipher,
        timeline: Timeline,
        seed: int = 0,
        ids: IdSource | None = None,
        instance: str = "main",
        owns: Owns = owns_everything,
    ) -> None:
        confirmations = Confirmations(db, cipher, clock, timedelta(minutes=settings.confirmations.fresh_minutes))
        self.instance = settings.processes.instance or instance  # among processes sharing the store
        self.owns = owns
        self.services = services = Services(
            settings=settings,
            db=db,
            clock=clock,
            catalog=catalog,
            cipher=cipher,
            outbox=self._outbox(settings, db, cipher, clock),
            timeline=timeline,
            communities=CommunityRepo(),
            members=MemberRepo(),
            confirmations=confirmations,
            typed_lines=TypedLines(db, confirmations),
            seed=seed,
            ids=ids,
            owns=owns,
        )
        # The names App's own methods (and the tests) use for them.
        self.settings, self.db, self.clock, self.catalog, self.cipher = settings, db, clock, catalog, cipher
        self.timeline, self.seed, self.outbox, self.owns = timeline, seed, services.outbox, owns
        self.communities, self.members = services.communities, services.members
        self.confirmations, self.typed_lines = confirmations, services.typed_lines
        self.help = HelpFeature()
        self.setup = SetupFeature(services)
        self.questions = QuestionsFeature(services)
        self.dialogs = Dialogs(db, cipher, clock)
        self.resources = ResourcesFeature(settings.resources, settings.duty_of_care, db)
        self.agreements = AgreementsFeature(services, self.dialogs, self.resources)
        self.checkins = CheckinFeature(services.typed_lines)
        self.pairing = PairingFeature(services, self.checkins)
        # `checkin` asks each provider for a member's open check-in: pairing's (registered by
        # pairing itself), then the agreements' review check-ins.
        self.checkins.register_provider(self.agreements.checkin_provider)
        self.mydata = MyDataFeature(services, sources=self._personal_data_sources())
        self.features: list[Feature] = in_feature_order(
            [self.help, self.questions, self.setup, self.confirmations, self.agreements, self.resources]
            + [self.dialogs, self.pairing, self.checkins, self.mydata]
        )
        self.registry = Registry(spec for feature in self.features for spec in feature.commands)
        for feature in self.features:
            feature.bind(self.registry)
        missing = self.registry.unbound()
        if missing:
            raise RuntimeError(f"commands without a handler: {missing}")
        # Every locale's command words (prompts/<locale>/commands.toml), read as English.
        self.words = command_words(catalog)
        self._sink: Sink | None = None
        self._adapter_data: dict[str, Any] = {}  # each adapter's personal-data source, by platform
        self._observers: list[Callable[[str, str], None]] = []

    def _outbox(self, settings: Settings, db: Database, cipher: FieldCipher, clock: Clock) -> Outbox:
        """The outbox, claiming rows under this process's name (bot/outbox.py)."""
        lease = timedelta(seconds=settings.processes.outbox_lease_seconds)
        outbox = Outbox(db, cipher, clock, instance=self.instance, lease=lease)
        outbox.owns = self.owns  # rows for another process's communities are left to it
        return outbox

    def _personal_data_sources(self) -> list[PersonalDataSource]:
        """What `mydata export/forget` and the daily retention go through, besides the adapters'."""
        retention = self.settings.retention
        return [
            CoreData(
                self.services,
                receipts=timedelta(days=retention.delivery_receipts_days),
                seen_events=timedelta(days=retention.seen_events_days),
                decisions=timedelta(days=retention.suggestion_decisions_days),
            ),
            PairingData(self.pairing, timedelta(days=self.settings.pairing.retention_days)),
            AgreementsData(self.agreements, self.db),
        ]

    # -- lifecycle -----------------------------------------------------------------------------

    def attach_sink(self, sink: Sink) -> None:
        self._sink = sink

    @staticmethod
    def register_platform(platform: str, traits: PlatformTraits) -> None:
        """An adapter tells the core what its platform is like (prefix, forms, mentions); the
        core looks the traits up by the platform key and never interprets the key itself."""
        register_platform(platform, traits)

    def register_checks(self, checks: PlatformChecks) -> None:
        """The adapter's answers to what only the platform knows (does a channel exist and may
        the bot post there; who would a facilitator rule cover), for `setup` to ask."""
        self.setup.checks = checks

    async def start(self) -> None:
        """Rebuild scheduled jobs from storage, catch up on missed slots, deliver what is pending."""
        for feature in self.features:
            await feature.start()
        await self.deliver_pending()

    async def resync(self) -> None:
        """Take in schedule changes made through other processes sharing the store; every
        `[processes] resync_seconds` (`upkeep`)."""
        self.communities.forget_cached()
        self.members.forget_cached()
        for feature in self.features:
            await feature.resync()

    async def upkeep(self) -> None:
        """What a process sharing the store does now and then besides its jobs: read schedules
        again, and deliver what other processes left for it (the outbox scans its table)."""
        await self.resync()
        self.outbox.rescan()
        await self.deliver_pending()

    async def deliver_pending(self) -> int:
        if self._sink is None:
            return 0
        return await self.outbox.flush(self._sink)

    # -- communities and members ---------------------------------------------------------------

    def _defaults(self) -> dict[str, str]:
        defaults = self.settings.community
        return {
            "locale": defaults.locale,
            "timezone": defaults.timezone,
            "question_channel": defaults.question_channel,
            "pairing_channel": defaults.pairing_channel,
            "facilitator_rule": defaults.facilitator_rule,
        }

    async def community_for(self, inv: Invocation) -> Community:
        ref = inv.community
        found = await self.communities.find(self.db, ref.platform, ref.external_id)
        if found is not None:
            return found
        async with self.db.transaction() as tx:
            found = await self.communities.find(tx, ref.platform, ref.external_id)
            if found is None:
                found = await self.communities.create(
                    tx, ref.platform, ref.external_id, ref.name, self._defaults(), self.clock.now()
                )
        return found

    async def member_for(self, community: Community, inv: Invocation) -> Member:
        found = await self.members.find(self.db, community.id, inv.actor.user_id)
        # The client's language is remembered (narrowed to one Alongside has, or ''), so what is
        # sent to the member later (a check-in, a notice) is in it too; only when the platform says.
        client = known_locale(self.catalog, inv.client_locale) if inv.client_locale else None
        if (
            found is not None
            and (not inv.actor.display_name or found.display_name == inv.actor.display_name)
            and (client is None or client == found.client_language)
        ):
            return found
        async with self.db.transaction() as tx:
            member = await self.members.ensure(
                tx, community.id, inv.actor.user_id, inv.actor.display_name, self.clock.now()
            )
            if client is not None and client != member.client_language:
                member = await self.members.set_language(tx, member, client=client)
            return member

    async def context(self, inv: Invocation) -> Ctx:
        community = await self.community_for(inv)
        member = await self.member_for(community, inv)
        return Ctx(inv, community, member, self.catalog, self.clock.now())

    # -- commands ------------------------------------------------------------------------------

    async def handle_text(
        self, inv: Invocation, text: str, resolve_mention: MentionResolver, *, once: Once | None = None
    ) -> list[Intent]:
        """A text command without its prefix, e.g. "questions schedule daily 18:00".

        With `once`, see `Once`: the answers are already in the outbox when this returns (the
        list says what was queued; do not render it), and an event handled before is skipped."""
        if once is not None:
            return await self._once(inv, once, lambda: self.handle_text(inv, text, resolve_mention))
        ctx = await self.context(inv)
        try:
            parsed = await self._resolve_names(
                ctx, parse_text(self.registry, text, resolve_mention, self.words, ctx.locale)
            )
        except ParseError as error:
            self._observe("invalid", error.spec.name if error.spec else "")
            return [self._parse_error(ctx, error)]
        return await self._run(ctx, parsed)

    async def handle_structured(
        self, inv: Invocation, name: str, options: Mapping[str, Any], resolve_mention: MentionResolver
    ) -> list[Intent]:
        """A command a platform delivered already split into options (Discord)."""
        ctx = await self.context(inv)
        try:
            parsed = await self._resolve_names(
                ctx, parse_structured(self.registry, name, options, resolve_mention, self.words, ctx.locale)
            )
        except ParseError as error:
            self._observe("invalid", name)
            return [self._parse_error(ctx, error)]
        return await self._run(ctx, parsed)

    async def _resolve_names(self, ctx: Ctx, parsed: ParsedCommand) -> ParsedCommand:
        """A member named plainly ("sam") means the one known member of this space with that
        name; none or several is bad input, and several are listed so the member can pick."""
        if not any(isinstance(value, PlainName) for value in parsed.args.values()):
            return parsed
        args = dict(parsed.args)
        for key, value in parsed.args.items():
            if not isinstance(value, PlainName):
                continue
            found = await self.members.named(self.db, ctx.community.id, value.text)
            if not found:
                raise ParseError("parse.unknown_name", {"given": value.text[:60]})
            if len(found) > 1:
                choices = ", ".join(
                    member.label if member.label == member.platform_user_id else f"{member.label} ({member.platform_user_id})"
                    for member in found[:10]
                )
                raise ParseError("parse.ambiguous_name", {"given": value.text[:60], "choices": choices})
            args[key] = found[0].platform_user_id
        return ParsedCommand(parsed.spec, args)

    async def _run(self, ctx: Ctx, parsed: ParsedCommand) -> list[Intent]:
        spec = parsed.spec
        if spec.who is Who.FACILITATOR and not ctx.is_facilitator:
            self._observe("forbidden", spec.name)
            return [Answer(ctx.t("perm.facilitator_only", usage=ctx.usage(spec)))]
        if spec.where is Where.CHANNEL and ctx.invocation.private and not self._has_fallback_channel(ctx):
            self._observe("refused", spec.name)
            return [Answer(ctx.t("perm.channel_only", usage=ctx.usage(spec)))]
        if not spec.private_answer and not ctx.invocation.private:
            ctx = replace(ctx, public=True)  # answered in the channel: the community's language
        try:
            intents = await self.registry.handler(spec.name)(ctx, parsed.args)
        except Refusal as refusal:
            self._observe("refused", spec.name)
            return [Answer(ctx.t(refusal.key, **refusal.params))]
        except Exception:
            # Never log the arguments: they may be someone's words.
            log.exception("command %s failed", spec.name)
            self._observe("error", spec.name)
            return [Answer(ctx.t("error.internal"))]
        self._observe("done", spec.name)
        if not spec.private_answer:
            return [Answer(i.text, private=False) if isinstance(i, Answer) else i for i in intents]
        return intents

    # -- plain lines, forms and buttons --------------------------------------------------------

    async def handle_plain(self, inv: Invocation, text: str, *, once: Once | None = None) -> list[Intent]:
        """A line that is not a command. Only an open step-by-step answer or a waiting check-in
        reads it, and only when it was typed in the member's private space with the bot; anything
        else is ignored, and nothing is stored (not even a member row for someone the bot has
        not met). There `skip`, `back` and `done` typed plainly work as the commands do. `once` as
        for `handle_text`."""
        if once is not None:
            return await self._once(inv, once, lambda: self.handle_plain(inv, text))
        if not inv.private:
            return []
        community = await self.communities.find(self.db, inv.community.platform, inv.community.external_id)
        member = await self.members.find(self.db, community.id, inv.actor.user_id) if community else None
        if community is None or member is None:
            return []
        ctx = Ctx(inv, community, member, self.catalog, self.clock.now())
        # skip, back and done in any locale's words (`saltar`, `atrás`, `listo`)
        word = self.words.english_word(text.strip().strip(".!"), ("skip", "back", "done"))
        if await self.dialogs.has_open(member.id):
            # A dialog the member opened comes first: it is what they are answering right now.
            moves = {"skip": +1, "back": -1}
            if word in moves:
                return await self._guarded(ctx, "plain line", self.dialogs.move(ctx, moves[word]))
            if word == "done":
                return await self._guarded(ctx, "plain line", self.dialogs.done(ctx, {}))
            return await self._guarded(ctx, "plain line", self.dialogs.handle_plain(ctx, text))
        if await self.checkins.has_open(ctx):
            # read as `checkin <answer>` reads it: `saltar`/`listo` are skip/done
            answer = self._checkin_answer(text.strip())
            return await self._guarded(ctx, "plain line", self.checkins.checkin(ctx, {"answer": answer}))
        return []

    async def plain_reader(self, platform: str, community_external_id: str, user_id: str) -> str | None:
        """What would read a plain line from this member in their private space: "dialog" (an
        open step-by-step answer), "checkin" (a waiting check-in) or None. Adapters whose private
        spaces take commands without a prefix use it to tell an answer from a command."""
        community = await self.communities.find(self.db, platform, community_external_id)
        member = await self.members.find(self.db, community.id, user_id) if community else None
        if community is None or member is None:
            return None
        if await self.dialogs.has_open(member.id):
            return "dialog"
        inv = Invocation(
            community=CommunityRef(platform, community_external_id, community.name),
            actor=Actor(user_id, member.display_name, False),
            channel=None,
            private=True,
        )
        if await self.checkins.has_open(Ctx(inv, community, member, self.catalog, self.clock.now())):
            return "checkin"
        return None

    # -- what adapters may ask (the port: adapters use these, never features or tables) --------

    def adapter_state(self, platform: str) -> AdapterState:
        """The adapter's own small key/value store (sync tokens, room links, seen events)."""
        return AdapterState(self.db, platform)

    async def community(self, platform: str, external_id: str) -> Community | None:
        return await self.communities.find(self.db, platform, external_id)

    async def locale_of(self, platform: str, external_id: str) -> str:
        """The community's language ("en" for a community the core does not know yet)."""
        found = await self.community(platform, external_id)
        return found.locale if found is not None else "en"

    async def member_locale(self, platform: str, external_id: str, user_id: str) -> str:
        """The language for words to this member alone (their chosen one, else their client's,
        else the community's), for an adapter's own words in their private space. Adapters
        never learn why: only the language to write in."""
        found = await self.community(platform, external_id)
        if found is None:
            return "en"
        member = await self.members.find(self.db, found.id, user_id)
        return member_locale(self.catalog, found, member)

    async def communities_of(self, platform: str, user_id: str) -> list[Community]:
        """The communities this user is a member of on this platform, oldest first."""
        return await self.communities.of_member(self.db, platform, user_id)

    async def first_contact(self, inv: Invocation, channel: str) -> None:
        """A community first met in a channel: that channel is its question channel until
        `setup` says otherwise (so commands typed in private have somewhere to post)."""
        found = await self.community_for(inv)
        if not found.question_channel:
            async with self.db.transaction() as tx:
                await self.communities.update(tx, found.id, question_channel=channel)

    def _checkin_answer(self, text: str) -> str:
        spec = self.registry.get("checkin")
        arg = next((arg for arg in spec.args if arg.name == "answer"), None) if spec else None
        return self.words.argument(arg, text) if arg is not None else text

    def private_words(self) -> tuple[frozenset[str], frozenset[str]]:
        """The words a plain private line may not be read as: (an open step-by-step answer's own
        commands, a waiting check-in's own words), lowercase, in every locale. `skip` and `done`
        are also step-by-step commands, but with no step-by-step answer open they belong to the
        check-in."""
        dialog = self.words.spellings(spec.path for spec in Dialogs.commands)
        checkin = self.words.spellings([(word,) for word in ("skip", "done")])
        return dialog, frozenset((*SKIP_WORDS, *DONE_WORDS)) | checkin

    def command_heads(self) -> frozenset[str]:
        """Every word a command may start with (`pair`, `parejas`, `sí`, `si`), lowercase: what
        an adapter that must tell commands from chat looks for after its prefix."""
        return self.words.spellings(spec.path[:1] for spec in self.registry.specs())

    def command_names(self) -> frozenset[str]:
        """Every command's full name in every locale (`pair join`, `parejas unirme`)."""
        return frozenset(
            name for spec in self.registry.specs() for name in (spec.name, *self.words.names(spec))
        )

    async def agreement_choices(self, platform: str, external_id: str, user_id: str) -> list[str]:
        """The short ids of the member's own agreements (nobody else's), for suggestions."""
        community = await self.community(platform, external_id)
        member = await self.members.find(self.db, community.id, user_id) if community else None
        if member is None:
            return []
        return [row.short_id for row in await self.agreements.pair.repo.for_member(self.db, member.id)]

    def personal_data_source(self, platform: str) -> Any | None:
        """The adapter's personal-data source registered on this core, if any (a new adapter on
        the same core, after a reconnect, takes it over instead of adding a second one)."""
        return self._adapter_data.get(platform)

    def add_personal_data_source(self, platform: str, source: PersonalDataSource) -> None:
        """Let the adapter's own stored data take part in `mydata export/forget` and retention."""
        self.mydata.add_source(source)
        self._adapter_data[platform] = source

    async def submit_form(self, inv: Invocation, form_id: str, values: Mapping[str, str]) -> list[Intent]:
        """A submitted form (a Discord modal): `form_id` names the feature and what it edits."""
        ctx = await self.context(inv)
        return await self._guarded(ctx, "form", self.dialogs.submit_form(ctx, form_id, dict(values)))

    async def press_button(self, inv: Invocation, custom_id: str) -> list[Intent]:
        """A pressed button. Everything is re-checked from storage: a forged, copied or replayed
        id changes nothing and gets a neutral answer."""
        ctx = await self.context(inv)
        return await self._guarded(ctx, "button", self.dialogs.press_button(ctx, custom_id))

    async def _once(
        self, inv: Invocation, once: Once, work: Callable[[], Awaitable[list[Intent]]]
    ) -> list[Intent]:
        """Run `work` in one transaction with the event's record and its answers in the outbox.
        The features' own transactions become savepoints of this one (a refusal still undoes
        only its own), and their outbox messages commit with it."""
        ref = inv.community
        async with self.db.transaction() as tx:
            if not await record_seen(tx, ref.platform, once.event_id, self.clock.now()):
                log.debug("event already handled; skipped")
                return []
            intents = await work()
            if not intents:
                return []
            community = await self.communities.find(tx, ref.platform, ref.external_id)
            if community is None:  # nothing ran that could answer; only the record is kept
                return []
            queued = [self._addressed(intent, inv, once) for intent in intents]
            for intent in queued:
                await self.outbox.add(tx, community.id, intent)
        return queued

    @staticmethod
    def _addressed(intent: Intent, inv: Invocation, once: Once) -> Intent:
        if isinstance(intent, Answer):
            return Reply(inv.actor.user_id, intent.text, intent.private, once.channel, once.thread, once.here)
        return intent

    async def _guarded(self, ctx: Ctx, what: str, work: Any) -> list[Intent]:
        try:
            intents = list(await work)
        except Refusal as refusal:
            self._observe("refused", what)
            return [Answer(ctx.t(refusal.key, **refusal.params))]
        except Exception:
            log.exception("%s failed", what)
            self._observe("error", what)
            return [Answer(ctx.t("error.internal"))]
        self._observe("done", what)
        return intents

    def observe(self, observer: Callable[[str, str], None]) -> None:
        """Be told (outcome, command) after every command: done, invalid, forbidden, refused or
        error. For tests and metrics; never given arguments or content."""
        self._observers.append(observer)

    def _observe(self, outcome: str, name: str) -> None:
        log.debug("command %s: %s", name or "(unknown)", outcome)
        for observer in self._observers:
            observer(outcome, name)

    def _has_fallback_channel(self, ctx: Ctx) -> bool:
        return bool(ctx.community.question_channel)

    def _parse_error(self, ctx: Ctx, error: ParseError) -> Answer:
        text = ctx.t(error.key, **error.params)
        if error.spec is not None:
            text += "\n" + ctx.t(
                "parse.usage", usage=ctx.usage(error.spec), command=self.words.name(ctx.locale, error.spec)
            )
        elif error.key in ("parse.unknown_command", "parse.unknown_subcommand", "parse.empty"):
            text += "\n" + ctx.t("parse.try_help")
        return Answer(text)


# -- the port's vocabulary -----------------------------------------------------------------------
# Adapters import from the core only bot.app, bot.context and bot.replies (and bot.config for
# their settings; tests/core/test_import_rule.py). These are the other core names an adapter
# needs, named here once: the clock, delivery's retry signal, the storage of the adapter's own
# rows, and the commands and texts it renders. Anything else is reached through App's methods.
from bot.clock import FakeClock  # noqa: E402
from bot.commands.parser import MAX_LINE  # noqa: E402
from bot.commands.spec import Arg, ArgType  # noqa: E402
from bot.commands.words import CommandWords  # noqa: E402
from bot.commands.words import fold as fold_word  # noqa: E402
from bot.outbox import TransientDeliveryError  # noqa: E402
from bot.scheduling.timeline import SimulatedDriver  # noqa: E402
from bot.storage.crypto import DataKeyError  # noqa: E402
from bot.storage.db import Tx  # noqa: E402

__all__ = [
    # the port itself
    "App",
    "Once",
    # what adapters use beside it (see above)
    "MAX_LINE",
    "AdapterState",
    "Arg",
    "ArgType",
    "Catalog",
    "Clock",
    "CommandSpec",
    "CommandWords",
    "DataKeyError",
    "command_words",
    "fold_word",
    "FakeClock",
    "FieldCipher",
    "SimulatedDriver",
    "TransientDeliveryError",
    "Tx",
    "Who",
]
