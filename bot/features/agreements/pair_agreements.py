"""Pair agreements: two or three peers negotiate, agree, revisit and withdraw an agreement about
how they want to be with each other when things get hard.

Only the parties can read an agreement or change its state. Anyone else (facilitators included)
gets exactly the answer they would get for an id that does not exist. Every word of an agreement
is encrypted at rest; its history records who changed which section when, never the text.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.commands import parser
from bot.commands.registry import Registry
from bot.config import AgreementSettings
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.agreements import state
from bot.features.agreements.commands import DATE_KEY, SECTIONS
from bot.features.agreements.repo import (
    DATE_STEP,
    AgreementRepo,
    AgreementRow,
    content_hash,
    diff,
    empty_content,
    get_step,
    is_empty,
    normalise_short_id,
    parse_step,
    set_step,
)
from bot.features.agreements.state import PairState, Refused, Status
from bot.features.checkin_port import OpenCheckin
from bot.features.confirmations import Confirmations
from bot.features.dialogs import MAX_FORM_FIELDS, Dialog, Dialogs
from bot.features.resources import ResourcesFeature
from bot.features.typed_lines import TypedLines
from bot.outbox import Outbox
from bot.replies import (
    ActionButtons,
    Answer,
    ConfirmPrompt,
    FormField,
    FormRequest,
    Intent,
    PrivateMessage,
)
from bot.scheduling.timeline import Job, Timeline
from bot.storage.communities import Community, CommunityRepo, Member, MemberRepo
from bot.storage.db import Database, Tx
from bot.texts.catalog import Catalog
from bot.texts.quote import quote
from bot.traits import traits_of

log = logging.getLogger(__name__)

SECTION_COUNT = len(SECTIONS)
# A section's step key is its storage slot (commands.SECTIONS), not its place in the order: the
# place can change as sections are added, what was written under a slot never moves.
SLOT_BY_KEY = {key: str(slot) for key, slot in SECTIONS}
SECTION_STEPS = [SLOT_BY_KEY[key] for key, _ in SECTIONS]  # in the order they are asked
ALL_STEPS = [*SECTION_STEPS, DATE_STEP]
RESOURCES_STEP = SLOT_BY_KEY["helped"]  # shown with the space's resources
DUTY_STEP = SLOT_BY_KEY["confidentiality"]  # shown with the duty-of-care statement, word for word
NUMBER_BY_SLOT = {int(step): number for number, step in enumerate(SECTION_STEPS, start=1)}
REVISIT_BUTTON = "agreement:revisit:{id}"
SHARE_WORD = "share"  # `checkin share <answer>`: the answer also goes to the others in the agreement
INVITE_ACTION = "agreement.invite"
WITHDRAW_ACTION = "agreement.withdraw"
REVIEW_HOUR = time(9, 0)  # review reminders go out at 09:00 in the community's timezone
JOB_KEY = "agreements:pair"
FORM_PARTS = tuple(tuple(ALL_STEPS[i : i + MAX_FORM_FIELDS]) for i in range(0, len(ALL_STEPS), MAX_FORM_FIELDS))
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A version as typed after `agreement accept`: "v2" (as the prompts show it) or just "2".
_VERSION = re.compile(r"^[vV]?(\d{1,9})$")


def prefix_for(platform: str) -> str:
    return traits_of(platform).prefix


def _words(text: str) -> list[str]:
    return [part for part in re.split(r"[^\w]+", text.lower().replace("'", "").replace("’", "")) if part]


def section_step(token: str | None, titles: dict[str, str] | None = None) -> str | None:
    """A section as typed -> its step key: its number ("6"), its short name ("if-worried"), or
    its title's words joined by hyphens, whole or its first words ("what-matters",
    "if-one-of-us-is-worried"), as long as they mean one section only; "revisit-date" -> "date".
    `titles`: each section's title by short name, in the member's locale."""
    if token is None:
        return None
    word = token.strip().lower()
    if word.isascii() and word.isdigit() and 1 <= int(word) <= SECTION_COUNT:
        return SECTION_STEPS[int(word) - 1]
    if word in SLOT_BY_KEY:
        return SLOT_BY_KEY[word]
    if word in (DATE_KEY, DATE_STEP):
        return DATE_STEP
    wanted = _words(word)
    # A long form has two words or more: a lone word ("if", "when") is more likely the start of
    # an answer typed without its section than a section's name.
    if len(wanted) < 2 or not titles:
        return None
    found = [key for key, title in titles.items() if key in SLOT_BY_KEY and _words(title)[: len(wanted)] == wanted]
    return SLOT_BY_KEY[found[0]] if len(found) == 1 else None


def _bad_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\n\t" for ch in text)


class Labels(dict[int, str]):
    """Display names by member id, remembering the locale they are shown in."""

    def __init__(self, locale: str) -> None:
        super().__init__()
        self.locale = locale


@dataclass(frozen=True)
class SectionText:
    number: int
    key: str
    title: str
    question: str

    @property
    def slot(self) -> str:
        """Its step key: where its answers are stored."""
        return SLOT_BY_KEY[self.key]


class PairAgreements:
    """The `agreement ...` commands, invitations, dialogs, forms, buttons, reminders and the
    agreement check-in (this object is also the check-in provider named "agreements")."""

    name = "agreements"

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        outbox: Outbox,
        timeline: Timeline,
        communities: CommunityRepo,
        members: MemberRepo,
        confirmations: Confirmations,
        dialogs: Dialogs,
        typed_lines: TypedLines,
        repo: AgreementRepo,
        settings: AgreementSettings,
        resources: ResourcesFeature,
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalog = catalog
        self._outbox = outbox
        self._timeline = timeline
        self._communities = communities
        self._members = members
        self._confirmations = confirmations
        self._dialogs = dialogs
        self._typed_lines = typed_lines
        self.repo = repo
        self._settings = settings
        self._resources = resources
        # next_fire answers synchronously from this cache: "review:<id>" / "purge:<id>" -> instant.
        self._due: dict[str, datetime] = {}
        confirmations.on(INVITE_ACTION, self._on_invite)
        confirmations.on(WITHDRAW_ACTION, self._on_withdraw_confirmed, destructive=True)
        dialogs.register("agreement", self)
        dialogs.on_form("agreement", self.submit_form)
        dialogs.on_button("agreement", self.press_button)

    @property
    def reinvite_wait(self) -> timedelta:
        """How long a declined invitation holds off the next one from the same person."""
        return timedelta(days=self._settings.reinvite_after_days)

    def bind(self, registry: Registry) -> None:
        for name, handler in {
            "agreement start": self.start_cmd,
            "agreement edit": self.edit,
            "agreement amend": self.amend,
            "agreement propose": self.propose,
            "agreement accept": self.accept,
            "agreement view": self.view,
            "agreement revisit": self.revisit,
            "agreement withdraw": self.withdraw,
            "agreement history": self.history,
            "agreement invitations": self.invitations,
        }.items():
            registry.bind(name, handler)

    # -- small helpers -------------------------------------------------------------------------

    def sections(self, locale: str) -> list[SectionText]:
        data = self._catalog.data(locale, "agreement")
        return [SectionText(s["number"], s["key"], s["title"], s["question"]) for s in data.get("section", [])]

    def _section(self, locale: str, step: str) -> SectionText:
        section, _ = parse_step(step)
        return next(s for s in self.sections(locale) if s.slot == section)

    def section_step(self, token: str | None, locale: str) -> str | None:
        return section_step(token, {s.key: s.title for s in self.sections(locale)})

    def _duty_line(self, ctx: Ctx) -> str:
        """The space's duty-of-care statement, word for word, as section 12 shows it."""
        return ctx.t(
            "agreement.duty_line", text=self._resources.duty_text(ctx), version=self._resources.duty_version
        )

    def _step_title(self, ctx: Ctx, step: str, labels: dict[int, str] | None = None) -> str:
        if step == DATE_STEP:
            return self._catalog.data(ctx.locale, "agreement").get("review_date", {}).get("title", DATE_KEY)
        _, about = parse_step(step)
        found = self._section(ctx.locale, step)
        title = ctx.t("agreement.section_name", number=found.number, title=found.title)
        if about is not None:
            name = (labels or {}).get(about, "?")
            return ctx.t("agreement.note_name", section=title, name=name)
        return title

    def _step_question(self, ctx: Ctx, step: str) -> str:
        if step == DATE_STEP:
            return self._catalog.data(ctx.locale, "agreement").get("review_date", {}).get("question", "")
        return self._section(ctx.locale, step).question

    async def _step_extra(self, ctx: Ctx, step: str) -> str:
        """What a section shows with its question: the space's resources with "what has helped",
        the duty-of-care statement with "what stays between us"."""
        section, _ = parse_step(step)
        if section == RESOURCES_STEP:
            lines = await self._resources.lines(ctx)
            if lines:
                return "\n".join([ctx.t("agreement.resources_intro"), *lines])
            return ""
        if section == DUTY_STEP:
            return self._duty_line(ctx)
        return ""

    async def _labels(self, db: Any, locale: str, ids: Any) -> Labels:
        labels = Labels(locale)
        for member_id in ids:
            member = await self._members.get(db, member_id)
            labels[member_id] = member.label if member is not None else "?"
        return labels

    def _tz(self, community: Community) -> ZoneInfo:
        return ZoneInfo(community.timezone)

    def _day(self, ctx: Ctx, iso: str) -> str:
        moment = datetime.fromisoformat(iso)
        try:
            return f"{moment.astimezone(self._tz(ctx.community)):%a %d %b %Y}"
        except OverflowError:  # a far date stored before dates were bounded
            return f"{moment:%a %d %b %Y}"

    def _when(self, ctx: Ctx, iso: str) -> str:
        moment = datetime.fromisoformat(iso)
        return f"{moment.astimezone(self._tz(ctx.community)):%a %d %b %Y, %H:%M}"

    def _names(self, labels: dict[int, str], ids: Any) -> str:
        names = [labels[i] for i in ids]
        if len(names) < 2:
            return "".join(names)
        locale = labels.locale if isinstance(labels, Labels) else "en"
        joiner = self._catalog.text(locale, "agreement.and")
        return f"{', '.join(names[:-1])} {joiner} {names[-1]}"

    def _transition(self, fn: Any, row: AgreementRow | None, *args: Any, labels: dict[int, str] | None = None) -> PairState:
        """Run a state transition; a refusal becomes the kind message for its reason."""
        try:
            return fn(row.state() if row is not None else None, *args)
        except Refused as refused:
            params: dict[str, Any] = {}
            if row is not None and refused.reason != state.NO_SUCH:
                labels = labels or {}
                params = {
                    "id": row.short_id,
                    "waiting": self._names(labels, [m for m in row.ordered_joined if m not in row.accepted])
                    if labels
                    else "",
                    "invited": self._names(labels, [m for m in row.ordered_ids if m in row.invited]) if labels else "",
                    "version": row.proposal_version or row.in_force_version or "",
                }
            if refused.reason == state.NO_SUCH:
                raise Refusal("agreement.no_such") from None
            raise Refusal(f"agreement.refused_{refused.reason}", **params) from None

    async def _resolve(self, db: Any, ctx: Ctx, ident: str | None, command: str) -> AgreementRow:
        """The agreement a command is about: the one named by id, or the member's only one."""
        if ident is None:
            mine = await self.repo.for_member(db, ctx.member.id)
            if not mine:
                # Until its text is deleted, a withdrawn agreement can still be read, and
                # anything else gets the specific "it was withdrawn" answer.
                everything = await self.repo.for_member(db, ctx.member.id, include_withdrawn=True)
                if everything:
                    return everything[-1]
                waiting = await self._invitations_text(db, ctx)
                if waiting:
                    raise Refusal("agreement.none_but_invited", invitations=waiting)
                raise Refusal("agreement.none")
            if len(mine) > 1:
                ids = ", ".join(f"#{a.short_id}" for a in mine)
                raise Refusal("agreement.which", ids=ids, example=f"{ctx.prefix}{command} #{mine[0].short_id}")
            return mine[0]
        short = normalise_short_id(ident)
        row = await self.repo.by_short_id(db, ctx.community.id, short) if short else None
        if row is None or ctx.member.id not in row.joined:
            # Exactly the same answer whether it exists or not: outsiders learn nothing.
            raise Refusal("agreement.no_such")
        return row

    async def _invitations_text(self, db: Any, ctx: Ctx) -> str:
        """Invitations waiting for the member, newest first, each with how to answer it: the one
        they were asked about by its confirmation id, the others as queued behind it."""
        rows = [
            row
            for row in await self.repo.for_member(db, ctx.member.id, joined_only=False)
            if ctx.member.id in row.invited and row.status is not Status.WITHDRAWN
        ]
        if not rows:
            return ""
        live = await db.fetchone(
            "SELECT id FROM confirmations WHERE member_id = ? AND action = ? AND expires_at > ?",
            (ctx.member.id, INVITE_ACTION, ctx.now.isoformat()),
        )
        lines = []
        for row in sorted(rows, key=lambda r: r.id, reverse=True):
            labels = await self._labels(db, ctx.locale, row.ordered_ids)
            starter = labels.get(row.started_by or row.ordered_ids[0], "?")
            prompted = any(p.member_id == ctx.member.id and p.prompted for p in row.parties)
            if prompted and live is not None:
                lines.append(ctx.t("agreement.waiting_invite", id=row.short_id, name=starter, confirmation=live[0]))
            else:
                lines.append(ctx.t("agreement.waiting_invite_queued", id=row.short_id, name=starter))
        return "\n".join(lines)

    def _value(self, ctx: Ctx, step: str, text: str) -> str | None:
        """Check one answer as typed: "-" clears it; dates and lengths are checked."""
        text = text.strip()
        if text == "-" or not text:
            return None
        if _bad_characters(text):
            raise Refusal("agreement.bad_characters")
        if step == DATE_STEP:
            if not _DATE.match(text):
                raise Refusal("agreement.bad_date", given=text[:40])
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise Refusal("agreement.bad_date", given=text[:40]) from None
            today = ctx.now.astimezone(self._tz(ctx.community)).date()
            if day <= today:
                raise Refusal("agreement.date_past", given=text)
            if day > parser.latest_review_date(today):
                raise Refusal(
                    "agreement.date_too_far",
                    years=parser.MAX_YEARS_AHEAD,
                    latest=parser.latest_review_date(today).isoformat(),
                )
            return day.isoformat()
        limit = self._settings.max_section_length
        if len(text) > limit:
            raise Refusal("agreement.too_long", max=limit, given_length=len(text))
        return text

    async def _notify(self, tx: Tx, community_id: int, member_ids: Any, make: Any) -> None:
        """Queue a private notice for each member (`make(member)` builds the intent)."""
        for member_id in member_ids:
            member = await self._members.get(tx, member_id)
            if member is not None:
                await self._outbox.add(tx, community_id, make(member))

    # -- rendering -----------------------------------------------------------------------------

    def _indent(self, text: str) -> str:
        return text.replace("\n", "\n      ")

    def render_content(
        self,
        ctx: Ctx,
        content: dict[str, Any],
        order: list[int],
        labels: dict[int, str],
        editable: str | None = None,
    ) -> str:
        """The sections as written. `editable` is the agreement's short id when this content can
        still be changed: only then does the missing review date come with the command that sets
        it (on an agreed or withdrawn version that command is refused)."""
        lines: list[str] = []
        empty: list[str] = []
        for section in self.sections(ctx.locale):
            key = section.slot
            heading = ctx.t("agreement.section_heading", number=section.number, title=section.title)
            shown = False
            for member_id in order:
                answer = get_step(content, member_id, key)
                if answer:
                    lines.extend([] if shown else [heading])
                    shown = True
                    lines.append(ctx.t("agreement.answer_line", name=labels[member_id], text=self._indent(answer)))
            for author in order:
                for about in order:
                    note = get_step(content, author, f"{key}@{about}")
                    if note:
                        lines.extend([] if shown else [heading])
                        shown = True
                        lines.append(
                            ctx.t(
                                "agreement.note_line",
                                author=labels[author],
                                about=labels[about],
                                text=self._indent(note),
                            )
                        )
            if key == DUTY_STEP:
                # The limits of confidentiality here are the space's own statement, shown with it.
                lines.extend([] if shown else [heading])
                shown = True
                lines.append(self._duty_line(ctx))
            if not any(get_step(content, m, key) for m in order) and not any(
                get_step(content, a, f"{key}@{b}") for a in order for b in order
            ):
                empty.append(str(section.number))
        if len(empty) == SECTION_COUNT:
            lines = [ctx.t("agreement.nothing_written"), *lines]
        elif empty:
            lines.append(ctx.t("agreement.no_answers", sections=", ".join(empty)))
        review = content.get("review_date")
        if review:
            lines.append(ctx.t("agreement.review_line", date=self._day(ctx, review + "T12:00:00+00:00")))
        elif editable:
            lines.append(ctx.t("agreement.no_review_line", id=editable))
        else:
            lines.append(ctx.t("agreement.no_review_line_plain"))
        return "\n".join(lines)

    def _describe_detail(self, ctx: Ctx, detail: dict[str, Any], labels: dict[int, str]) -> str:
        parts = []
        for member, sections in detail.get("answers", {}).items():
            parts.append(
                ctx.t(
                    "agreement.detail_answers" if len(sections) > 1 else "agreement.detail_answer",
                    name=labels.get(int(member), "?"),
                    sections=", ".join(str(NUMBER_BY_SLOT.get(s, s)) for s in sections),
                )
            )
        for author, about, section in detail.get("notes", []):
            parts.append(
                ctx.t(
                    "agreement.detail_note",
                    author=labels.get(author, "?"),
                    about=labels.get(about, "?"),
                    section=NUMBER_BY_SLOT.get(section, section),
                )
            )
        if detail.get("review_date"):
            parts.append(ctx.t("agreement.detail_review"))
        return "; ".join(parts) if parts else ctx.t("agreement.detail_none")

    # -- start and invitations -----------------------------------------------------------------

    async def _live_invite(self, tx: Tx, member_id: int) -> bool:
        row = await tx.fetchone(
            "SELECT 1 FROM confirmations WHERE member_id = ? AND action = ? AND expires_at > ?",
            (member_id, INVITE_ACTION, self._clock.now().isoformat()),
        )
        return row is not None

    async def _invite_prompt(self, tx: Tx, ctx: Ctx, row_id: int, invitee: Member) -> ConfirmPrompt:
        row = await self.repo.get(tx, row_id)
        assert row is not None
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        starter = row.started_by if row.started_by is not None else row.ordered_ids[0]
        others = [m for m in row.ordered_ids if m not in (starter, invitee.id)]
        if others:
            text = ctx.t("agreement.invite_group", starter=labels[starter], other=self._names(labels, others))
        else:
            text = ctx.t("agreement.invite_pair", starter=labels[starter])
        await self.repo.set_prompted(tx, row_id, invitee.id, True)
        return await self._confirmations.request(
            tx,
            ctx.community.id,
            invitee.id,
            invitee.platform_user_id,
            INVITE_ACTION,
            {"agreement": row_id},
            text,
            ctx.t("agreement.invite_yes"),
            ctx.t("agreement.invite_no"),
        )

    async def _ask(self, tx: Tx, ctx: Ctx, row_id: int, invitee: Member) -> None:
        """Ask now, or queue the invitation behind one the member has not answered yet."""
        if await self._live_invite(tx, invitee.id):
            await self.repo.set_prompted(tx, row_id, invitee.id, False)
            return
        await self._outbox.add(tx, ctx.community.id, await self._invite_prompt(tx, ctx, row_id, invitee))

    async def start_cmd(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        wanted: list[str] = []
        for user_id in (args["member"], args.get("member2"), args.get("member3")):
            # Naming yourself among the parties is simply ignored.
            if user_id and user_id not in wanted and user_id != ctx.member.platform_user_id:
                wanted.append(user_id)
        if not wanted:
            raise Refusal("agreement.start_self")
        if len(wanted) > 2:
            raise Refusal("agreement.start_too_many")
        async with self._db.transaction() as tx:
            invitees: list[Member] = []
            for user_id in wanted:
                member = await self._members.find(tx, ctx.community.id, user_id)
                if member is None and traits_of(ctx.community.platform).mentions_are_members:
                    member = await self._members.ensure(tx, ctx.community.id, user_id, "", ctx.now)
                if member is None:
                    raise Refusal("agreement.start_not_member", name=user_id)
                invitees.append(member)
            people = {ctx.member.id, *(m.id for m in invitees)}
            for existing in await self.repo.for_member(tx, ctx.member.id, joined_only=False):
                if set(existing.ordered_ids) != people:
                    continue
                if ctx.member.id not in existing.joined:
                    labels = await self._labels(tx, ctx.locale, existing.ordered_ids)
                    starter = existing.started_by or existing.ordered_ids[0]
                    raise Refusal("agreement.start_already_invited", name=labels[starter])
                lapsed = [
                    p.member_id
                    for p in existing.parties
                    if not p.joined and p.prompted and not await self._live_invite(tx, p.member_id)
                ]
                if not lapsed:
                    raise Refusal("agreement.start_exists", id=existing.short_id)
                labels = await self._labels(tx, ctx.locale, lapsed)
                for member_id in lapsed:
                    member = await self._members.get(tx, member_id)
                    assert member is not None
                    await self._check_invitable(tx, ctx, member)
                    await self._ask(tx, ctx, existing.id, member)
                return [Answer(ctx.t("agreement.asked_again", id=existing.short_id, names=self._names(labels, lapsed)))]
            state.start(ctx.member.id, frozenset(people - {ctx.member.id}))
            for invitee in invitees:
                await self._check_invitable(tx, ctx, invitee)
            row_id = await self.repo.create(tx, ctx.community.id, ctx.member.id, [m.id for m in invitees], ctx.now)
            await self.repo.event(tx, row_id, ctx.now, ctx.member.id, "started")
            for invitee in invitees:
                await self._ask(tx, ctx, row_id, invitee)
            row = await self.repo.get(tx, row_id)
            assert row is not None
        labels = Labels(ctx.locale)
        labels.update({m.id: m.label for m in invitees})
        names = self._names(labels, [m.id for m in invitees])
        return [Answer(ctx.t("agreement.started", id=row.short_id, names=names))]

    async def _check_invitable(self, tx: Tx, ctx: Ctx, invitee: Member) -> None:
        """Refuse to invite someone who turned invitations off, or who declined an invitation from
        this member within `reinvite_after_days`. Both get the same answer, which says no more
        than "not now; they can start one with you": the starter cannot tell a recent decline
        (which they were told of anyway) from invitations being off, nor for how long."""
        off = await self.repo.invitations_off_since(tx, invitee.id) is not None
        wait = self.reinvite_wait
        declined = bool(wait) and await self.repo.declined_since(tx, ctx.member.id, invitee.id, ctx.now - wait)
        if off or declined:
            raise Refusal("agreement.start_not_now", name=invitee.label)

    async def invitations(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        """`agreement invitations [on|off]`: the member's own choice, shown when none is given."""
        setting = args.get("setting")
        async with self._db.transaction() as tx:
            off = await self.repo.invitations_off_since(tx, ctx.member.id) is not None
            if setting is None:
                return [Answer(ctx.t("agreement.invitations_are_off" if off else "agreement.invitations_are_on"))]
            if (setting == "off") == off:
                key = "agreement.invitations_already_off" if off else "agreement.invitations_already_on"
                return [Answer(ctx.t(key))]
            await self.repo.set_invitations(tx, ctx.member.id, setting == "off", ctx.now)
        return [Answer(ctx.t("agreement.invitations_turned_off" if setting == "off" else "agreement.invitations_turned_on"))]

    async def _on_invite(self, tx: Tx, ctx: Ctx, payload: dict[str, Any], yes: bool) -> list[Intent]:
        row = await self.repo.get(tx, int(payload.get("agreement", 0)))
        intents: list[Intent] = []
        if (
            row is None
            or row.community_id != ctx.community.id
            or ctx.member.id not in row.invited
            or row.status is Status.WITHDRAWN
        ):
            intents.append(Answer(ctx.t("agreement.invite_gone")))
        elif yes:
            intents.extend(await self._join(tx, ctx, row))
        else:
            intents.extend(await self._decline(tx, ctx, row))
            if row.started_by is not None and row.started_by != ctx.member.id:
                # Holds off the next invitation from the same person (`reinvite_after_days`).
                await self.repo.record_decline(tx, row.started_by, ctx.member.id, ctx.now)
        for queued in await self.repo.queued_invitations(tx, ctx.member.id):
            intents.append(await self._invite_prompt(tx, ctx, queued, ctx.member))
            break
        return intents

    async def _join(self, tx: Tx, ctx: Ctx, row: AgreementRow) -> list[Intent]:
        new = self._transition(state.join, row, ctx.member.id)
        await self.repo.join(tx, row.id, ctx.member.id, ctx.now)
        await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "joined")
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        others = [m for m in row.ordered_joined if m != ctx.member.id]
        ready = not new.invited
        key = "agreement.joined_notice_ready" if ready else "agreement.joined_notice"
        await self._notify(
            tx,
            ctx.community.id,
            others,
            lambda member: PrivateMessage(
                member.platform_user_id, ctx.t(key, name=ctx.member.label, id=row.short_id)
            ),
        )
        return [
            Answer(
                ctx.t(
                    "agreement.joined",
                    id=row.short_id,
                    names=self._names(labels, [m for m in row.ordered_ids if m != ctx.member.id]),
                )
            )
        ]

    async def _decline(self, tx: Tx, ctx: Ctx, row: AgreementRow) -> list[Intent]:
        new = self._transition(state.decline, row, ctx.member.id)
        await self.repo.remove_party(tx, row.id, ctx.member.id)
        await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "declined")
        closed = new.status is Status.WITHDRAWN
        if closed:
            await self._close(tx, ctx.now, row)
        key = "agreement.declined_notice_closed" if closed else "agreement.declined_notice"
        await self._notify(
            tx,
            ctx.community.id,
            row.ordered_joined,
            lambda member: PrivateMessage(member.platform_user_id, ctx.t(key, name=ctx.member.label, id=row.short_id)),
        )
        return [Answer(ctx.t("agreement.declined"))]

    async def _close(self, tx: Tx, now: datetime, row: AgreementRow) -> None:
        """Mark withdrawn and set the day its text is deleted (at once with no retention)."""
        purge_at = now + timedelta(days=self._settings.retention_days)
        await self.repo.update(
            tx,
            row.id,
            now,
            status=Status.WITHDRAWN,
            withdrawn_at=now.isoformat(),
            purge_after=purge_at.isoformat(),
            proposal_version=None,
            proposal_hash=None,
            proposed_by=None,
        )
        await self._dialogs.close_for(tx, "agreement", str(row.id))
        self._forget_due(row.id)
        if self._settings.retention_days == 0:
            await self.repo.purge(tx, row.id)
        else:
            self._due[f"purge:{row.id}"] = purge_at
            self._put_job()

    # -- editing -------------------------------------------------------------------------------

    def _split(self, args: dict[str, Any], locale: str) -> tuple[str | None, str | None, str | None]:
        """`agreement edit 3 my words` arrives as id="3": a section word is never an id. A long
        form (`agreement edit #K7M2Q what-matters my words`) is no command choice, so it arrives
        as the first word of the text."""
        ident, section, text = args.get("id"), args.get("section"), args.get("text")
        if ident is not None and self.section_step(ident, locale) is not None:
            text = " ".join(part for part in (section, text) if part) or None
            section, ident = ident, None
        if ident is not None and normalise_short_id(ident) is None:
            if ident.startswith("#"):
                # Written as an id ("#1"), so it is about an agreement, not a section.
                raise Refusal("agreement.no_such")
            raise Refusal("agreement.unknown_section", given=ident[:40], sections=self._section_names(locale))
        if section is None and text:
            first, _, rest = text.partition(" ")
            # Not before a mention: `amend #K7M2Q what-matters @sam ...` would turn a note into
            # the member's own answer (only the parser resolves mentions); it gets "which section?".
            if self.section_step(first, locale) is not None and not rest.lstrip().startswith(("@", "<@")):
                section, text = first, rest.strip() or None
        return ident, section, text

    def _section_names(self, locale: str) -> str:
        return ", ".join(s.key for s in self.sections(locale))

    async def edit(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        return await self._edit(ctx, args, None)

    async def amend(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        return await self._edit(ctx, args, args.get("member"))

    async def _edit(self, ctx: Ctx, args: dict[str, Any], about_user: str | None) -> list[Intent]:
        ident, section, text = self._split(args, ctx.locale)
        step = self.section_step(section, ctx.locale)
        if section is not None and step is None:
            raise Refusal("agreement.unknown_section", given=section[:40], sections=self._section_names(ctx.locale))
        async with self._db.transaction() as tx:
            row = await self._resolve(tx, ctx, ident, "agreement edit")
            if about_user is not None:
                about = await self._members.find(tx, ctx.community.id, about_user)
                if about is None or about.id not in row.joined or about.id == ctx.member.id:
                    raise Refusal("agreement.note_not_party")
                if step is None or step == DATE_STEP:
                    raise Refusal("agreement.note_needs_section")
                step = f"{step}@{about.id}"
            self._check_editable(row)
            if text is None:
                steps = [step] if step is not None else list(ALL_STEPS)
                return await self._start_editing(tx, ctx, row, steps)
            if step is None:
                raise Refusal("agreement.section_needed", id=row.short_id)
            value = self._value(ctx, step, text)
            intents = await self._apply_changes(tx, ctx, row, {step: value})
        # Typed in a shared channel, the words were visible there; say so, gently.
        intents += await self._typed_lines.note(ctx, "agreement.typed_in_channel")
        return intents

    def _check_editable(self, row: AgreementRow) -> None:
        if row.status is Status.WITHDRAWN:
            raise Refusal("agreement.refused_withdrawn", id=row.short_id)
        if row.status is Status.AGREED:
            raise Refusal("agreement.refused_is_agreed", id=row.short_id)

    async def _start_editing(self, tx: Tx, ctx: Ctx, row: AgreementRow, steps: list[str]) -> list[Intent]:
        if traits_of(ctx.invocation.community.platform).has_forms:
            if len(steps) <= MAX_FORM_FIELDS:
                return [await self._form(tx, ctx, row, steps)]
            return [await self._form_buttons(ctx, row)]
        intro = ctx.t(
            "agreement.dialog_intro" if ctx.invocation.private else "agreement.dialog_intro_channel",
            id=row.short_id,
        )
        return await self._dialogs.open(tx, ctx, "agreement", str(row.id), steps, intro=intro, data={"stash": {}})

    async def _apply_changes(
        self, tx: Tx, ctx: Ctx, row: AgreementRow, changes: dict[str, str | None], *, quiet_same: bool = False
    ) -> list[Intent]:
        """Save a party's changes. With a version out for acceptance they form one amendment:
        a new version, sent to the others, which counts as its author's acceptance."""
        me = ctx.member.id
        after = row.draft
        for step, value in changes.items():
            after = set_step(after, me, step, value)
        before_hash, after_hash = row.draft_hash(), content_hash(after, row.joined)
        if quiet_same and before_hash == after_hash:
            return []
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        self._transition(state.change, row, me, before_hash, after_hash, labels=labels)
        await self.repo.save_draft(tx, row.id, after)
        titles = ", ".join(self._step_title(ctx, step, labels) for step in changes)
        if row.proposal_hash is None:
            hint = "agreement.saved_hint_revisiting" if row.status is Status.REVISITING else "agreement.saved_hint"
            return [Answer(ctx.t("agreement.saved", id=row.short_id, sections=titles) + "\n" + ctx.t(hint, id=row.short_id))]
        previous = await self.repo.version(tx, row.id, row.proposal_version or 0)
        number = await self.repo.add_version(tx, row.id, after, after_hash, me, ctx.now)
        await self.repo.event(
            tx, row.id, ctx.now, me, "amended", number, diff(previous.content if previous else empty_content(), after)
        )
        await self.repo.update(tx, row.id, ctx.now, proposal_version=number, proposal_hash=after_hash, proposed_by=me)
        await self.repo.accept(tx, row.id, me, number, after_hash, ctx.now)
        others = [m for m in row.ordered_joined if m != me]
        await self._send_version(tx, ctx, row, number, after, after_hash, labels, "agreement.amended_notice")
        return [
            Answer(
                ctx.t(
                    "agreement.amended",
                    id=row.short_id,
                    version=number,
                    sections=titles,
                    waiting=self._names(labels, others),
                )
            )
        ]

    async def _send_version(
        self,
        tx: Tx,
        ctx: Ctx,
        row: AgreementRow,
        number: int,
        content: dict[str, Any],
        digest: str,
        labels: dict[int, str],
        key: str,
    ) -> None:
        body = self.render_content(ctx, content, row.ordered_joined, labels, row.short_id)
        head = ctx.t(key, name=ctx.member.label, id=row.short_id, version=number)
        hint = ctx.t("agreement.respond_hint", id=row.short_id, version=number)
        sid, short_hash = row.short_id, digest[:8]
        buttons = (
            (f"agreement:accept:{sid}:{short_hash}", ctx.t("agreement.button_accept")),
            (f"agreement:amend:{sid}:{short_hash}", ctx.t("agreement.button_amend")),
            (f"agreement:withdraw:{sid}", ctx.t("agreement.button_withdraw")),
        )
        await self._notify(
            tx,
            ctx.community.id,
            [m for m in row.ordered_joined if m != ctx.member.id],
            lambda member: ActionButtons(member.platform_user_id, f"{head}\n\n{body}\n\n{hint}", buttons),
        )

    # -- dialogs (the console and Matrix) ------------------------------------------------------

    async def _dialog_row(self, tx: Tx, ctx: Ctx, dialog: Dialog) -> AgreementRow | None:
        row = await self.repo.get(tx, int(dialog.ref))
        if row is None or row.community_id != ctx.community.id or ctx.member.id not in row.joined:
            return None
        return row

    async def dialog_live(self, tx: Tx, ctx: Ctx, dialog: Dialog) -> bool:
        row = await self._dialog_row(tx, ctx, dialog)
        return row is not None and row.status is not Status.WITHDRAWN

    async def dialog_prompt(self, tx: Tx, ctx: Ctx, dialog: Dialog) -> str:
        row = await self._dialog_row(tx, ctx, dialog)
        assert row is not None
        step = dialog.step
        stash = dialog.data.get("stash", {})
        current = stash[step] if step in stash else get_step(row.draft, ctx.member.id, step)
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        extra = "" if step == DATE_STEP else await self._step_extra(ctx, step)
        return ctx.t(
            "agreement.dialog_step",
            position=dialog.position + 1,
            total=len(dialog.steps),
            title=self._step_title(ctx, step, labels),
            question=self._step_question(ctx, step) + (f"\n{extra}" if extra else ""),
            current=self._indent(current) if current else ctx.t("agreement.dialog_no_answer"),
        )

    async def dialog_answer(self, tx: Tx, ctx: Ctx, dialog: Dialog, text: str) -> list[Intent]:
        row = await self._dialog_row(tx, ctx, dialog)
        assert row is not None
        if row.status is Status.AGREED:
            raise Refusal("agreement.refused_is_agreed", id=row.short_id)
        value = self._value(ctx, dialog.step, text)
        if row.proposal_hash is not None:
            # A version is out for acceptance: gather the answers into one amendment at the end.
            dialog.data.setdefault("stash", {})[dialog.step] = value
            return []
        # Saved at once; the next step's question is all the member needs to see.
        await self._apply_changes(tx, ctx, row, {dialog.step: value}, quiet_same=True)
        return []

    async def dialog_finish(self, tx: Tx, ctx: Ctx, dialog: Dialog, reason: str) -> list[Intent]:
        row = await self._dialog_row(tx, ctx, dialog)
        assert row is not None
        stash: dict[str, str | None] = dialog.data.get("stash", {})
        prefix = ctx.t("agreement.dialog_expired") + "\n" if reason == "expired" else ""
        if reason == "replaced":
            prefix = ctx.t("agreement.dialog_replaced", id=row.short_id) + "\n"
        if stash:
            if row.status is Status.AGREED:
                labels = await self._labels(tx, ctx.locale, row.ordered_ids)
                kept = "\n".join(
                    ctx.t("agreement.kept_line", title=self._step_title(ctx, s, labels), text=v or "-")
                    for s, v in stash.items()
                )
                return [Answer(prefix + ctx.t("agreement.dialog_too_late", id=row.short_id) + "\n" + kept)]
            changed = await self._apply_changes(tx, ctx, row, stash, quiet_same=True)
            if changed:
                return [Answer(prefix + "\n".join(i.text for i in changed if isinstance(i, Answer)))]
            return [Answer(prefix + ctx.t("agreement.dialog_nothing_changed", id=row.short_id))]
        key = "agreement.dialog_done_revisiting" if row.status is Status.REVISITING else "agreement.dialog_done"
        if row.proposal_hash is not None:
            key = "agreement.dialog_nothing_changed"
        return [Answer(prefix + ctx.t(key, id=row.short_id))]

    # -- forms and buttons (Discord) -----------------------------------------------------------

    def _allowed_steps(self, row: AgreementRow, member_id: int) -> set[str]:
        allowed = set(ALL_STEPS)
        for other in row.joined - {member_id}:
            allowed.update(f"{step}@{other}" for step in SECTION_STEPS)
        return allowed

    async def _form(self, tx: Tx, ctx: Ctx, row: AgreementRow, steps: list[str]) -> FormRequest:
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        traits = traits_of(ctx.invocation.community.platform)
        fields = tuple(
            FormField(
                key=step,
                label=traits.label(self._step_title(ctx, step, labels)),
                max_length=10 if step == DATE_STEP else self._settings.max_section_length,
                required=False,
                value=get_step(row.draft, ctx.member.id, step) or "",
                multiline=step != DATE_STEP,
            )
            for step in steps
        )
        return FormRequest(
            user_id=ctx.invocation.actor.user_id,
            form_id=f"agreement:edit:{row.short_id}:{'.'.join(steps)}",
            title=traits.label(ctx.t("agreement.form_title", id=row.short_id)),
            fields=fields,
            text=ctx.t("agreement.form_text", id=row.short_id),
        )

    async def _form_buttons(self, ctx: Ctx, row: AgreementRow) -> ActionButtons:
        buttons = tuple(
            (f"agreement:form:{row.short_id}:{'.'.join(part)}", ctx.t(f"agreement.form_part_{index}"))
            for index, part in enumerate(FORM_PARTS, start=1)
        )
        # A form shows only a label per section, so what sections 4 and 12 show with their
        # questions (the space's resources, its duty-of-care statement) comes with the choice.
        lines = [ctx.t("agreement.form_choose", id=row.short_id)]
        for step in (RESOURCES_STEP, DUTY_STEP):
            extra = await self._step_extra(ctx, step)
            if extra:
                lines.extend(["", ctx.t("agreement.form_extra", title=self._step_title(ctx, step)), extra])
        return ActionButtons(ctx.invocation.actor.user_id, "\n".join(lines), buttons)

    async def _by_short(self, tx: Tx, ctx: Ctx, short_id: str) -> AgreementRow:
        return await self._resolve(tx, ctx, short_id or "-", "agreement view")

    async def submit_form(self, ctx: Ctx, form_id: str, values: dict[str, str]) -> list[Intent]:
        parts = form_id.split(":")
        if len(parts) != 4 or parts[1] != "edit":
            raise Refusal("agreement.no_such")
        steps = parts[3].split(".")
        async with self._db.transaction() as tx:
            row = await self._by_short(tx, ctx, parts[2])
            if not set(steps) <= self._allowed_steps(row, ctx.member.id) or not set(values) <= set(steps):
                raise Refusal("agreement.no_such")
            self._check_editable(row)
            changes: dict[str, str | None] = {}
            for step in steps:
                if step not in values:
                    continue
                value = self._value(ctx, step, values[step] or "")
                if value != get_step(row.draft, ctx.member.id, step):
                    changes[step] = value
            if not changes:
                return [Answer(ctx.t("agreement.form_nothing_changed", id=row.short_id))]
            return await self._apply_changes(tx, ctx, row, changes)

    async def press_button(self, ctx: Ctx, custom_id: str) -> list[Intent]:
        parts = custom_id.split(":")
        action = parts[1] if len(parts) > 1 else ""
        short_id = parts[2] if len(parts) > 2 else ""
        extra = parts[3] if len(parts) > 3 else ""
        if len(parts) > 4 or action not in ("accept", "amend", "withdraw", "form", "revisit"):
            raise Refusal("agreement.no_such")
        async with self._db.transaction() as tx:
            row = await self._by_short(tx, ctx, short_id)
            if action == "revisit":
                # Like `agreement revisit`: the state decides (already revisiting, withdrawn...).
                if extra:
                    raise Refusal("agreement.no_such")
                return await self._revisit(tx, ctx, row)
            if action in ("accept", "amend"):
                # The button belongs to one version: an old or copied one does nothing.
                if row.proposal_hash is None or len(extra) != 8 or not row.proposal_hash.startswith(extra):
                    raise Refusal("agreement.no_such")
                if action == "accept":
                    return await self._accept(tx, ctx, row, seen=row.proposal_hash)
                return [await self._form_buttons(ctx, row)] if traits_of(ctx.invocation.community.platform).has_forms else (
                    await self._start_editing(tx, ctx, row, list(ALL_STEPS))
                )
            if action == "withdraw":
                if extra or row.status is Status.WITHDRAWN:
                    raise Refusal("agreement.no_such")
                return [
                    await self._confirmations.request(
                        tx,
                        ctx.community.id,
                        ctx.member.id,
                        ctx.member.platform_user_id,
                        WITHDRAW_ACTION,
                        {"agreement": row.id},
                        ctx.t(
                            "agreement.withdraw_confirm",
                            id=row.short_id,
                            minutes=self._confirmations.fresh_minutes,
                        ),
                        ctx.t("agreement.withdraw_yes"),
                        ctx.t("agreement.withdraw_no"),
                    )
                ]
            steps = extra.split(".") if extra else []
            if not steps or len(steps) > MAX_FORM_FIELDS or not set(steps) <= self._allowed_steps(row, ctx.member.id):
                raise Refusal("agreement.no_such")
            self._check_editable(row)
            return [await self._form(tx, ctx, row, steps)]

    async def _on_withdraw_confirmed(self, tx: Tx, ctx: Ctx, payload: dict[str, Any], yes: bool) -> list[Intent]:
        row = await self.repo.get(tx, int(payload.get("agreement", 0)))
        if (
            row is None
            or row.community_id != ctx.community.id
            or ctx.member.id not in row.joined
            or row.status is Status.WITHDRAWN
        ):
            # Answered, so the question is used up either way; nothing else happens.
            return [Answer(ctx.t("agreement.no_such"))]
        if not yes:
            return [Answer(ctx.t("agreement.withdraw_kept", id=row.short_id))]
        return await self._withdraw(tx, ctx, row)

    # -- propose, accept, revisit, withdraw ----------------------------------------------------

    async def propose(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self._db.transaction() as tx:
            row = await self._resolve(tx, ctx, args.get("id"), "agreement propose")
            labels = await self._labels(tx, ctx.locale, row.ordered_ids)
            digest = row.draft_hash()
            new = self._transition(state.propose, row, ctx.member.id, digest, is_empty(row.draft), labels=labels)
            versions = await self.repo.versions(tx, row.id)
            previous = versions[-1].content if versions else empty_content()
            number = await self.repo.add_version(tx, row.id, row.draft, digest, ctx.member.id, ctx.now)
            await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "proposed", number, diff(previous, row.draft))
            await self.repo.update(
                tx,
                row.id,
                ctx.now,
                status=new.status,
                proposal_version=number,
                proposal_hash=digest,
                proposed_by=ctx.member.id,
            )
            await self.repo.accept(tx, row.id, ctx.member.id, number, digest, ctx.now)
            await self._send_version(tx, ctx, row, number, row.draft, digest, labels, "agreement.proposed_notice")
        others = [m for m in row.ordered_joined if m != ctx.member.id]
        return [Answer(ctx.t("agreement.proposed", id=row.short_id, version=number, names=self._names(labels, others)))]

    def _split_version(self, args: dict[str, Any]) -> tuple[str | None, str | None]:
        """(agreement id, version word). `agreement accept v2` arrives as id="v2": a version is
        never an agreement id (ids are five characters; an all-digit one stays an id), so the words
        are put where they belong, in either order."""
        ident, version = args.get("id"), args.get("version")
        moved = ident is not None and _VERSION.match(ident) and normalise_short_id(ident) is None
        if moved and (version is None or normalise_short_id(version)):
            ident, version = version, ident
        return ident, version

    async def accept(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        ident, version = self._split_version(args)
        async with self._db.transaction() as tx:
            row = await self._resolve(tx, ctx, ident, "agreement accept")
            labels = await self._labels(tx, ctx.locale, row.ordered_ids)
            # Whatever the version says, a step the state refuses (nothing proposed, withdrawn,
            # already accepted) gets that answer first. Only a check: nothing is stored here.
            self._transition(state.accept, row, ctx.member.id, None, labels=labels)
            assert row.proposal_version is not None and row.proposal_hash is not None
            match = _VERSION.match(version) if version is not None else None
            if version is not None and match is None:
                raise Refusal(
                    "agreement.bad_version",
                    given=version[:24],
                    id=row.short_id,
                    version=row.proposal_version,
                )
            seen = int(match.group(1)) if match is not None else None
            if seen != row.proposal_version:
                # Not the version out for acceptance (or none named): accept nothing, and show
                # that version with the command that accepts it.
                proposal = await self.repo.version(tx, row.id, row.proposal_version)
                assert proposal is not None
                changed = seen is not None and 0 < seen < row.proposal_version
                raise Refusal(
                    "agreement.accept_changed" if changed else "agreement.accept_which",
                    id=row.short_id,
                    version=row.proposal_version,
                    seen=seen or "",
                    name=labels.get(row.proposed_by or 0, "?"),
                    content=self.render_content(ctx, proposal.content, row.ordered_joined, labels, row.short_id),
                )
            return await self._accept(tx, ctx, row, seen=row.proposal_hash)

    async def _accept(self, tx: Tx, ctx: Ctx, row: AgreementRow, seen: str | None = None) -> list[Intent]:
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        new = self._transition(state.accept, row, ctx.member.id, seen, labels=labels)
        number, digest = row.proposal_version, row.proposal_hash
        assert number is not None and digest is not None
        await self.repo.accept(tx, row.id, ctx.member.id, number, digest, ctx.now)
        await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "accepted", number)
        others = [m for m in row.ordered_joined if m != ctx.member.id]
        if new.status is Status.AGREED:
            version = await self.repo.version(tx, row.id, number)
            review = version.content.get("review_date") if version else None
            await self.repo.update(
                tx,
                row.id,
                ctx.now,
                status=Status.AGREED,
                in_force_version=number,
                in_force_hash=digest,
                review_date=review,
                proposal_version=None,
                proposal_hash=None,
                proposed_by=None,
            )
            await self.repo.event(tx, row.id, ctx.now, None, "agreed", number)
            await self._notify(
                tx,
                ctx.community.id,
                others,
                lambda member: PrivateMessage(
                    member.platform_user_id,
                    ctx.t("agreement.agreed_notice", name=ctx.member.label, id=row.short_id, version=number),
                ),
            )
            self._due_review(row.id, review, ctx.community.timezone)
            return [Answer(ctx.t("agreement.agreed", id=row.short_id, version=number))]
        waiting = [m for m in row.ordered_joined if m not in new.accepted]
        await self._notify(
            tx,
            ctx.community.id,
            others,
            lambda member: PrivateMessage(
                member.platform_user_id,
                ctx.t("agreement.accepted_notice", name=ctx.member.label, id=row.short_id, version=number),
            ),
        )
        return [
            Answer(
                ctx.t("agreement.accepted", id=row.short_id, version=number, waiting=self._names(labels, waiting))
            )
        ]

    async def revisit(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self._db.transaction() as tx:
            row = await self._resolve(tx, ctx, args.get("id"), "agreement revisit")
            intents = await self._revisit(tx, ctx, row)
        return intents

    async def _revisit(self, tx: Tx, ctx: Ctx, row: AgreementRow) -> list[Intent]:
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        new = self._transition(state.revisit, row, ctx.member.id, labels=labels)
        await self.repo.update(tx, row.id, ctx.now, status=new.status)
        await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "revisit", row.in_force_version)
        others = [m for m in row.ordered_joined if m != ctx.member.id]
        await self._notify(
            tx,
            ctx.community.id,
            others,
            lambda member: PrivateMessage(
                member.platform_user_id,
                ctx.t("agreement.revisit_notice", name=ctx.member.label, id=row.short_id, version=row.in_force_version),
            ),
        )
        return [Answer(ctx.t("agreement.revisiting", id=row.short_id, version=row.in_force_version))]

    async def withdraw(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self._db.transaction() as tx:
            row = await self._resolve(tx, ctx, args.get("id"), "agreement withdraw")
            return await self._withdraw(tx, ctx, row)

    async def _withdraw(self, tx: Tx, ctx: Ctx, row: AgreementRow, *, erase_now: bool = False) -> list[Intent]:
        self._transition(state.withdraw, row, ctx.member.id)
        await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "withdrawn")
        await self._close(tx, ctx.now, row)
        # `mydata forget` deletes the agreement at once, so the notice must not promise 30 days.
        days = 0 if erase_now else self._settings.retention_days
        others = [m for m in row.ordered_joined if m != ctx.member.id]
        await self._notify(
            tx,
            ctx.community.id,
            others,
            lambda member: PrivateMessage(
                member.platform_user_id,
                ctx.t(
                    "agreement.withdrawn_notice" if days else "agreement.withdrawn_notice_now",
                    name=ctx.member.label,
                    id=row.short_id,
                    days=days,
                ),
            ),
        )
        return [Answer(ctx.t("agreement.withdrawn" if days else "agreement.withdrawn_now", id=row.short_id, days=days))]

    # -- reading -------------------------------------------------------------------------------

    async def view(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self._db.transaction() as tx:
            row = await self._resolve(tx, ctx, args.get("id"), "agreement view")
            return [Answer(await self._view_text(tx, ctx, row))]

    async def _view_text(self, tx: Tx, ctx: Ctx, row: AgreementRow) -> str:
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        order = row.ordered_joined
        lines = [
            ctx.t(
                "agreement.view_head",
                id=row.short_id,
                names=self._names(labels, row.ordered_ids),
                status=ctx.t(f"agreement.status_{row.status.value}"),
            )
        ]
        if row.invited:
            lines.append(ctx.t("agreement.view_invited", names=self._names(labels, [m for m in row.ordered_ids if m in row.invited])))
        if row.status is Status.WITHDRAWN:
            version = await self.repo.version(tx, row.id, row.in_force_version) if row.in_force_version else None
            lines.append(
                ctx.t(
                    "agreement.view_withdrawn",
                    when=self._day(ctx, row.withdrawn_at or ctx.now.isoformat()),
                    purge=self._day(ctx, row.purge_after or ctx.now.isoformat()),
                )
            )
            lines.append(self.render_content(ctx, version.content if version else row.draft, order, labels))
            return "\n".join(lines)
        if row.status is Status.REVISITING and row.in_force_version:
            in_force = await self.repo.version(tx, row.id, row.in_force_version)
            assert in_force is not None
            lines.append("")
            lines.append(ctx.t("agreement.view_in_force", version=row.in_force_version, when=self._when(ctx, in_force.created_at)))
            lines.append(self.render_content(ctx, in_force.content, order, labels))
            lines.append("")
            lines.append(ctx.t("agreement.view_negotiating"))
        if row.proposal_version is not None:
            waiting = [m for m in order if m not in row.accepted]
            lines.append(
                ctx.t(
                    "agreement.view_proposal",
                    version=row.proposal_version,
                    name=labels.get(row.proposed_by or 0, "?"),
                    accepted=self._names(labels, [m for m in order if m in row.accepted]),
                    waiting=self._names(labels, waiting),
                )
            )
            lines.append(self.render_content(ctx, row.draft, order, labels, row.short_id))
            lines.append(ctx.t("agreement.view_hint_proposed", id=row.short_id, version=row.proposal_version))
        elif row.status is Status.AGREED:
            version = await self.repo.version(tx, row.id, row.in_force_version or 0)
            assert version is not None
            lines.append(ctx.t("agreement.view_agreed", version=version.number, when=self._when(ctx, version.created_at)))
            lines.append(self.render_content(ctx, version.content, order, labels))
            lines.append(ctx.t("agreement.view_hint_agreed", id=row.short_id))
        else:
            lines.append(ctx.t("agreement.view_draft"))
            lines.append(self.render_content(ctx, row.draft, order, labels, row.short_id))
            lines.append(ctx.t("agreement.view_hint_draft", id=row.short_id))
        return "\n".join(lines)

    async def history(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self._db.transaction() as tx:
            row = await self._resolve(tx, ctx, args.get("id"), "agreement history")
            events = await self.repo.events(tx, row.id)
            ids = {e.member_id for e in events if e.member_id is not None} | set(row.ordered_ids)
            for event in events:
                ids.update(int(m) for m in event.detail.get("answers", {}))
                for author, about, _ in event.detail.get("notes", []):
                    ids.update((author, about))
            labels = await self._labels(tx, ctx.locale, ids)
        lines = [ctx.t("agreement.history_head", id=row.short_id)]
        for event in events:
            lines.append(
                ctx.t(
                    f"agreement.history_{event.kind}",
                    when=self._when(ctx, event.at),
                    name=labels.get(event.member_id or 0, "?"),
                    version=event.version or "",
                    changes=self._describe_detail(ctx, event.detail, labels),
                )
            )
        return [Answer("\n".join(lines))]

    # -- review dates, reminders and deletion (the Timeline job) --------------------------------

    async def start(self) -> None:
        rows = await self._db.fetchall(
            "SELECT id FROM agreements WHERE status = 'withdrawn'"
            " OR (status IN ('agreed', 'revisiting') AND review_date IS NOT NULL)"
        )
        for row in rows:
            await self._schedule(row[0], put=False)
        self._put_job()
        await self.run_due(self._clock.now())

    def _put_job(self) -> None:
        self._timeline.put(Job(key=JOB_KEY, next_fire=self._next_fire, run=self.run_due))

    def _next_fire(self, after: datetime) -> datetime | None:
        upcoming = [at for at in self._due.values() if at > after]
        return min(upcoming) if upcoming else None

    def _forget_due(self, agreement_id: int) -> None:
        for kind in ("review", "purge"):
            self._due.pop(f"{kind}:{agreement_id}", None)

    def _due_review(self, agreement_id: int, review: str | None, timezone: str) -> None:
        """Cache the reminder for a review date. Set from inside a transaction: if that rolls
        back the job finds nothing to do, because it re-reads storage before acting."""
        self._due.pop(f"review:{agreement_id}", None)
        if review:
            at = datetime.combine(date.fromisoformat(review), REVIEW_HOUR, ZoneInfo(timezone))
            try:
                self._due[f"review:{agreement_id}"] = at.astimezone(UTC)
            except OverflowError:  # a far date stored before dates were bounded: never due
                pass
        self._put_job()

    async def _schedule(self, agreement_id: int, *, put: bool = True) -> None:
        """Refresh the job's cache for one agreement from storage (after a change commits)."""
        self._forget_due(agreement_id)
        row = await self._db.fetchone(
            "SELECT a.status, a.review_date, a.purge_after, c.timezone FROM agreements a"
            " JOIN communities c ON c.id = a.community_id WHERE a.id = ?",
            (agreement_id,),
        )
        if row is not None:
            status, review, purge_after, timezone = row
            if status in ("agreed", "revisiting") and review:
                reminded = await self._db.fetchone(
                    "SELECT 1 FROM agreement_reminders WHERE slot_key = ?", (f"review:{agreement_id}:{review}",)
                )
                if reminded is None:
                    at = datetime.combine(date.fromisoformat(review), REVIEW_HOUR, ZoneInfo(timezone))
                    self._due[f"review:{agreement_id}"] = at.astimezone(UTC)
            if status == "withdrawn" and purge_after:
                self._due[f"purge:{agreement_id}"] = datetime.fromisoformat(purge_after)
        if put:
            self._put_job()

    async def run_due(self, instant: datetime) -> None:
        now = max(instant, self._clock.now())
        for key, at in sorted(self._due.items(), key=lambda item: item[1]):
            if at > now:
                continue
            kind, _, ident = key.partition(":")
            try:
                if kind == "review":
                    await self._remind(int(ident), now)
                else:
                    await self._purge_due(int(ident), now)
            except Exception:
                log.exception("agreement job %s failed", kind)
            self._due.pop(key, None)
        self._put_job()

    async def _remind(self, agreement_id: int, now: datetime) -> None:
        async with self._db.transaction() as tx:
            row = await self.repo.get(tx, agreement_id)
            if row is None or row.status not in (Status.AGREED, Status.REVISITING) or not row.review_date:
                return
            if not await self.repo.claim_reminder(tx, f"review:{agreement_id}:{row.review_date}", agreement_id, now):
                return
            community = await self._communities.get(tx, row.community_id)
            assert community is not None
            prefix = prefix_for(community.platform)
            labels = await self._labels(tx, community.locale, row.ordered_ids)
            await self.repo.event(tx, row.id, now, None, "review_reminder", row.in_force_version)
            for member_id in row.ordered_joined:
                await self.repo.open_checkin(tx, row.id, member_id, "review", now)
                others = self._names(labels, [m for m in row.ordered_joined if m != member_id])
                member = await self._members.get(tx, member_id)
                if member is None:
                    continue
                text = self._catalog.text(
                    community.locale, "agreement.review_reminder", prefix=prefix, id=row.short_id, names=others
                )
                button = self._revisit_button(community.locale, row.short_id)
                await self._outbox.add(tx, community.id, ActionButtons(member.platform_user_id, text, button))

    async def _purge_due(self, agreement_id: int, now: datetime) -> None:
        async with self._db.transaction() as tx:
            row = await self.repo.get(tx, agreement_id)
            if row is None or row.status is not Status.WITHDRAWN or (row.purge_after or "") > now.isoformat():
                return
            await self.repo.purge(tx, agreement_id)

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        """For `mydata forget`: every agreement the member is in is withdrawn (the others get the
        usual neutral notice) and deleted at once; invitations to them are declined."""
        for row in await self.repo.for_member(tx, ctx.member.id, joined_only=False, include_withdrawn=True):
            if ctx.member.id in row.invited:
                if row.status is not Status.WITHDRAWN:
                    await self._decline(tx, ctx, row)
                continue
            if row.status is not Status.WITHDRAWN:
                await self._withdraw(tx, ctx, row, erase_now=True)
            await self.repo.purge(tx, row.id)
            self._forget_due(row.id)

    # -- the agreement check-in ("how is our agreement working for you now?") -------------------

    def _revisit_button(self, locale: str, short_id: str) -> tuple[tuple[str, str], ...]:
        """The button that starts revisiting (Discord); text platforms show the command, which the
        message beside it names."""
        return ((REVISIT_BUTTON.format(id=short_id), self._catalog.text(locale, "agreement.button_revisit")),)

    async def open_checkin(self, ctx: Ctx, *, asked_only: bool = False) -> OpenCheckin | None:
        pending = await self.repo.pending_checkin(self._db, ctx.member.id)
        opened_at = ""
        if pending is not None:
            checkin_id, agreement_id, opened_at = pending
        elif asked_only:
            # Nothing was asked: a plain line in private is not an answer to a question never sent.
            return None
        else:
            # On request: any agreed agreement of theirs can be checked in on.
            # An answered check-in is done: one the member has answered on this version is not
            # offered again (`agreement revisit` is there whenever they want more).
            agreed = [
                a
                for a in await self.repo.for_member(self._db, ctx.member.id)
                if a.status is Status.AGREED
                and not await self.repo.checked_in_since(self._db, a.id, ctx.member.id, a.in_force_version)
            ]
            if not agreed:
                return None
            agreement_id, checkin_id = agreed[0].id, -agreed[0].id
        row = await self.repo.get(self._db, agreement_id)
        if row is None or row.community_id != ctx.community.id:
            return None
        labels = await self._labels(self._db, ctx.locale, row.ordered_ids)
        others = self._names(labels, [m for m in row.ordered_joined if m != ctx.member.id])
        return OpenCheckin(
            self.name, checkin_id, ctx.t("agreement.checkin_question", id=row.short_id, names=others), opened_at
        )

    async def answer_checkin(self, ctx: Ctx, checkin_id: int, answer: str | None) -> list[Intent]:
        async with self._db.transaction() as tx:
            if checkin_id > 0:
                agreement_id = await self.repo.checkin(tx, checkin_id, ctx.member.id)
            else:
                agreement_id = -checkin_id
            row = await self.repo.get(tx, agreement_id) if agreement_id else None
            if (
                row is None
                or row.community_id != ctx.community.id
                or ctx.member.id not in row.joined
                or row.status not in (Status.AGREED, Status.REVISITING)
            ):
                raise Refusal("agreement.checkin_none")
            if answer is None:
                labels = await self._labels(tx, ctx.locale, row.ordered_ids)
                others = self._names(labels, [m for m in row.ordered_joined if m != ctx.member.id])
                return [Answer(ctx.t("agreement.checkin_question", id=row.short_id, names=others))]
            if checkin_id > 0:
                await self.repo.answer_checkin(tx, checkin_id, ctx.now)
            # An open question: the answer is its author's. Nothing of it is kept; only that they
            # checked in. With `share` in front, it goes to the others in the agreement, privately.
            text = answer.strip()
            share = text.lower() == SHARE_WORD or text.lower().startswith(SHARE_WORD + " ")
            if share:
                text = text[len(SHARE_WORD) :].strip()
                if not text:
                    raise Refusal("agreement.checkin_share_needs_answer")
                if _bad_characters(text):
                    raise Refusal("agreement.bad_characters")
                limit = self._settings.max_section_length
                if len(text) > limit:
                    raise Refusal("agreement.too_long", max=limit, given_length=len(text))
            labels = await self._labels(tx, ctx.locale, row.ordered_ids)
            others = [m for m in row.ordered_joined if m != ctx.member.id]
            await self.repo.event(tx, row.id, ctx.now, ctx.member.id, "checked_in", row.in_force_version)
            if share:
                await self._notify(
                    tx,
                    ctx.community.id,
                    others,
                    lambda member: PrivateMessage(
                        member.platform_user_id,
                        ctx.t("agreement.checkin_shared_notice", name=ctx.member.label, id=row.short_id, answer=quote(text)),
                    ),
                )
            key = "agreement.checkin_thanks_shared" if share else "agreement.checkin_thanks"
            if row.status is Status.REVISITING:
                key += "_revisiting"
            reply = ctx.t(key, id=row.short_id, names=self._names(labels, others))
            if row.status is Status.REVISITING or not traits_of(ctx.invocation.community.platform).has_forms:
                return [Answer(reply)]  # text platforms: the reply names the command
            return [ActionButtons(ctx.invocation.actor.user_id, reply, self._revisit_button(ctx.locale, row.short_id))]
