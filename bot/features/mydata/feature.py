"""`mydata export`, `mydata forget` and `mydata language`: every member can take or erase what Alongside holds about
them in a community, and a daily job purges what is past its retention period.

Forget uses the generic confirmation step. It erases the member's own answers, preferences,
not-with entries they made, suggestions, consents and pending steps, withdraws each agreement they
were in (the others get a neutral notice), and finally the member row itself; what must remain for
others stays, unattributed (an approved, published question). SQLite's secure_delete is on and the
WAL is checkpointed afterwards, so erased text does not linger in free pages."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from bot.commands.registry import Registry
from bot.commands.spec import Arg, ArgType, CommandSpec, Where
from bot.context import Ctx
from bot.features.feature import Feature
from bot.features.mydata.source import PersonalDataSource
from bot.languages import DEFAULT_WORDS, known_locale, language_name
from bot.replies import Answer, Intent, PrivateFile
from bot.scheduling.timeline import Job
from bot.services import Services
from bot.storage.db import Tx

log = logging.getLogger(__name__)

LANGUAGE_CODE_MAX = 35  # the longest BCP 47 tag anyone writes is well under this

COMMANDS = (
    CommandSpec("mydata export", "commands.mydata_export", where=Where.PRIVATE),
    CommandSpec("mydata forget", "commands.mydata_forget", where=Where.PRIVATE),
    # A language code ("es"), or "default" for the space's; a code is short, so a long word is
    # bad input before it reaches the handler.
    CommandSpec(
        "mydata language",
        "commands.mydata_language",
        args=(Arg("code", ArgType.WORD, required=False, max=LANGUAGE_CODE_MAX, words=("default",)),),
        where=Where.PRIVATE,
    ),
)

FORGET_ACTION = "mydata.forget"
PURGE_AT = time(3, 15)  # daily, UTC: a quiet hour for most spaces


class MyDataFeature(Feature):
    commands = COMMANDS

    def __init__(self, services: Services, *, sources: list[PersonalDataSource]) -> None:
        self.services = services
        self._sources = sources
        services.confirmations.on(FORGET_ACTION, self._forget_confirmed, destructive=True)

    def add_source(self, source: PersonalDataSource) -> None:
        self._sources.append(source)

    @property
    def sources(self) -> tuple[PersonalDataSource, ...]:
        """The registered sources, in the order export and forget visit them."""
        return tuple(self._sources)

    def bind(self, registry: Registry) -> None:
        registry.bind("mydata export", self.export)
        registry.bind("mydata forget", self.forget)
        registry.bind("mydata language", self.language)

    async def start(self) -> None:
        self.services.timeline.put(Job("retention:daily", self._next_purge, self.purge))

    # -- export --------------------------------------------------------------------------------

    async def export(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        document: dict[str, Any] = {
            "format": "alongside-export-1",
            "exported_at": ctx.now.isoformat(),
            "community": {"platform": ctx.community.platform, "id": ctx.community.external_id},
            "member": {
                "platform_user_id": ctx.member.platform_user_id,
                "display_name": ctx.member.display_name,
            },
        }
        counts = []
        for source in self._sources:
            section = await source.export_member(ctx)
            document[source.name] = section
            items = sum(_count(v) for v in section.values())
            # A CLDR plural message (never "item(s)").
            # The part's name in the reader's words ("your pairing"), never its internal name.
            key = f"mydata.part.{source.name}"
            section = ctx.t(key) if ctx.catalog.has(key) else source.name.capitalize()
            counts.append(ctx.t("mydata.summary_line", section=section, items=items))
        summary = ctx.t("mydata.export_summary", lines="\n".join(counts))
        filename = f"alongside-{ctx.community.platform}-{ctx.now:%Y%m%d}.json"
        content = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True)
        return [PrivateFile(ctx.member.platform_user_id, filename, content, summary)]

    # -- language ------------------------------------------------------------------------------

    async def language(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        """`mydata language [code]`: show, choose, or (`default`) drop the member's own language.
        Answered privately; a choice is the member's own data and shown to nobody else."""
        catalog = self.services.catalog
        code = (args.get("code") or "").strip()
        if not code:
            return [Answer(ctx.t(self._current_key(ctx), name=language_name(catalog, ctx.locale), available=self._available(ctx)))]
        if code.lower() in DEFAULT_WORDS:
            member = ctx.member
            if member.language:
                async with self.services.db.transaction() as tx:
                    member = await self.services.members.set_language(tx, member, language="")
            after = replace(ctx, member=member)
            return [Answer(after.t("language.back_to_default", name=language_name(catalog, after.locale)))]
        locale = known_locale(catalog, code)
        if not locale:
            example = next((c for c in catalog.locales if c != ctx.locale), ctx.locale)
            return [Answer(ctx.t("language.unknown", given=code[:LANGUAGE_CODE_MAX], available=self._available(ctx), example=example))]
        if locale == ctx.member.language:
            return [Answer(ctx.t("language.already", name=language_name(catalog, locale)))]
        async with self.services.db.transaction() as tx:
            member = await self.services.members.set_language(tx, ctx.member, language=locale)
        # Said in the language just chosen: the first words the member reads in it.
        return [Answer(replace(ctx, member=member).t("language.chosen"))]

    def _current_key(self, ctx: Ctx) -> str:
        if ctx.member.language and self.services.catalog.has_locale(ctx.member.language):
            return "language.current_chosen"
        if ctx.locale != ctx.community.locale:
            return "language.current_client"
        return "language.current_space"

    def _available(self, ctx: Ctx) -> str:
        catalog = self.services.catalog
        return ", ".join(
            ctx.t("language.available_item", name=language_name(catalog, code), code=code) for code in catalog.locales
        )

    # -- forget --------------------------------------------------------------------------------

    async def forget(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.services.db.transaction() as tx:
            prompt = await self.services.confirmations.request(
                tx,
                ctx.community.id,
                ctx.member.id,
                ctx.member.platform_user_id,
                FORGET_ACTION,
                {},
                ctx.t("mydata.forget_confirm", minutes=self.services.confirmations.fresh_minutes),
                ctx.t("mydata.forget_yes"),
                ctx.t("mydata.forget_no"),
            )
        return [prompt]

    async def _forget_confirmed(self, tx: Tx, ctx: Ctx, payload: dict[str, Any], yes: bool) -> list[Intent]:
        if not yes:
            return [Answer(ctx.t("mydata.forget_kept"))]
        for source in self._sources:
            await source.forget_member(tx, ctx)
        # Rows that only point at the member go with them (ON DELETE CASCADE / SET NULL).
        await self.services.members.delete(tx, ctx.member.id)
        tx.after_commit(lambda: self.services.members.evict(ctx.member))
        tx.request_checkpoint()
        log.info("a member's data was erased in community %s", ctx.community.id)
        return [Answer(ctx.t("mydata.forgotten"))]

    # -- retention -----------------------------------------------------------------------------

    def _next_purge(self, after: datetime) -> datetime:
        candidate = datetime.combine(after.date(), PURGE_AT, tzinfo=after.tzinfo)
        return candidate if candidate > after else candidate + timedelta(days=1)

    async def purge(self, instant: datetime) -> None:
        removed = 0
        async with self.services.db.transaction() as tx:
            for source in self._sources:
                removed += await source.purge(tx, instant)
        if removed:
            # Only then: every process sharing the store fires this job, and the ones finding
            # nothing would otherwise vacuum the same tables at once, each waiting on the others.
            await self.services.db.checkpoint()
        log.info("retention purge removed %d rows", removed)


def _count(value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        # A record counts once if it holds anything: empty settings are nothing kept.
        return 1 if any(_count(v) for v in value.values()) else 0
    if isinstance(value, bool):
        return int(value)
    return 1 if value not in (None, "") else 0
