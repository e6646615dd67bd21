"""`setup`: a community's timezone, locale, channels and facilitator rule (config gives defaults).

Two answers only the platform knows, so the core asks the adapter through `PlatformChecks`
(registered on the App at start): whether a channel exists and the bot may post there, and who a
facilitator rule would cover. A rule that would leave the person saving it without facilitator
rights is saved only after they confirm; `alongside facilitators reset` is the way back.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Protocol

from bot.commands.registry import Registry
from bot.commands.spec import Arg, ArgType, CommandSpec, Who
from bot.context import ChannelVerdict, Ctx
from bot.errors import Refusal
from bot.features.feature import Feature
from bot.features.pairing.grouping import grouping_text, read_size, read_together, settle
from bot.languages import language_name
from bot.replies import Answer, Intent
from bot.scheduling.recurrence import valid_timezone
from bot.services import Services
from bot.storage.db import Tx

SETTINGS = (
    "timezone",
    "locale",
    "question-channel",
    "pairing-channel",
    "facilitator-rule",
    "pairing-size",
    "pairing-together",
)

COMMANDS = (
    CommandSpec(
        "setup",
        "commands.setup",
        (
            Arg("setting", ArgType.CHOICE, required=False, choices=SETTINGS),
            Arg("value", ArgType.TEXT, required=False, max=100),
        ),
        who=Who.FACILITATOR,
    ),
)

# Platform-neutral spelling of "who counts as a facilitator"; each adapter applies it.
_RULE = re.compile(r"^(manage-server|power:\d{1,3}|role:\d{1,25}|members:[\w.@:-]+(,[\w.@:-]+)*)$")
_CHANNEL = re.compile(r"^[\w!:.@#-]{1,100}$")
RULE_ACTION = "setup.facilitator_rule"


def normalise_channel(value: str) -> str:
    return value.strip().removeprefix("#")


class PlatformChecks(Protocol):
    async def check_channel(self, community: str, value: str) -> ChannelVerdict: ...

    async def facilitator_under(self, community: str, user_id: str, rule: str) -> bool | None:
        """Would `user_id` be a facilitator under `rule` ("" = the platform default)? None when
        the adapter cannot tell."""
        ...


class SetupFeature(Feature):
    commands = COMMANDS

    def __init__(self, services: Services) -> None:
        self.services = services
        self.checks: PlatformChecks | None = None
        services.confirmations.on(RULE_ACTION, self._rule_confirmed, destructive=True)

    def bind(self, registry: Registry) -> None:
        registry.bind("setup", self.setup)

    def _example(self, ctx: Ctx, setting: str) -> str:
        """A value that works for `setting`, for the example in a refusal (not a bare <value>):
        for a channel, the one the command was typed in when it has a plain name."""
        if setting.endswith("-channel"):
            here = ctx.invocation.channel
            if here and re.fullmatch(r"[\w-]+", here):
                return f"#{here}"
            return ctx.t("setup.example_channel")
        return ctx.t(f"setup.example_{setting.replace('-', '_')}")

    async def setup(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        setting, value = args["setting"], args["value"]
        if setting is None and value is not None:
            # The parser skips an optional choice it does not know, so the unknown word is here.
            raise Refusal("setup.unknown_setting", given=value.split()[0][:40], known=", ".join(ctx.word(s) for s in SETTINGS))
        if setting is None:
            return [Answer(self._describe(ctx))]
        if value is None:
            raise Refusal("setup.value_missing", setting=setting, example=self._example(ctx, setting))
        if setting in ("pairing-size", "pairing-together"):
            return [await self._grouping(ctx, setting, value)]
        column, stored = await self._validate(ctx, setting, value)
        if column == "facilitator_rule":
            locked_out = await self._locks_out(ctx, stored)
            if locked_out:
                return [await self._ask_rule(ctx, stored)]
        async with self.services.db.transaction() as tx:
            await self.services.communities.update(tx, ctx.community.id, **{column: stored})
        # Said as things now are: after `setup locale es`, in Spanish to whoever chose none.
        ctx = replace(ctx, community=replace(ctx.community, **{column: stored}))
        shown = "#" + stored if column.endswith("_channel") else stored  # as `setup` lists them
        if column == "locale":
            shown = language_name(self.services.catalog, stored)  # "español", not "es"
        # The setting in the reader's own command words ("idioma"), never the column's name.
        return [Answer(ctx.t("setup.saved", setting=ctx.word(setting), value=shown or self._unset(ctx, column)))]

    async def _grouping(self, ctx: Ctx, setting: str, value: str) -> Intent:
        """Pairs or circles, and how long circles stay together: the same values, refusals and
        words as `pair schedule ... size N together N`, which sets them too."""
        community = ctx.community
        if setting == "pairing-size":
            size, together = settle(read_size(value), community.pair_together, together_given=False)
        else:
            size, together = settle(community.pair_size, read_together(value), together_given=True)
        async with self.services.db.transaction() as tx:
            await self.services.communities.update(tx, community.id, pair_size=size, pair_together=together)
        return Answer(
            ctx.t("setup.saved", setting=ctx.word(setting), value=value.strip()) + " " + grouping_text(ctx.t, size, together)
        )

    @staticmethod
    def _unset(ctx: Ctx, column: str) -> str:
        """An empty setting in the words `setup` lists it with: no rule means the platform's."""
        return ctx.t("setup.rule_default" if column == "facilitator_rule" else "setup.unset")

    async def _validate(self, ctx: Ctx, setting: str, value: str) -> tuple[str, str]:
        if setting == "timezone":
            if not valid_timezone(value):
                raise Refusal("setup.bad_timezone", given=value)
            return "timezone", value
        if setting == "locale":
            if not self.services.catalog.has_locale(value):
                raise Refusal("setup.bad_locale", given=value, known=", ".join(self.services.catalog.locales))
            return "locale", value
        if setting in ("question-channel", "pairing-channel"):
            channel = normalise_channel(value)
            if not _CHANNEL.match(channel):
                raise Refusal("setup.bad_channel", given=value)
            if self.checks is not None:
                verdict = await self.checks.check_channel(ctx.community.external_id, channel)
                if verdict.channel is None:
                    key = "setup.channel_no_post" if verdict.problem == "no_post" else "setup.channel_missing"
                    raise Refusal(key, given=value, setting=setting)
                channel = verdict.channel
            return setting.replace("-", "_"), channel
        if value.lower() in ("default", "none"):
            return "facilitator_rule", ""
        if not _RULE.match(value.strip()):
            # The members example names the reader by their id here, so it works as written.
            raise Refusal("setup.bad_rule", given=value, me=ctx.invocation.actor.user_id)
        return "facilitator_rule", value.strip()

    async def _locks_out(self, ctx: Ctx, rule: str) -> bool:
        """True when the person saving `rule` would not be a facilitator under it."""
        user_id = ctx.invocation.actor.user_id
        if self.checks is not None:
            verdict = await self.checks.facilitator_under(ctx.community.external_id, user_id, rule)
            if verdict is not None:
                return not verdict
        # Without an adapter's word, only a list of members can be read here.
        if rule.startswith("members:"):
            return user_id not in rule.removeprefix("members:").split(",")
        return False

    async def _ask_rule(self, ctx: Ctx, rule: str) -> Intent:
        async with self.services.db.transaction() as tx:
            return await self.services.confirmations.request(
                tx,
                ctx.community.id,
                ctx.member.id,
                ctx.member.platform_user_id,
                RULE_ACTION,
                {"rule": rule},
                ctx.t(
                    "setup.lockout_confirm",
                    rule=rule or ctx.t("setup.rule_default"),
                    minutes=self.services.confirmations.fresh_minutes,
                ),
                ctx.t("setup.lockout_yes"),
                ctx.t("setup.lockout_no"),
            )

    async def _rule_confirmed(self, tx: Tx, ctx: Ctx, payload: dict[str, Any], yes: bool) -> list[Intent]:
        if not yes:
            return [Answer(ctx.t("setup.lockout_kept"))]
        if not ctx.is_facilitator:  # rights lost since asking: a yes saves nothing
            return [Answer(ctx.t("perm.facilitator_only", usage=f"{ctx.prefix}setup facilitator-rule"))]
        rule = str(payload.get("rule", ""))
        await self.services.communities.update(tx, ctx.community.id, facilitator_rule=rule)
        return [Answer(ctx.t("setup.saved", setting=ctx.word("facilitator-rule"), value=rule or self._unset(ctx, "facilitator_rule")))]

    def _describe(self, ctx: Ctx) -> str:
        community = ctx.community
        unset = ctx.t("setup.unset")
        return ctx.t(
            "setup.current",
            timezone=community.timezone,
            locale=community.locale,
            question_channel=("#" + community.question_channel) if community.question_channel else unset,
            pairing_channel=("#" + community.pairing_channel) if community.pairing_channel else unset,
            facilitator_rule=community.facilitator_rule or ctx.t("setup.rule_default"),
            pairing_size=community.pair_size,
            pairing_together=community.pair_together,
            grouping=grouping_text(ctx.t, community.pair_size, community.pair_together),
        )
