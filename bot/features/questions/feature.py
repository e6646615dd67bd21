"""Reflective questions: scheduled and on-demand posts, rotation without repeats, suggestions.

Every post is claimed under a slot key in the same transaction that queues it in the outbox, so
the same slot is never posted twice, across restarts too. Slots missed while the bot was down are
posted once at start when still inside the grace window, otherwise skipped (and logged).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.parser import RecurrenceArg
from bot.commands.registry import Registry
from bot.commands.spec import Arg, ArgType, CommandSpec, Where, Who
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.feature import Feature
from bot.features.questions.depth import DEPTH_MIXES, at_depths, group_depths, pick
from bot.features.questions.repo import QuestionsRepo
from bot.features.schedules import read_schedule, say_schedule
from bot.replies import Answer, ChannelPost, Intent, PrivateMessage
from bot.scheduling.recurrence import Recurrence, parse_recurrence
from bot.scheduling.timeline import Job
from bot.services import Services
from bot.storage.communities import Community, Reader
from bot.storage.db import Tx
from bot.texts.catalog import DEPTHS, TASKS, Question
from bot.texts.formats import Formats
from bot.texts.lint import check_text
from bot.texts.quote import quote

# The name questions have always logged under, so log filters keep working in the package.
log = logging.getLogger("bot.features.questions")

FOCUS_CHOICES = (*TASKS, "all")
SUGGESTION_PURPOSE = "suggestion.text"
SUGGESTED_PREFIX = "suggested-"  # the id of an approved suggestion in the community's bank
# What ends a question: "?" and its full-width (CJK) and small forms.
QUESTION_MARKS = ("?", "\uff1f", "\ufe56")
THREAD_TITLE_MAX = 80

COMMANDS = (
    CommandSpec("questions now", "commands.questions_now", who=Who.FACILITATOR, where=Where.CHANNEL),
    CommandSpec(
        "questions schedule",
        "commands.questions_schedule",
        (Arg("recurrence", ArgType.RECURRENCE),),
        who=Who.FACILITATOR,
        autocomplete=("recurrence",),
    ),
    CommandSpec("questions pause", "commands.questions_pause", who=Who.FACILITATOR),
    CommandSpec("questions resume", "commands.questions_resume", who=Who.FACILITATOR),
    CommandSpec(
        "questions focus",
        "commands.questions_focus",
        (Arg("task", ArgType.CHOICE, choices=FOCUS_CHOICES),),
        who=Who.FACILITATOR,
    ),
    CommandSpec(
        "questions depth",
        "commands.questions_depth",
        (Arg("mix", ArgType.CHOICE, choices=DEPTH_MIXES),),
        who=Who.FACILITATOR,
    ),
    CommandSpec("questions status", "commands.questions_status"),
    # A private question to take away: answered to the member alone, and nothing is stored.
    CommandSpec(
        "questions reflect",
        "commands.questions_reflect",
        (Arg("task", ArgType.CHOICE, required=False, choices=TASKS),),
    ),
    CommandSpec(
        "questions suggest",
        "commands.questions_suggest",
        (Arg("text", ArgType.TEXT, min=10, max=280),),
    ),
    CommandSpec("questions review", "commands.questions_review", who=Who.FACILITATOR),
    CommandSpec(
        "questions approve",
        "commands.questions_approve",
        (Arg("id", ArgType.INT, min=1), Arg("task", ArgType.CHOICE, required=False, choices=TASKS)),
        who=Who.FACILITATOR,
    ),
    CommandSpec(
        "questions decline",
        "commands.questions_decline",
        (Arg("id", ArgType.INT, min=1), Arg("note", ArgType.TEXT, required=False, max=500)),
        who=Who.FACILITATOR,
    ),
)


@dataclass(frozen=True)
class Schedule:
    community_id: int
    channel: str
    recurrence: Recurrence
    paused: bool
    checked_until: datetime


def thread_title(text: str) -> str:
    """The question's own words, on one line and cut at a word to fit a thread's name."""
    words = " ".join(text.split())
    if len(words) <= THREAD_TITLE_MAX:
        return words
    cut = words[: THREAD_TITLE_MAX - 1].rsplit(" ", 1)[0]
    return cut + "…"


def format_when(instant: datetime, timezone: str, formats: Formats) -> str:
    """"Mon, 5 Jan 2026, 10:00 (Europe/London)": CLDR's day and time in the text's locale."""
    return f"{formats.when(instant, timezone)} ({timezone})"


def task_words(ctx: Ctx, task: str) -> str:
    """A task tag ("moving_towards", or "all") as the reader's locale says it ("moving towards");
    the tag itself is a command word, never shown as a name."""
    return ctx.t(f"tasks.{task}") if ctx.catalog.has(f"tasks.{task}") else task


class QuestionsFeature(Feature):
    commands = COMMANDS

    def __init__(self, services: Services) -> None:
        self.services = services
        scheduling = services.settings.scheduling
        self._grace = timedelta(minutes=scheduling.grace_minutes)  # how late a missed slot still posts
        # The shortest gap a schedule may have between two posts.
        self._min_gap = timedelta(minutes=scheduling.min_question_gap_minutes)
        self._repo = QuestionsRepo()
        # next_fire must answer synchronously (APScheduler asks from its own loop), so the job
        # reads schedules from this cache, refreshed whenever a schedule is loaded or changed.
        self._schedules: dict[int, Schedule | None] = {}
        # Where each community is in its rotation: (cycle, ids asked in it), updated on commit.
        self._rotation: dict[int, tuple[int, frozenset[str]]] = {}
        # Approved suggestions per community (they change only through `questions approve`).
        self._community_bank: dict[int, list[Question]] = {}
        # The last `questions reflect` question per member, so asking again gives another one.
        self._reflected: dict[int, tuple[str, ...]] = {}

    def bind(self, registry: Registry) -> None:
        for name, handler in {
            "questions now": self.now,
            "questions schedule": self.schedule,
            "questions pause": self.pause,
            "questions resume": self.resume,
            "questions focus": self.focus,
            "questions depth": self.depth,
            "questions reflect": self.reflect,
            "questions status": self.status,
            "questions suggest": self.suggest,
            "questions review": self.review,
            "questions approve": self.approve,
            "questions decline": self.decline,
        }.items():
            registry.bind(name, handler)

    # -- start-up and the schedule job ---------------------------------------------------------

    async def start(self) -> None:
        """Rebuild one job per stored schedule, and catch up on slots missed while down."""
        now = self.services.clock.now()
        for community_id in await self._repo.scheduled_communities(self.services.db):
            if not await self.services.owns_community(self.services.db, community_id):
                continue  # another process posts there (bot/ownership.py)
            schedule = await self._load_schedule(self.services.db, community_id)
            assert schedule is not None
            # Resume scanning after the last slot this community was posted for, so slots that
            # were posted before a crash are neither posted again nor reported as skipped.
            last = await self._repo.last_scheduled_slot(self.services.db, community_id)
            if last:
                last_slot = datetime.fromisoformat(last.split(":", 2)[2])
                if last_slot > schedule.checked_until:
                    self._schedules[community_id] = replace(schedule, checked_until=last_slot)
            self._put_job(community_id)
            # Claimed like any run: another process sharing the store may be posting it now.
            await self.services.timeline.run_key(f"questions:{community_id}", now)
            await self._repo.set_checked(self.services.db, community_id, now)

    async def resync(self) -> None:
        """Take in schedules changed through another process sharing the store (a facilitator's
        `questions schedule` handled there): a job for each new one, new timing for a changed one."""
        for community_id in await self._repo.scheduled_communities(self.services.db):
            if not await self.services.owns_community(self.services.db, community_id):
                continue  # its slots are the serving process's (a job here would only claim and skip)
            before = self._schedules.get(community_id)
            after = await self._reload(community_id)
            timing = lambda s: (s.channel, s.recurrence, s.paused)  # noqa: E731
            if after is not None and (before is None or timing(before) != timing(after)):
                self._put_job(community_id)

    async def _reload(self, community_id: int) -> Schedule | None:
        """The schedule read again, keeping the scan position if this process is further on,
        and the rotation and approved suggestions forgotten (another process may have moved them)."""
        before = self._schedules.get(community_id)
        after = await self._load_schedule(self.services.db, community_id)
        if after is not None and before is not None and before.checked_until > after.checked_until:
            after = replace(after, checked_until=before.checked_until)
            self._schedules[community_id] = after
        self._rotation.pop(community_id, None)
        self._community_bank.pop(community_id, None)
        return after

    def _put_job(self, community_id: int) -> None:
        async def refresh(cid: int = community_id) -> None:
            await self._reload(cid)

        self.services.timeline.put(
            Job(
                key=f"questions:{community_id}",
                next_fire=lambda after, cid=community_id: self._next_fire(cid, after),
                run=lambda instant, cid=community_id: self.run_due(cid, instant),
                refresh=refresh,
            )
        )

    def _next_fire(self, community_id: int, after: datetime) -> datetime | None:
        schedule = self._schedules.get(community_id)
        if schedule is None or schedule.paused:
            return None
        return schedule.recurrence.next_after(after)

    async def _load_schedule(self, db: Reader, community_id: int) -> Schedule | None:
        row = await self._repo.schedule(db, community_id)
        if row is None:
            self._schedules[community_id] = None
            return None
        recurrence = parse_recurrence(row.recurrence, row.timezone, date.fromisoformat(row.anchor))
        schedule = Schedule(community_id, row.channel, recurrence, row.paused, row.checked_until)
        self._schedules[community_id] = schedule
        return schedule

    async def run_due(self, community_id: int, now: datetime) -> int:
        """Post every slot due up to `now` that is still inside the grace window.

        The scan position lives in memory while running (persisted at start and whenever the
        schedule changes); the UNIQUE slot key, not the position, is what prevents doubles."""
        posted = 0
        # Current: this process changed it, or `resync`/the job's refresh read another's change.
        schedule = self._schedules.get(community_id)
        if schedule is None or now <= schedule.checked_until:
            return 0
        if not await self.services.owns_community(self.services.db, community_id):
            return 0
        if not schedule.paused:
            slots = schedule.recurrence.fires_between(schedule.checked_until, now)
            due = [slot for slot in slots if now - slot <= self._grace]
            missed = slots[: len(slots) - len(due)]
            if missed:
                # One line however long the bot was away (an old database started today).
                log.warning(
                    "skipped %d question slot%s for community %s (%s to %s): missed by more than"
                    " the grace window",
                    len(missed),
                    "" if len(missed) == 1 else "s",
                    community_id,
                    missed[0].isoformat(),
                    missed[-1].isoformat(),
                )
            if due:
                async with self.services.db.transaction() as tx:
                    community = await self.services.communities.get(tx, community_id)
                    if community is None:
                        return 0
                    for slot in due:
                        key = f"q:{community_id}:{slot.isoformat()}"
                        if await self._post(tx, community, schedule.channel, key, now):
                            posted += 1
        self._schedules[community_id] = replace(schedule, checked_until=now)
        return posted

    # -- choosing and posting ------------------------------------------------------------------

    async def _bank(self, tx: Tx, community: Community) -> list[Question]:
        cached = self._community_bank.get(community.id)
        if cached is None:
            cached = await self._repo.community_questions(tx, community.id)
            self._community_bank[community.id] = cached
        bank = [q for q in self.services.catalog.questions(community.locale) if q.audience == "group"]
        bank.extend(cached)
        if community.question_focus != "all":
            bank = [q for q in bank if community.question_focus in q.tasks]
        return at_depths(bank, group_depths(community.question_depth))

    def _order(self, community_id: int, cycle: int, questions: list[Question]) -> list[Question]:
        """A fresh, deterministic order for each cycle (seeded), different per community."""

        def rank(question: Question) -> bytes:
            return hashlib.blake2b(
                f"{self.services.seed}:{community_id}:{cycle}:{question.id}".encode(), digest_size=8
            ).digest()

        return sorted(questions, key=rank)

    async def _choose(self, tx: Tx, community: Community) -> tuple[Question, int] | None:
        bank = await self._bank(tx, community)
        if not bank:
            return None
        rotation = self._rotation.get(community.id)
        if rotation is None:
            latest, asked_ids = await self._repo.current_cycle(tx, community.id)
            rotation = (latest or 1, asked_ids)
            self._rotation[community.id] = rotation
        cycle, asked = rotation
        remaining = [q for q in self._order(community.id, cycle, bank) if q.id not in asked]
        if not remaining:
            cycle += 1
            remaining = self._order(community.id, cycle, bank)
        return remaining[0], cycle

    def _record_asked(self, community_id: int, cycle: int, question_id: str) -> None:
        current = self._rotation.get(community_id)
        if current is not None and current[0] == cycle:
            self._rotation[community_id] = (cycle, current[1] | {question_id})
        else:
            self._rotation[community_id] = (cycle, frozenset({question_id}))

    async def _post(self, tx: Tx, community: Community, channel: str, slot_key: str, now: datetime) -> bool:
        chosen = await self._choose(tx, community)
        if chosen is None:
            log.warning("community %s has no questions for its focus; nothing posted", community.id)
            return False
        question, cycle = chosen
        # The UNIQUE slot key is what makes a slot post at most once, across restarts too.
        claimed = await self._repo.claim_slot(tx, community.id, slot_key, question.id, cycle, channel, now)
        if not claimed:
            return False
        posting_id = claimed
        tx.after_commit(lambda: self._record_asked(community.id, cycle, question.id))
        locale = community.locale
        # The note is the post's first line (and the thread's name), before the question itself,
        # so everyone can choose before reading it: in Discord's channel and thread list, and as
        # the start of the Matrix thread root.
        note = (
            self.services.catalog.text(locale, "questions.content_note", note=question.content_note)
            if question.content_note
            else ""
        )
        title = (
            self.services.catalog.text(locale, "questions.thread_title_noted", note=question.content_note)
            if question.content_note
            else thread_title(question.text)
        )
        if question.id.startswith(SUGGESTED_PREFIX):
            # A member's words, approved but not rewritten: posted as an inert quotation.
            text = self.services.catalog.text(locale, "questions.posted_suggested", question=quote(question.text))
        else:
            text = self.services.catalog.text(locale, "questions.posted", question=question.text, note=note)
        await self.services.outbox.add(
            tx,
            community.id,
            ChannelPost(
                channel=channel,
                text=text,
                thread_title=title,
                thread_key=f"question-{posting_id}",
            ),
        )
        return True

    def _target_channel(self, ctx: Ctx) -> str:
        if ctx.invocation.channel and not ctx.invocation.private:
            return ctx.invocation.channel
        if ctx.community.question_channel:
            return ctx.community.question_channel
        raise Refusal("questions.no_channel")

    # -- commands ------------------------------------------------------------------------------

    async def now(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        channel = self._target_channel(ctx)
        async with self.services.db.transaction() as tx:
            count = await self._repo.posting_count(tx, ctx.community.id)
            key = f"q:{ctx.community.id}:manual:{count + 1}"
            if not await self._post(tx, ctx.community, channel, key, ctx.now):
                raise Refusal("questions.bank_empty", focus=task_words(ctx, ctx.community.question_focus))
        return [Answer(ctx.t("questions.now_done", channel=channel))]

    async def schedule(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        given: RecurrenceArg = args["recurrence"]
        timezone = given.timezone or ctx.community.timezone
        anchor = ctx.now.astimezone(ZoneInfo(timezone)).date()
        recurrence = read_schedule(
            ctx, given.text, timezone, anchor, minimum=self._min_gap, what="questions"
        )
        # The space's question channel is where its scheduled questions go, wherever the
        # schedule was typed; without one, the channel it was typed in.
        channel = ctx.community.question_channel or self._target_channel(ctx)
        async with self.services.db.transaction() as tx:
            await self._repo.replace_schedule(
                tx, ctx.community.id, channel, recurrence.text, timezone, anchor.isoformat(), ctx.now
            )
            await self._load_schedule(tx, ctx.community.id)
        self._put_job(ctx.community.id)
        text = ctx.t(
            "questions.scheduled",
            recurrence=say_schedule(ctx, recurrence),
            timezone=timezone,
            channel=channel,
            next=format_when(recurrence.next_after(ctx.now), timezone, ctx.formats),
        )
        if recurrence.uses_anchor:
            # "every 2 weeks mon" could be this Monday or next: say where the count starts.
            weeks = recurrence.text.split()[2] == "weeks"
            start = anchor - timedelta(days=anchor.weekday()) if weeks else anchor
            key = "questions.counting_weeks" if weeks else "questions.counting_days"
            text += " " + ctx.t(key, start=ctx.formats.day(start))
        return [Answer(text)]

    async def _set_paused(self, ctx: Ctx, paused: bool) -> Schedule:
        async with self.services.db.transaction() as tx:
            schedule = await self._load_schedule(tx, ctx.community.id)
            if schedule is None:
                raise Refusal("questions.no_schedule")
            if schedule.paused == paused:
                raise Refusal("questions.already_paused" if paused else "questions.not_paused")
            # Resuming starts from now: slots that fell while paused are not posted late.
            await self._repo.set_paused(tx, ctx.community.id, paused, ctx.now)
            schedule = await self._load_schedule(tx, ctx.community.id)
        self._put_job(ctx.community.id)
        assert schedule is not None
        return schedule

    async def pause(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        await self._set_paused(ctx, True)
        return [Answer(ctx.t("questions.paused"))]

    async def resume(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        schedule = await self._set_paused(ctx, False)
        nxt = format_when(schedule.recurrence.next_after(ctx.now), schedule.recurrence.timezone, ctx.formats)
        return [Answer(ctx.t("questions.resumed", next=nxt))]

    async def focus(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        task = args["task"]
        async with self.services.db.transaction() as tx:
            await self.services.communities.update(tx, ctx.community.id, question_focus=task)
        return [Answer(ctx.t("questions.focus_all" if task == "all" else "questions.focus_set", task=task_words(ctx, task)))]

    async def depth(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        mix = args["mix"]
        async with self.services.db.transaction() as tx:
            await self.services.communities.update(tx, ctx.community.id, question_depth=mix)
        return [Answer(ctx.t(f"questions.depth_{mix}"))]

    async def reflect(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        task = args["task"]
        bank = [
            q
            # A question for the member alone: in their language (every locale has the same ids).
            for q in self.services.catalog.questions(ctx.locale)
            if q.audience == "self" and (task is None or task in q.tasks)
        ]
        pool = at_depths(bank, DEPTHS)
        # Nothing about who asked what is stored; in memory only, asking again gives another.
        question = pick(
            pool, self.services.seed, ctx.member.id, ctx.now.isoformat(), avoid=self._reflected.get(ctx.member.id, ())
        )
        if question is None:
            raise Refusal("questions.reflect_empty")
        self._reflected[ctx.member.id] = (question.id,)
        note = ctx.t("questions.content_note", note=question.content_note) if question.content_note else ""
        return [Answer(ctx.t("questions.reflect", question=question.text, note=note))]

    async def status(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        # The cache is current (this process is the only writer) and holds the job's scan
        # position; reloading from storage would move that position back to the last start.
        if ctx.community.id in self._schedules:
            schedule = self._schedules[ctx.community.id]
        else:
            schedule = await self._load_schedule(self.services.db, ctx.community.id)
        async with self.services.db.transaction() as tx:
            bank = await self._bank(tx, ctx.community)
            chosen = await self._choose(tx, ctx.community)
            asked = 0
            if chosen is not None:
                asked = await self._repo.asked_in_cycle(tx, ctx.community.id, chosen[1])
        focus = ctx.community.question_focus
        lines = []
        if schedule is None:
            lines.append(ctx.t("questions.status_none"))
        else:
            lines.append(
                ctx.t(
                    "questions.status_paused" if schedule.paused else "questions.status_schedule",
                    recurrence=say_schedule(ctx, schedule.recurrence),
                    timezone=schedule.recurrence.timezone,
                    channel=schedule.channel,
                    next=format_when(
                        schedule.recurrence.next_after(ctx.now), schedule.recurrence.timezone, ctx.formats
                    ),
                )
            )
        lines.append(ctx.t("questions.status_focus", focus=task_words(ctx, focus), asked=asked, total=len(bank)))
        lines.append(ctx.t("questions.status_depth", depth=ctx.t(f"depths.{ctx.community.question_depth}")))
        return [Answer("\n".join(lines))]

    async def suggest(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        text = " ".join(args["text"].split())
        # A task named first tags the suggestion (`questions suggest worldview Where did …?`).
        first, _, rest = text.partition(" ")
        task = first.lower().replace("-", "_")
        if task in TASKS and len(rest) >= 10:
            text = rest
        else:
            task = None
        if not text.endswith(QUESTION_MARKS):
            raise Refusal("questions.suggest_not_question")
        async with self.services.db.transaction() as tx:
            if await self._repo.pending_count_of(tx, ctx.member.id) >= 10:
                raise Refusal("questions.suggest_too_many")
            await self._repo.add_suggestion(
                tx, ctx.community.id, ctx.member.id, self.services.cipher.encrypt(text, SUGGESTION_PURPOSE), task, ctx.now
            )
        return [Answer(ctx.t("questions.suggest_thanks"))]

    async def review(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        rows = await self._repo.pending(self.services.db, ctx.community.id)
        if not rows:
            return [Answer(ctx.t("questions.review_empty"))]
        lines = [ctx.t("questions.review_intro", count=len(rows))]
        for row in rows:
            text = self.services.cipher.decrypt(row.text_enc, SUGGESTION_PURPOSE)
            lines.append(ctx.t("questions.review_line", id=row.id, text=text))
            if row.task:
                lines.append(ctx.t("questions.review_task", task=task_words(ctx, row.task)))
            notes = self._lint_notes(ctx, text)
            if notes:
                lines.append(ctx.t("questions.review_notes", notes="; ".join(notes)))
        lines.append(ctx.t("questions.review_outro"))
        return [Answer("\n".join(lines))]

    @staticmethod
    def _lint_notes(ctx: Ctx, text: str) -> list[str]:
        """What the prompts lint notices in a suggestion, as short notes for the facilitator:
        a hint for their decision, never a block, and never shown to the member."""
        found: dict[str, list[str]] = {}
        for finding in check_text(text, ctx.locale, question=True):
            found.setdefault(finding.rule, []).append(finding.detail)
        notes = []
        if "avoided-word" in found:
            notes.append(ctx.t("questions.review_note_words", words=", ".join(found["avoided-word"])))
        if "advice" in found:
            notes.append(ctx.t("questions.review_note_advice", words=", ".join(found["advice"])))
        if "safety-check" in found:
            notes.append(ctx.t("questions.review_note_safety"))
        if "yes-no" in found:
            notes.append(ctx.t("questions.review_note_closed"))
        if "should" in found:
            notes.append(ctx.t("questions.review_note_should"))
        return notes

    async def _take_pending(self, tx: Tx, ctx: Ctx, suggestion_id: int) -> tuple[int | None, str, str | None]:
        """(author, text, the task the author named or None) of a pending suggestion."""
        row = await self._repo.pending_one(tx, ctx.community.id, suggestion_id)
        if row is None:
            raise Refusal("questions.no_such_suggestion", id=suggestion_id)
        return row.member_id, self.services.cipher.decrypt(row.text_enc, SUGGESTION_PURPOSE), row.task

    async def _tell_author(self, tx: Tx, ctx: Ctx, member_id: int | None, key: str, **params: Any) -> None:
        if member_id is None:
            return
        author = await self.services.members.get(tx, member_id)
        if author is not None:
            await self.services.outbox.add(
                tx, ctx.community.id, PrivateMessage(author.platform_user_id, ctx.to(author).t(key, **params))
            )

    async def approve(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        suggestion_id = args["id"]
        question_id = f"{SUGGESTED_PREFIX}{ctx.community.id}-{suggestion_id}"
        async with self.services.db.transaction() as tx:
            author_id, text, suggested_task = await self._take_pending(tx, ctx, suggestion_id)
            # The facilitator's task, else the one the author named; with neither, ask.
            task = args["task"] or suggested_task
            if task is None:
                raise Refusal("questions.approve_which_task", id=suggestion_id, tasks=", ".join(ctx.word(t) for t in TASKS))
            # Once approved it is a published question of this community's bank, in plain text.
            await self._repo.add_community_question(tx, question_id, ctx.community.id, text, task, ctx.now)
            self._community_bank.pop(ctx.community.id, None)
            await self._repo.mark_approved(tx, suggestion_id, question_id, ctx.now)
            await self._tell_author(tx, ctx, author_id, "questions.approved_notice", text=text)
        return [Answer(ctx.t("questions.approved", id=suggestion_id, task=task_words(ctx, task)))]

    async def decline(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        suggestion_id, note = args["id"], args["note"]
        async with self.services.db.transaction() as tx:
            author_id, text, _ = await self._take_pending(tx, ctx, suggestion_id)
            # Nothing of a declined suggestion is kept: its author gets their words back.
            await self._repo.mark_declined(tx, suggestion_id, ctx.now)
            if note:
                await self._tell_author(tx, ctx, author_id, "questions.declined_notice_note", text=text, note=note)
            else:
                await self._tell_author(tx, ctx, author_id, "questions.declined_notice", text=text)
        return [Answer(ctx.t("questions.declined", id=suggestion_id))]
