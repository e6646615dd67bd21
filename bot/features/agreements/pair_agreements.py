"""Pair agreements: two or three peers negotiate, agree, revisit and withdraw an agreement about
how they want to be with each other when things get hard.

Only the parties can read an agreement or change its state. Anyone else (facilitators included)
gets exactly the answer they would get for an id that does not exist. Every word of an agreement
is encrypted at rest; its history records who changed which section when, never the text.

This module holds what the parts of `PairAgreements` (`pair.py`) share: constants, section
parsing, `PairDeps` (their dependencies, one value) and `PairPart` (their small helpers).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import AgreementSettings
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.agreements import state
from bot.features.agreements.commands import DATE_KEY, SECTIONS
from bot.features.agreements.content import (
    DATE_STEP,
    parse_step,
)
from bot.features.agreements.repo import AgreementRepo, AgreementRow, normalise_short_id
from bot.features.agreements.state import PairState, Refused
from bot.features.dialogs import MAX_FORM_FIELDS, Dialogs
from bot.features.resources import ResourcesFeature
from bot.services import Services
from bot.storage.communities import Community
from bot.storage.db import Tx
from bot.traits import traits_of

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


@dataclass(frozen=True)
class PairDeps:
    """What every part of the pair agreements needs, built once and shared: the services every
    feature shares, and the pair agreements' own."""

    services: Services
    dialogs: Dialogs
    repo: AgreementRepo
    # Section 4 shows the space's resources and section 12 its duty-of-care statement.
    resources: ResourcesFeature

    @property
    def settings(self) -> AgreementSettings:
        return self.services.settings.agreements


class PairPart:
    """What the parts of `PairAgreements` share: their dependencies and the small helpers they
    all use (section titles, labels, dates, state transitions, finding an agreement)."""

    def __init__(self, deps: PairDeps) -> None:
        self.deps = deps

    @property
    def repo(self) -> AgreementRepo:
        return self.deps.repo

    @property
    def reinvite_wait(self) -> timedelta:
        """How long a declined invitation holds off the next one from the same person."""
        return timedelta(days=self.deps.settings.reinvite_after_days)

    def sections(self, locale: str) -> list[SectionText]:
        data = self.deps.services.catalog.data(locale, "agreement")
        return [SectionText(s["number"], s["key"], s["title"], s["question"]) for s in data.get("section", [])]

    def _section(self, locale: str, step: str) -> SectionText:
        section, _ = parse_step(step)
        return next(s for s in self.sections(locale) if s.slot == section)

    def section_step(self, token: str | None, locale: str) -> str | None:
        return section_step(token, {s.key: s.title for s in self.sections(locale)})

    def _duty_line(self, ctx: Ctx) -> str:
        """The space's duty-of-care statement, word for word, as section 12 shows it."""
        return ctx.t(
            "agreement.duty_line", text=self.deps.resources.duty_text(ctx), version=self.deps.resources.duty_version
        )

    def _step_title(self, ctx: Ctx, step: str, labels: dict[int, str] | None = None) -> str:
        if step == DATE_STEP:
            return self.deps.services.catalog.data(ctx.locale, "agreement").get("review_date", {}).get("title", DATE_KEY)
        _, about = parse_step(step)
        found = self._section(ctx.locale, step)
        title = ctx.t("agreement.section_name", number=found.number, title=found.title)
        if about is not None:
            name = (labels or {}).get(about, "?")
            return ctx.t("agreement.note_name", section=title, name=name)
        return title

    def _step_question(self, ctx: Ctx, step: str) -> str:
        if step == DATE_STEP:
            return self.deps.services.catalog.data(ctx.locale, "agreement").get("review_date", {}).get("question", "")
        return self._section(ctx.locale, step).question

    async def _step_extra(self, ctx: Ctx, step: str) -> str:
        """What a section shows with its question: the space's resources with "what has helped",
        the duty-of-care statement with "what stays between us"."""
        section, _ = parse_step(step)
        if section == RESOURCES_STEP:
            lines = await self.deps.resources.lines(ctx)
            if lines:
                return "\n".join([ctx.t("agreement.resources_intro"), *lines])
            return ""
        if section == DUTY_STEP:
            return self._duty_line(ctx)
        return ""

    async def _labels(self, db: Any, locale: str, ids: Any) -> Labels:
        labels = Labels(locale)
        for member_id in ids:
            member = await self.deps.services.members.get(db, member_id)
            labels[member_id] = member.label if member is not None else "?"
        return labels

    def _tz(self, community: Community) -> ZoneInfo:
        return ZoneInfo(community.timezone)

    def _day(self, ctx: Ctx, iso: str) -> str:
        # CLDR's date in the reader's locale (a far date stored before dates were bounded stays
        # in UTC: Formats catches the overflow).
        return ctx.formats.day(datetime.fromisoformat(iso), ctx.community.timezone)

    def _when(self, ctx: Ctx, iso: str) -> str:
        return ctx.formats.when(datetime.fromisoformat(iso), ctx.community.timezone)

    def _names(self, labels: dict[int, str], ids: Any) -> str:
        """"alex, sam and jo" in the words of the locale the names are shown in (CLDR lists)."""
        locale = labels.locale if isinstance(labels, Labels) else "en"
        return self.deps.services.catalog.formats(locale).and_list(labels[i] for i in ids)

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

    async def _notify(self, tx: Tx, community_id: int, member_ids: Any, make: Any) -> None:
        """Queue a private notice for each member (`make(member)` builds the intent)."""
        for member_id in member_ids:
            member = await self.deps.services.members.get(tx, member_id)
            if member is not None:
                await self.deps.services.outbox.add(tx, community_id, make(member))

    def _indent(self, text: str) -> str:
        return text.replace("\n", "\n      ")
