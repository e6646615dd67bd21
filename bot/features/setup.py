"""`setup`: a community's timezone, locale, channels and facilitator rule (config gives defaults)."""

from __future__ import annotations

import re
from typing import Any

from bot.commands.registry import Registry
from bot.commands.spec import Arg, ArgType, CommandSpec, Who
from bot.context import Ctx
from bot.errors import Refusal
from bot.replies import Answer, Intent
from bot.scheduling.recurrence import valid_timezone
from bot.storage.communities import CommunityRepo
from bot.storage.db import Database
from bot.texts.catalog import Catalog

SETTINGS = ("timezone", "locale", "question-channel", "pairing-channel", "facilitator-rule")

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


def normalise_channel(value: str) -> str:
    return value.strip().removeprefix("#")


class SetupFeature:
    def __init__(self, db: Database, communities: CommunityRepo, catalog: Catalog) -> None:
        self._db = db
        self._communities = communities
        self._catalog = catalog

    def bind(self, registry: Registry) -> None:
        registry.bind("setup", self.setup)

    async def setup(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        setting, value = args["setting"], args["value"]
        if setting is None:
            return [Answer(self._describe(ctx))]
        if value is None:
            raise Refusal("setup.value_missing", setting=setting)
        column, stored = self._validate(setting, value)
        async with self._db.transaction() as tx:
            await self._communities.update(tx, ctx.community.id, **{column: stored})
        return [Answer(ctx.t("setup.saved", setting=setting, value=stored or ctx.t("setup.unset")))]

    def _validate(self, setting: str, value: str) -> tuple[str, str]:
        if setting == "timezone":
            if not valid_timezone(value):
                raise Refusal("setup.bad_timezone", given=value)
            return "timezone", value
        if setting == "locale":
            if not self._catalog.has_locale(value):
                raise Refusal("setup.bad_locale", given=value, known=", ".join(self._catalog.locales))
            return "locale", value
        if setting in ("question-channel", "pairing-channel"):
            channel = normalise_channel(value)
            if not _CHANNEL.match(channel):
                raise Refusal("setup.bad_channel", given=value)
            return setting.replace("-", "_"), channel
        if value.lower() in ("default", "none"):
            return "facilitator_rule", ""
        if not _RULE.match(value.strip()):
            raise Refusal("setup.bad_rule", given=value)
        return "facilitator_rule", value.strip()

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
        )
