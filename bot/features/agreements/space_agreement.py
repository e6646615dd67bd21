"""The space agreement: the whole community's agreement, changed section by section by consent.

A facilitator drafts it from the template; after that any member proposes a change to one section,
and a consent round decides: open for N days, adopted when nobody objects and at least K members
agreed (the proposer counts). An objection keeps a change open and invites the proposer and the
objector to talk; a facilitator can adopt early only while no objection is open. Every adopted
version is kept, and the one in force is posted and pinned in the community's main channel.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from bot.commands.registry import Registry
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.agreements import state
from bot.features.agreements.commands import SPACE_KEYS
from bot.features.agreements.pair_agreements import prefix_for
from bot.features.agreements.space_repo import Change, SpaceRepo, SpaceVersion
from bot.features.agreements.state import ConsentRound, ConsentStatus, Refused
from bot.features.resources import duty_of_care_text
from bot.languages import member_locale
from bot.replies import Answer, ChannelPost, Intent, PrivateMessage
from bot.scheduling.timeline import Job
from bot.services import Services
from bot.storage.communities import Community, Member
from bot.storage.db import Tx
from bot.texts.quote import inline, quote

log = logging.getLogger(__name__)

DUTY_KEY = "duty-of-care"
JOB_KEY = "agreements:space"
MAX_NOTE = 1000
RECENT_DECIDED = 5


class SpaceAgreement:
    def __init__(self, services: Services, repo: SpaceRepo) -> None:
        self.services = services
        self.repo = repo
        self._due: dict[int, datetime] = {}  # open change id -> when its round closes

    def bind(self, registry: Registry) -> None:
        for name, handler in {
            "space-agreement draft": self.draft,
            "space-agreement show": self.show,
            "space-agreement propose": self.propose,
            "space-agreement changes": self.changes,
            "space-agreement agree": self.agree,
            "space-agreement object": self.object,
            "space-agreement adopt": self.adopt,
            "space-agreement withdraw": self.withdraw,
        }.items():
            registry.bind(name, handler)

    @property
    def _days(self) -> int:
        return self.services.settings.agreements.consent_round_days

    @property
    def _min_agree(self) -> int:
        return self.services.settings.agreements.consent_min_agree

    # -- texts ---------------------------------------------------------------------------------

    def _text(self, community: Community, key: str, *, locale: str = "", **params: Any) -> str:
        """A text in `locale`, or (by default) in the community's: the space agreement and its
        posts are the community's; a notice to one member passes that member's language."""
        return self.services.catalog.text(
            locale or community.locale, key, prefix=prefix_for(community.platform), **params
        )

    def _locale_of(self, community: Community, member: Member) -> str:
        return member_locale(self.services.catalog, community, member)

    def _template(self, locale: str) -> list[dict[str, Any]]:
        return list(self.services.catalog.data(locale, "space_agreement").get("section", []))

    def _section_key(self, token: str, locale: str = "en") -> str | None:
        """A section as typed: its number, its short name, or its title written as words joined
        by hyphens, whole or its first words (`how-we-talk` for "How we talk with each
        other"), as long as that means one section only."""
        word = token.strip().lower()
        if word.isascii() and word.isdigit() and 1 <= int(word) <= len(SPACE_KEYS):
            return SPACE_KEYS[int(word) - 1]
        if word in SPACE_KEYS:
            return word
        wanted = [part for part in re.split(r"[^\w]+", word.replace("'", "")) if part]
        if not wanted:
            return None
        found = []
        for section in self._template(locale):
            title = [part for part in re.split(r"[^\w]+", str(section["title"]).lower().replace("'", "")) if part]
            if title[: len(wanted)] == wanted and section["key"] in SPACE_KEYS:
                found.append(section["key"])
        return found[0] if len(found) == 1 else None

    def _title(self, locale: str, key: str) -> str:
        for section in self._template(locale):
            if section["key"] == key:
                return f"{section['number']}. {section['title']}"
        return key

    def render(self, community: Community, version: SpaceVersion, *, public: bool = False, locale: str = "") -> str:
        """The agreement as text. `public` (the post pinned in the channel): each section's words,
        which members wrote, as an inert quotation; privately (`show`) they read as written, so
        they can be copied into a proposal. `locale`: the headings' language (the reader's, for
        `show`; the community's by default); the sections' words are the members' own."""
        locale = locale or community.locale
        lines = [
            self._text(
                community,
                "space_agreement.version_head",
                locale=locale,
                version=version.number,
                how=self._text(community, f"space_agreement.how_{version.adopted_how}", locale=locale),
                when=self._day(community, version.adopted_at),
            )
        ]
        duty = self.services.settings.duty_of_care
        for section in self._template(locale):
            lines.append("")
            lines.append(self._title(locale, section["key"]))
            if section["key"] == DUTY_KEY:
                text = duty_of_care_text(duty, self.services.catalog, locale)
                lines.append(self._text(community, "space_agreement.duty", locale=locale, text=text, version=duty.version))
            else:
                words = version.content.get(section["key"], "")
                lines.append(quote(words) if public else words)
        return "\n".join(lines)

    def _day(self, community: Community, iso: str, locale: str | None = None) -> str:
        """CLDR's date in `locale` (the text's; the community's for what the space reads)."""
        formats = self.services.catalog.formats(locale or community.locale)
        return formats.day(datetime.fromisoformat(iso), community.timezone)

    def _when(self, community: Community, iso: str, locale: str | None = None) -> str:
        formats = self.services.catalog.formats(locale or community.locale)
        return formats.when(datetime.fromisoformat(iso), community.timezone)

    async def _main_channel(self, db: Any, community: Community, fallback: str = "") -> str:
        stored = await self.repo.channel(db, community.id)
        return community.question_channel or stored or fallback

    # -- commands ------------------------------------------------------------------------------

    async def draft(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        here = ctx.invocation.channel if ctx.invocation.channel and not ctx.invocation.private else ""
        channel = ctx.community.question_channel or here
        if not channel:
            raise Refusal("space_agreement.no_channel")
        content = {
            # The starting wording is the community's document: in the community's language.
            section["key"]: section["text"].format(days=self._days, min_agree=self._min_agree)
            for section in self._template(ctx.community_locale)
            if section["key"] != DUTY_KEY
        }
        async with self.services.db.transaction() as tx:
            if await self.repo.current(tx, ctx.community.id) is not None:
                raise Refusal("space_agreement.exists")
            await self.repo.create(tx, ctx.community.id, channel, ctx.member.id, content, ctx.now)
            version = await self.repo.current(tx, ctx.community.id)
            assert version is not None
            await self._post(tx, ctx.community, channel, version)
        return [Answer(ctx.t("space_agreement.drafted", channel=channel))]

    async def _post(self, tx: Tx, community: Community, channel: str, version: SpaceVersion) -> None:
        await self.services.outbox.add(tx, community.id, ChannelPost(channel, self.render(community, version, public=True), pin=True))

    async def show(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        version = await self.repo.current(self.services.db, ctx.community.id)
        if version is None:
            duty = self.services.settings.duty_of_care
            return [
                Answer(
                    ctx.t("space_agreement.none")
                    + "\n\n"
                    + ctx.t(
                        "space_agreement.duty_alone",
                        text=duty_of_care_text(duty, self.services.catalog, ctx.locale),
                        version=duty.version,
                    )
                )
            ]
        lines = [self.render(ctx.community, version, locale=ctx.locale)]
        open_changes = await self.repo.changes(self.services.db, ctx.community.id, open_only=True)
        lines.append("")
        if open_changes:
            lines.append(ctx.t("space_agreement.show_open", count=len(open_changes)))
            for change in open_changes:
                lines.append(await self._change_line(ctx, change))
        else:
            lines.append(ctx.t("space_agreement.show_none_open"))
        return [Answer("\n".join(lines))]

    async def _change_line(self, ctx: Ctx, change: Change) -> str:
        round_ = await self.repo.round(self.services.db, change, self._min_agree)
        key = "space_agreement.change_line_objection" if round_.objections else "space_agreement.change_line"
        return ctx.t(
            key,
            number=change.number,
            section=self._title(ctx.locale, change.section),
            text=change.text,
            agreed=len(round_.agreed),
            needed=self._min_agree,
            objections_text=ctx.t("space_agreement.objections", count=len(round_.objections)),
            objections=len(round_.objections),
            closes=self._when(ctx.community, change.closes_at, ctx.locale),
        )

    async def propose(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        key = self._section_key(args["section"], ctx.locale)
        if key is None:
            names = ", ".join(f"{n} {ctx.word(k)}" for n, k in enumerate(SPACE_KEYS, start=1))
            raise Refusal("space_agreement.unknown_section", given=args["section"][:40], sections=names)
        if key == DUTY_KEY:
            raise Refusal("space_agreement.duty_from_config")
        text = args["text"].strip()
        limit = self.services.settings.agreements.max_section_length
        if len(text) > limit:
            raise Refusal("space_agreement.too_long", max=limit, given_length=len(text))
        here = ctx.invocation.channel if ctx.invocation.channel and not ctx.invocation.private else ""
        async with self.services.db.transaction() as tx:
            current = await self.repo.current(tx, ctx.community.id)
            if current is None:
                raise Refusal("space_agreement.none")
            await self._check_limits(tx, ctx)
            if current.content.get(key, "").strip() == text:
                raise Refusal("space_agreement.no_change")
            closes = ctx.now + timedelta(days=self._days)
            change = await self.repo.add_change(tx, ctx.community.id, key, text, ctx.member.id, here, ctx.now, closes)
            channel = await self._main_channel(tx, ctx.community, here)
            if channel:
                await self.services.outbox.add(
                    tx,
                    ctx.community.id,
                    ChannelPost(
                        channel,
                        ctx.public_t(
                            "space_agreement.proposed_post",
                            name=inline(ctx.member.label),
                            number=change.number,
                            section=self._title(ctx.community_locale, key),
                            text=quote(text),
                            closes=self._when(ctx.community, change.closes_at, ctx.community_locale),
                            needed=self._min_agree,
                        ),
                    ),
                )
        self._due[change.id] = closes
        self._put_job()
        return [
            Answer(
                ctx.t(
                    "space_agreement.proposed",
                    number=change.number,
                    closes=self._when(ctx.community, change.closes_at, ctx.locale),
                    needed=self._min_agree,
                )
            )
        ]

    async def _check_limits(self, tx: Tx, ctx: Ctx) -> None:
        """A proposal is posted publicly at once, so each member has a few open at a time and
        one every few minutes; the refusal says when there is room again."""
        settings = self.services.settings.agreements
        count, first_close = await self.repo.open_by(tx, ctx.member.id)
        if count >= settings.max_open_proposals:
            raise Refusal(
                "space_agreement.too_many_open",
                count=count,
                closes=self._when(ctx.community, first_close or ctx.now.isoformat(), ctx.locale),
            )
        interval = timedelta(minutes=settings.proposal_interval_minutes)
        latest = await self.repo.latest_by(tx, ctx.member.id)
        if interval and latest is not None:
            next_at = datetime.fromisoformat(latest) + interval
            if ctx.now < next_at:
                raise Refusal(
                    "space_agreement.too_soon",
                    minutes=settings.proposal_interval_minutes,
                    when=self._when(ctx.community, next_at.isoformat(), ctx.locale),
                )

    async def changes(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        all_changes = await self.repo.changes(self.services.db, ctx.community.id, open_only=False)
        open_changes = [c for c in all_changes if c.status is ConsentStatus.OPEN]
        decided = [c for c in all_changes if c.status is not ConsentStatus.OPEN][-RECENT_DECIDED:]
        if not all_changes:
            return [Answer(ctx.t("space_agreement.changes_none"))]
        # With none open, how to respond to one would be an example that cannot work.
        lines = [
            ctx.t("space_agreement.changes_open", count=len(open_changes))
            if open_changes
            else ctx.t("space_agreement.show_none_open")
        ]
        for change in open_changes:
            lines.append(await self._change_line(ctx, change))
        if decided:
            lines.append(ctx.t("space_agreement.changes_decided"))
            for change in decided:
                lines.append(
                    ctx.t(
                        f"space_agreement.decided_{change.status.value}",
                        number=change.number,
                        section=self._title(ctx.locale, change.section),
                        when=self._day(ctx.community, change.decided_at or change.closes_at, ctx.locale),
                        version=change.version or "",
                    )
                )
        if open_changes:
            lines.append(ctx.t("space_agreement.changes_hint"))
        return [Answer("\n".join(lines))]

    async def _load(self, tx: Tx, ctx: Ctx, number: int) -> tuple[Change, ConsentRound]:
        change = await self.repo.change(tx, ctx.community.id, number)
        if change is None:
            raise Refusal("space_agreement.no_such_change", number=number)
        return change, await self.repo.round(tx, change, self._min_agree)

    def _step(self, fn: Any, *args: Any, number: int) -> ConsentRound:
        try:
            return fn(*args)
        except Refused as refused:
            raise Refusal(f"space_agreement.refused_{refused.reason}", number=number) from None

    async def withdraw(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        """`space-agreement withdraw <number>`: the proposer takes back their own open change."""
        number = args["id"]
        async with self.services.db.transaction() as tx:
            change, _ = await self._load(tx, ctx, number)
            if change.proposer_id != ctx.member.id:
                raise Refusal("space_agreement.withdraw_not_yours", number=number)
            if change.status is not ConsentStatus.OPEN:
                raise Refusal("space_agreement.refused_closed", number=number)
            await self.repo.withdraw_change(tx, change.id, ctx.now)
            channel = await self._main_channel(tx, ctx.community, change.channel)
            if channel:
                await self.services.outbox.add(
                    tx,
                    ctx.community.id,
                    ChannelPost(channel, ctx.public_t("space_agreement.withdrawn_post", number=number)),
                )
        self._due.pop(change.id, None)
        self._put_job()
        return [Answer(ctx.t("space_agreement.withdrawn", number=number))]

    async def agree(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        number = args["id"]
        async with self.services.db.transaction() as tx:
            change, round_ = await self._load(tx, ctx, number)
            had_objection = ctx.member.id in round_.objections
            new = self._step(state.round_agree, round_, ctx.member.id, ctx.now, number=number)
            await self.repo.respond(tx, change.id, ctx.member.id, "agree", None, ctx.now)
            intents: list[Intent] = [
                Answer(
                    ctx.t(
                        "space_agreement.agreed_objection_lifted" if had_objection else "space_agreement.agreed",
                        number=number,
                        agreed=len(new.agreed),
                        needed=self._min_agree,
                    )
                )
            ]
            if had_objection and change.proposer_id is not None:
                proposer = await self.services.members.get(tx, change.proposer_id)
                if proposer is not None:
                    await self.services.outbox.add(
                        tx,
                        ctx.community.id,
                        PrivateMessage(
                            proposer.platform_user_id,
                            ctx.t_in(
                                self._locale_of(ctx.community, proposer),
                                "space_agreement.objection_lifted_notice",
                                name=ctx.member.label,
                                number=number,
                            ),
                        ),
                    )
            await self._settle(tx, ctx.community, change, new)
        return intents

    async def object(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        number, note = args["id"], args["note"].strip()
        if len(note) > MAX_NOTE:
            raise Refusal("space_agreement.note_too_long", max=MAX_NOTE, given_length=len(note))
        async with self.services.db.transaction() as tx:
            change, round_ = await self._load(tx, ctx, number)
            self._step(state.round_object, round_, ctx.member.id, number=number)
            await self.repo.respond(tx, change.id, ctx.member.id, "object", note, ctx.now)
            proposer = await self.services.members.get(tx, change.proposer_id) if change.proposer_id else None
            if proposer is not None:
                await self.services.outbox.add(
                    tx,
                    ctx.community.id,
                    PrivateMessage(
                        proposer.platform_user_id,
                        ctx.t_in(
                            self._locale_of(ctx.community, proposer),
                            "space_agreement.objection_notice",
                            name=ctx.member.label,
                            number=number,
                            section=self._title(self._locale_of(ctx.community, proposer), change.section),
                            note=note,
                        ),
                    ),
                )
        return [
            Answer(
                ctx.t(
                    "space_agreement.objected",
                    number=number,
                    proposer=proposer.label if proposer is not None else "?",
                )
            )
        ]

    async def adopt(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        number = args["id"]
        async with self.services.db.transaction() as tx:
            change, round_ = await self._load(tx, ctx, number)
            new = self._step(state.round_adopt, round_, number=number)
            version = await self._decide(tx, ctx.community, change, new, "facilitator")
        return [Answer(ctx.t("space_agreement.adopted", number=number, version=version))]

    # -- deciding ------------------------------------------------------------------------------

    async def _settle(self, tx: Tx, community: Community, change: Change, round_: ConsentRound) -> None:
        if round_.status is not ConsentStatus.OPEN:
            await self._decide(tx, community, change, round_, "consent")

    async def _decide(self, tx: Tx, community: Community, change: Change, round_: ConsentRound, how: str) -> int | None:
        self._due.pop(change.id, None)
        now = self.services.clock.now()
        if round_.status is ConsentStatus.ADOPTED:
            current = await self.repo.current(tx, community.id)
            content = dict(current.content) if current else {}
            content[change.section] = change.text
            number = await self.repo.add_version(tx, community.id, content, change.number, how, now)
            await self.repo.decide(tx, change.id, ConsentStatus.ADOPTED, now, number)
            version = await self.repo.current(tx, community.id)
            assert version is not None
            channel = await self._main_channel(tx, community, change.channel)
            if channel:
                await self.services.outbox.add(
                    tx,
                    community.id,
                    ChannelPost(
                        channel,
                        self._text(
                            community,
                            "space_agreement.adopted_post",
                            number=change.number,
                            section=self._title(community.locale, change.section),
                        ),
                    ),
                )
                await self._post(tx, community, channel, version)
            return number
        await self.repo.decide(tx, change.id, ConsentStatus.NOT_ADOPTED, now, None)
        proposer = await self.services.members.get(tx, change.proposer_id) if change.proposer_id else None
        if proposer is not None:
            locale = self._locale_of(community, proposer)
            await self.services.outbox.add(
                tx,
                community.id,
                PrivateMessage(
                    proposer.platform_user_id,
                    self._text(
                        community,
                        "space_agreement.not_adopted_notice",
                        locale=locale,
                        number=change.number,
                        agreed=len(round_.agreed),
                        agreed_text=self._text(
                            community, "space_agreement.members", locale=locale, count=len(round_.agreed)
                        ),
                        needed=round_.min_agree,
                    ),
                ),
            )
        return None

    # -- the consent-round job -----------------------------------------------------------------

    async def start(self) -> None:
        await self._reload()
        self._put_job()
        # Claimed like any run: another process sharing the store may be running it now.
        await self.services.timeline.run_key(JOB_KEY, self.services.clock.now())

    async def _reload(self) -> None:
        """When every open consent round closes, read again from storage."""
        self._due = {
            change.id: datetime.fromisoformat(change.closes_at)
            for change in await self.repo.open_changes_everywhere(self.services.db)
        }

    async def resync(self) -> None:
        """Take in consent rounds opened through another process sharing the store."""
        before = dict(self._due)
        await self._reload()
        if self._due != before:
            self._put_job()

    def _put_job(self) -> None:
        self.services.timeline.put(
            Job(key=JOB_KEY, next_fire=self._next_fire, run=self.run_due, refresh=self._reload)
        )

    def _next_fire(self, after: datetime) -> datetime | None:
        upcoming = [at for at in self._due.values() if at > after]
        return min(upcoming) if upcoming else None

    async def run_due(self, instant: datetime) -> None:
        """Close every round whose time is up (idempotent: a decided change is left alone)."""
        now = max(instant, self.services.clock.now())
        for change_id, at in sorted(self._due.items(), key=lambda item: item[1]):
            if at > now:
                continue
            self._due.pop(change_id, None)
            try:
                async with self.services.db.transaction() as tx:
                    change = await self.repo.change_by_id(tx, change_id)
                    if change is None or change.status is not ConsentStatus.OPEN:
                        continue
                    community = await self.services.communities.get(tx, change.community_id)
                    assert community is not None
                    if not self.services.owns(community.platform, community.external_id):
                        continue  # the process serving that community closes its rounds
                    round_ = state.settle(await self.repo.round(tx, change, self._min_agree), now)
                    await self._settle(tx, community, change, round_)
            except Exception:
                log.exception("closing consent round %s failed", change_id)
        self._put_job()
