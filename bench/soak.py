"""Soak: many communities for a simulated year on the real core, then the same with fuzzed commands.

200 communities and 20,000 members (sizes vary) run a realistic mix of commands day by day on
the fake clock: questions posted weekly, pairing rounds every two weeks, pair agreements
negotiated between partners, check-ins answered, suggestions reviewed, space-agreement changes.
Phase 2 carries on for a shorter period while 10 % of commands are replaced by fuzzed ones (the
ideas of tests/trust/test_fuzz.py, drawn from a seeded `random`). The core is the real one: an
App on a SQLite file on disk, encryption, the durable outbox, the simulated driver running every
scheduled job at its instant.

The driver keeps its own model of what the commands it issued should have done (who is in
pairing and paused, every agreement's state, which question slots fall due) and a sink that
keeps only counts and small maps, never the texts. At the end it checks, from the database and
the sink:

* every scheduled question slot was posted exactly once (database and deliveries), and every
  `questions now` once;
* every pairing round started at its slot and placed each eligible member exactly once (or told
  them privately that nobody was free), and each pair space opened exactly once;
* every outbox message was delivered exactly once and nothing is left pending;
* no agreement was lost: each is in the state the command sequence allows (a withdrawn one may
  have been deleted after its retention period), and none exists that nobody started;
* pairing membership and pauses in storage match the commands issued;
* no leaked content: no agreement or check-in text reached anyone outside its parties (in
  deliveries or answers), and the raw database file holds none of the texts written;
* no command ended in the "error" outcome, and none raised.

Latency is measured around `app.handle_text` + `deliver_pending` (what an adapter waits for);
scheduled jobs are timed separately. Raw aiosqlite single-row transactional write throughput is
measured in the same run for comparison. Figures only: nothing here asserts a timing.

    .venv/bin/python -m bench.soak                      # the issue's size (about 10 minutes)
    .venv/bin/python -m bench.soak --quick              # a smoke run (seconds)
    .venv/bin/python -m bench.soak --communities 20 --members 2000 --weeks 8 --fuzz-weeks 2
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import logging
import math
import os
import random
import re
import resource
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from alongside.settings import Settings, load_settings
from bot.app import App
from bot.clock import FakeClock
from bot.commands.parser import ParsedCommand, ParseError, parse_text
from bot.commands.registry import Registry
from bot.commands.spec import ArgType, CommandSpec
from bot.context import Actor, CommunityRef, Invocation
from bot.features.agreements.commands import SPACE_KEYS
from bot.features.agreements.pair_agreements import section_step
from bot.features.agreements.repo import ID_ALPHABET, ID_LENGTH, normalise_short_id
from bot.features.pairing.rounds import ANSWER_WINDOW
from bot.replies import (
    ActionButtons,
    Answer,
    ChannelPost,
    ConfirmPrompt,
    Delivery,
    FormRequest,
    Intent,
    PairSpaceClose,
    PairSpaceOpen,
    PairSpacePost,
    PrivateFile,
    PrivateMessage,
)
from bot.scheduling.claims import WorkClaims
from bot.scheduling.recurrence import Recurrence, parse_recurrence
from bot.scheduling.timeline import Job, SimulatedDriver, Timeline
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database, open_database
from bot.texts.catalog import Catalog

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday
KEY = bytes(range(32))
PLATFORM = "console"
CHANNEL = "circle"
FAR = datetime(9999, 1, 1, tzinfo=UTC)  # "paused until further notice"
DAY = timedelta(days=1)

# Every private text the driver writes carries a unique token, so a delivery, an answer or the
# raw database file can be searched for it without keeping the texts themselves.
TOKEN = re.compile(r"ZQ[0-9A-F]{10}")
TOKEN_BYTES = re.compile(rb"ZQ[0-9A-F]{10}")
SHORT_ID = re.compile(r"#([" + ID_ALPHABET + r"]{" + str(ID_LENGTH) + r"})\b")
SUGGESTION_ID = re.compile(r"#(\d+):")
CHANGE_NUMBER = re.compile(r"#(\d+),")

OUTCOMES = ("done", "refused", "invalid", "forbidden", "error")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def mention(token: str) -> str | None:
    return token.removeprefix("@") if token.startswith("@") and len(token) > 1 else None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: array | list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * share) - 1))]


# -- configuration and report ---------------------------------------------------------------------


@dataclass
class SoakConfig:
    communities: int = 200
    members: int = 20_000
    weeks: int = 52
    fuzz_weeks: int = 13
    fuzz_share: float = 0.10
    # Sessions (a member opening the bot and doing one thing, sometimes two commands) per member
    # per week, before the follow-ups that notices cause (answering an invitation, a proposal,
    # a check-in).
    sessions_per_member_week: float = 0.2
    pairing_share: float = 0.25  # members who want to be paired
    seed: int = 1
    folder: Path | None = None  # where the database goes (a temporary folder by default)
    # A postgresql:// url: the store is that database (its server's data folder is searched for
    # leaks when `data_dir` is given). None: a SQLite file in `folder`.
    store: str | None = None
    data_dir: Path | None = None
    # Several processes on one store (bench/soak_processes.py): this one is `part` of `parts`,
    # serving the communities whose index is `part` modulo `parts` (as a shard range would), and
    # keeping its simulated clock in step with the others' through files in `barrier`.
    part: int = 0
    parts: int = 1
    barrier: Path | None = None
    raw_write_seconds: float = 2.0
    progress: Callable[[str], None] | None = None


@dataclass
class PhaseFigures:
    name: str
    weeks: int
    fuzzed: bool
    latencies: array = field(default_factory=lambda: array("d"))
    by_command: dict[str, array] = field(default_factory=dict)
    outcomes: Counter = field(default_factory=Counter)
    fuzzed_commands: int = 0
    job_runs: array = field(default_factory=lambda: array("d"))
    job_kinds: Counter = field(default_factory=Counter)
    job_seconds: Counter = field(default_factory=Counter)
    wall: float = 0.0
    cpu: float = 0.0  # this process's CPU seconds (both threads)
    load: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average at start and end
    deliveries: int = 0


@dataclass
class Report:
    config: SoakConfig
    phases: list[PhaseFigures]
    raw_writes_per_second: float
    peak_rss_mb: float
    db_bytes: int
    wal_bytes: int
    checks: list[tuple[str, str]]  # (invariant, what was checked)
    violations: list[str]
    activity: Counter
    warnings: Counter
    setup_seconds: float
    barrier_seconds: float = 0.0  # waiting for the other processes' clocks (several processes)
    upkeep_seconds: float = 0.0  # reading what the other processes changed, once a simulated day

    @property
    def raw_label(self) -> str:
        if self.config.store:
            return "raw asyncpg single-row transactional writes (one connection, BEGIN + INSERT + COMMIT)"
        return (
            "raw aiosqlite single-row transactional writes (WAL, synchronous=NORMAL,"
            " BEGIN IMMEDIATE + INSERT + COMMIT)"
        )

    def lines(self) -> list[str]:
        c = self.config
        out = [
            f"Alongside soak: {c.communities} communities, {c.members:,} members, {c.weeks} weeks"
            f" + {c.fuzz_weeks} weeks with {c.fuzz_share:.0%} of commands fuzzed (seed {c.seed})",
            f"{self.raw_label}: {self.raw_writes_per_second:,.0f} per second",
            f"set-up (communities and members created lazily, schedules set): {self.setup_seconds:.1f} s",
        ]
        total_commands = 0
        total_command_time = 0.0
        for phase in self.phases:
            count = len(phase.latencies)
            spent = sum(phase.latencies)
            total_commands += count
            total_command_time += spent
            jobs = sum(phase.job_runs)
            out.append("")
            out.append(
                f"phase: {phase.name} ({phase.weeks} simulated weeks"
                + (f", {phase.fuzzed_commands:,} fuzzed commands" if phase.fuzzed else "")
                + ")"
            )
            out.append(
                f"  commands: {count:,}; commands per second {count / spent if spent else 0:,.0f}"
                f" (time in commands {spent:.1f} s), {count / phase.wall if phase.wall else 0:,.0f}"
                f" over the phase's wall clock {phase.wall:.1f} s (scheduled jobs and driver included)"
            )
            out.append(
                f"  command latency (handle_text + deliver_pending): p50 {percentile(phase.latencies, 0.5) * 1000:.2f} ms,"
                f" p99 {percentile(phase.latencies, 0.99) * 1000:.2f} ms,"
                f" max {max(phase.latencies, default=0) * 1000:.1f} ms"
            )
            slow = sorted(
                ((percentile(v, 0.99), name, len(v)) for name, v in phase.by_command.items() if len(v) >= 20),
                reverse=True,
            )[:5]
            out.append(
                "  slowest commands by p99: "
                + ", ".join(f"{name} {p99 * 1000:.1f} ms (n={n:,})" for p99, name, n in slow)
            )
            out.append(
                "  outcomes: " + ", ".join(f"{o} {phase.outcomes.get(o, 0):,}" for o in OUTCOMES)
            )
            out.append(
                f"  scheduled jobs: {len(phase.job_runs):,} runs, {jobs:.1f} s in all (job + its deliveries),"
                f" p50 {percentile(phase.job_runs, 0.5) * 1000:.2f} ms, p99 {percentile(phase.job_runs, 0.99) * 1000:.1f} ms,"
                f" max {max(phase.job_runs, default=0) * 1000:.0f} ms; "
                + ", ".join(
                    f"{kind} {n:,} ({phase.job_seconds[kind]:.1f} s)" for kind, n in sorted(phase.job_kinds.items())
                )
            )
            out.append(f"  deliveries: {phase.deliveries:,}")
            out.append(
                f"  this process used {phase.cpu:.0f} CPU seconds in {phase.wall:.0f} s of wall clock;"
                f" the machine's load average went from {phase.load[0]:.1f} to {phase.load[1]:.1f} (2 cores, shared)"
            )
        overall = total_commands / total_command_time if total_command_time else 0.0
        ratio = overall / self.raw_writes_per_second if self.raw_writes_per_second else 0.0
        all_latencies = array("d")
        for phase in self.phases:
            all_latencies.extend(phase.latencies)
        p99 = percentile(all_latencies, 0.99) * 1000
        out.append("")
        out.append(
            f"Alongside commands per second (both phases, time in commands): {overall:,.0f}"
            f" = {ratio:.3f} x {self.raw_label} ({self.raw_writes_per_second:,.0f}/s)"
        )
        out.append(f"command latency over both phases: p50 {percentile(all_latencies, 0.5) * 1000:.2f} ms, p99 {p99:.2f} ms")
        out.append(f"peak RSS: {self.peak_rss_mb:.0f} MB")
        out.append(
            f"database size: {self.db_bytes / 2**20:.1f} MB (+ WAL {self.wal_bytes / 2**20:.1f} MB)"
        )
        out.append("activity: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.activity.items())))
        if self.warnings:
            out.append(
                "log records at WARNING or above: "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(self.warnings.items()))
            )
        out.append("")
        out.append("invariants checked at the end:")
        for name, detail in self.checks:
            out.append(f"  {name}: {detail}")
        out.append(f"invariant violations: {len(self.violations)}")
        for violation in self.violations[:40]:
            out.append(f"  - {violation}")
        if len(self.violations) > 40:
            out.append(f"  ... and {len(self.violations) - 40} more")
        out.append("")
        met = lambda ok: "met" if ok else "MISSED"  # noqa: E731
        out.append(
            f"targets: p99 under 20 ms: {met(p99 < 20)} ({p99:.2f} ms); peak RSS under 300 MB:"
            f" {met(self.peak_rss_mb < 300)} ({self.peak_rss_mb:.0f} MB); zero invariant violations:"
            f" {met(not self.violations)} ({len(self.violations)})"
        )
        return out


# -- the driver's model ---------------------------------------------------------------------------


class MemberModel:
    __slots__ = (
        "user", "facilitator", "wants_pairing", "in_pairing", "paused_until", "prompts",
        "checkin_step", "checkin_open", "agreements", "agreement_checkin",
    )

    def __init__(self, user: str, facilitator: bool, wants_pairing: bool) -> None:
        self.user = user
        self.facilitator = facilitator
        self.wants_pairing = wants_pairing
        self.in_pairing = False
        self.paused_until: datetime | None = None
        self.prompts: list[int] = []  # confirmation ids shown to them, oldest first
        self.checkin_step = 0
        self.checkin_open = False
        self.agreements: list[str] = []  # short ids they are (or were) in, as party or invitee
        # An agreement check-in asked after their pair check-in: `checkin` answers the newest
        # one asked, so the next answer is this agreement's (shared with its parties).
        self.agreement_checkin: str | None = None

    def active_at(self, instant: datetime) -> bool:
        return self.in_pairing and (self.paused_until is None or self.paused_until <= instant)


class AgreementModel:
    __slots__ = (
        "short", "db_id", "people", "parties", "invited", "status", "proposal", "accepted",
        "withdrawn_at", "erased", "written",
    )

    def __init__(self, short: str, db_id: int, starter: str, invitees: tuple[str, ...]) -> None:
        self.short = short
        self.db_id = db_id
        self.people = (starter, *invitees)
        self.parties = {starter}
        self.invited = set(invitees)
        self.status = "draft"
        self.proposal = False
        self.accepted: set[str] = set()
        self.withdrawn_at: datetime | None = None
        self.erased = False  # deleted at once (`mydata forget`)
        self.written: Counter = Counter()  # sections written per party (to pace the driver)


@dataclass
class QuestionPeriod:
    recurrence: Recurrence
    start: datetime
    end: datetime | None = None


class CommunityModel:
    def __init__(self, index: int, members: list[MemberModel], weights: list[float]) -> None:
        self.index = index
        self.ext = f"c{index}"
        self.ref = CommunityRef(PLATFORM, self.ext, f"community {index}")
        self.db_id: int | None = None
        self.members = members
        self.by_user = {m.user: m for m in members}
        self.cum_weights: list[float] = []
        total = 0.0
        for w in weights:
            total += w
            self.cum_weights.append(total)
        self.facilitators = [m for m in members if m.facilitator]
        self.regulars = [m for m in members if not m.facilitator]
        self.agreements: dict[str, AgreementModel] = {}
        self.by_db_id: dict[int, AgreementModel] = {}
        self.spaces: dict[str, tuple[str, ...]] = {}  # open pair spaces -> members
        self.space_of: dict[str, str] = {}  # member -> their open pair space
        self.question_periods: list[QuestionPeriod] = []
        self.questions_now = 0
        self.pair_recurrence: Recurrence | None = None
        self.pair_from: datetime | None = None
        self.rounds_seen: set[str] = set()
        self.space_changes: list[int] = []
        self.questions_scheduled_week = 0
        self.pairing_week = 0
        self.paused_questions_until: datetime | None = None


# -- the sink ---------------------------------------------------------------------------------------


class SoakSink:
    """Checks every delivery as it arrives and keeps only counts and small maps."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.delivered = bytearray(1 << 16)
        self.count = 0
        self.duplicates = 0
        self.question_posts: Counter = Counter()  # (community, posting id) -> deliveries
        self.continuations = 0

    def _mark(self, outbox_id: int) -> None:
        if outbox_id >= len(self.delivered) * 8:
            self.delivered.extend(bytearray(max(len(self.delivered), outbox_id // 8 + 1 - len(self.delivered))))
        byte, bit = divmod(outbox_id, 8)
        if self.delivered[byte] & (1 << bit):
            self.duplicates += 1
            self.soak.violation(f"outbox message {outbox_id} delivered twice")
        self.delivered[byte] |= 1 << bit
        self.count += 1

    def was_delivered(self, outbox_id: int) -> bool:
        byte, bit = divmod(outbox_id, 8)
        return byte < len(self.delivered) and bool(self.delivered[byte] & (1 << bit))

    async def deliver(self, delivery: Delivery) -> None:
        soak = self.soak
        self._mark(delivery.outbox_id)
        soak.phase.deliveries += 1
        cm = soak.by_ext.get(delivery.community_external_id)
        if cm is None:  # several processes: each delivers for the communities it serves only
            soak.violation(f"outbox message {delivery.outbox_id} for {delivery.community_external_id} delivered here")
            return
        intent = delivery.intent
        texts: list[str]
        recipients: frozenset[str] | None  # None: everyone in the community
        if isinstance(intent, ChannelPost):
            texts, recipients = [intent.text], None
            if intent.thread_key and intent.thread_key.startswith("question-"):
                self.question_posts[(cm.ext, int(intent.thread_key.removeprefix("question-")))] += 1
        elif isinstance(intent, PrivateMessage):
            texts, recipients = [intent.text], frozenset({intent.user_id})
            member = cm.by_user.get(intent.user_id)
            if intent.text == soak.nobody_text:
                soak.reconcile(("nobody", cm.ext, intent.user_id), -1)
            elif member is not None and soak.checkin_how in intent.text:
                member.checkin_open, member.checkin_step = True, 0
                member.agreement_checkin = None
                soak.follow_up(cm, member, 0.35, 2)
            elif member is not None and soak.agreement_checkin_asks in intent.text:
                found = SHORT_ID.search(intent.text)
                member.agreement_checkin = found.group(1) if found else None
                soak.follow_up(cm, member, 0.6, 3)
            elif member is not None and "agreement #" in intent.text:
                soak.follow_up(cm, member, 0.6, 3)  # someone joined, revisits, withdrew...
        elif isinstance(intent, ConfirmPrompt):
            texts, recipients = [intent.text], frozenset({intent.user_id})
            member = cm.by_user.get(intent.user_id)
            if member is not None:
                member.prompts.append(intent.confirmation_id)
                soak.follow_up(cm, member, 0.9, 3)
        elif isinstance(intent, ActionButtons):
            texts, recipients = [intent.text], frozenset({intent.user_id})
            member = cm.by_user.get(intent.user_id)
            if member is not None:
                soak.follow_up(cm, member, 0.8, 3)
        elif isinstance(intent, PairSpaceOpen):
            texts, recipients = [intent.title, intent.text], frozenset(intent.member_ids)
            if intent.space_key.endswith("b"):
                self.continuations += 1
            else:
                soak.reconcile(("open", cm.ext, intent.space_key, tuple(sorted(intent.member_ids))), -1)
            cm.spaces[intent.space_key] = tuple(intent.member_ids)
            for user in intent.member_ids:
                cm.space_of[user] = intent.space_key
        elif isinstance(intent, PairSpacePost | PairSpaceClose):
            members = cm.spaces.get(intent.space_key)
            texts = [intent.text]
            recipients = frozenset(members) if members is not None else frozenset({"(a closed space)"})
            if isinstance(intent, PairSpaceClose) and members is not None:
                del cm.spaces[intent.space_key]
                for user in members:
                    if cm.space_of.get(user) == intent.space_key:
                        del cm.space_of[user]
        elif isinstance(intent, FormRequest):
            texts, recipients = [intent.text, *(f.value for f in intent.fields)], frozenset({intent.user_id})
        elif isinstance(intent, PrivateFile):
            texts, recipients = [intent.text, intent.content], frozenset({intent.user_id})
        else:
            soak.violation(f"a delivery of an unexpected kind: {type(intent).__name__}")
            return
        for text in texts:
            soak.check_tokens(cm, text, recipients, f"a delivery, {type(intent).__name__}")


# -- the soak ---------------------------------------------------------------------------------------


class TimedTimeline(Timeline):
    """A Timeline whose runs are timed, the claim in the database included (as `alongside run`
    builds it: every run claimed, bot/scheduling/claims.py), plus the deliveries each caused."""

    def __init__(self, soak: Soak, claims: WorkClaims) -> None:
        super().__init__(claims)
        self._soak = soak

    async def run(self, job: Job, instant: datetime) -> None:
        started = time.perf_counter()
        await super().run(job, instant)
        soak = self._soak
        soak.job_started, soak.job_time = started, time.perf_counter() - started
        soak.job_kind = job.key.split(":", 1)[0]


class CountingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.levelname} {record.name}: {record.msg[:60]}"] += 1


class Soak:
    def __init__(self, config: SoakConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.fuzz_rng = random.Random(config.seed * 7919 + 1)
        self.violations: list[str] = []
        self.activity: Counter = Counter()
        self.expected: Counter = Counter()  # things the sink must see exactly once
        self.secrets: dict[str, tuple[str, ...]] = {}  # token -> who may read it
        self.token_counter = 0
        self.events: list[tuple[datetime, int, str, int, str]] = []
        self.event_seq = 0
        self.outcome: str | None = None
        self.job_started = 0.0
        self.job_time = 0.0
        self.job_kind = ""
        self.phase = PhaseFigures("set-up", 0, False)
        self.communities: list[CommunityModel] = []  # the ones this process serves
        self.by_index: dict[int, CommunityModel] = {}
        self.by_ext: dict[str, CommunityModel] = {}
        self.owned: set[str] = set()
        self.barrier_seconds = 0.0
        self.upkeep_seconds = 0.0
        self.days_done = 0
        self.pending_db_ids: list[tuple[CommunityModel, str, str, tuple[str, ...]]] = []
        self.phases_done: list[PhaseFigures] = []
        self.db_open = False
        self.parsed: dict[str, ParsedCommand | None] = {}

    # -- bookkeeping ----------------------------------------------------------------------------

    def violation(self, text: str) -> None:
        if len(self.violations) < 1000:
            self.violations.append(text)

    def reconcile(self, key: tuple, delta: int) -> None:
        value = self.expected[key] + delta
        if value:
            self.expected[key] = value
        else:
            del self.expected[key]

    def secret(self, allowed: tuple[str, ...], lead: str) -> str:
        self.token_counter += 1
        token = f"ZQ{self.token_counter:010X}"
        self.secrets[token] = allowed
        self.activity["private texts written"] += 1
        return f"{lead} {token} {self.rng.choice(ENDINGS)}"

    def check_tokens(self, cm: CommunityModel, text: str, recipients: frozenset[str] | None, where: str) -> None:
        if "ZQ" not in text:
            return
        for token in TOKEN.findall(text):
            allowed = self.secrets.get(token)
            if allowed is None:
                continue
            if recipients is None:
                self.violation(f"private text {token} posted in a channel of {cm.ext} ({where})")
            elif not recipients <= set(allowed):
                outsiders = sorted(recipients - set(allowed))
                at = text.find(token)
                self.violation(
                    f"private text {token} reached {outsiders} in {cm.ext} ({where}; written for"
                    f" {sorted(allowed)}): ...{text[max(0, at - 300):at + 40]!r}"
                )

    def follow_up(self, cm: CommunityModel, member: MemberModel, chance: float, within_days: int) -> None:
        if self.rng.random() < chance:
            at = self.clock.now() + timedelta(seconds=self.rng.uniform(300, within_days * 86400))
            self.push(at, "follow-up", cm.index, member.user)

    def push(self, at: datetime, kind: str, community: int, user: str) -> None:
        self.event_seq += 1
        heapq.heappush(self.events, (at, self.event_seq, kind, community, user))

    # -- building the world ---------------------------------------------------------------------

    async def open(self, folder: Path) -> None:
        self.settings: Settings = load_settings(None)
        self.clock = FakeClock(START)
        self.path: Path | None = None if self.config.store else folder / "soak.db"
        self.db: Database = await open_database(self.config.store or self.path)  # type: ignore[arg-type]
        self.db_open = True
        self.catalog = Catalog(self.settings.prompts_dir)
        self.cipher = FieldCipher(KEY)
        instance = f"soak-{self.config.part}"
        self.timeline = TimedTimeline(self, WorkClaims(self.db, instance))
        self.app = App(
            settings=self.settings,
            db=self.db,
            clock=self.clock,
            catalog=self.catalog,
            cipher=self.cipher,
            timeline=self.timeline,
            seed=self.config.seed,
            instance=instance,
            owns=lambda platform, external_id: external_id in self.owned,
        )
        self.registry: Registry = self.app.registry
        self.sink = SoakSink(self)
        self.app.attach_sink(self.sink)
        self.app.observe(self._observed)
        self.driver = SimulatedDriver(self.timeline, self.clock)
        self._watch_rounds()
        await self.app.start()
        self.nobody_text = self.catalog.text("en", "pairing.not_placed", prefix="/")
        self.checkin_how = self.catalog.text("en", "checkin.how", prefix="/")
        # What the agreement review reminder asks (it opens an agreement check-in).
        self.agreement_checkin_asks = "How is our agreement working for you now?"
        assert self.agreement_checkin_asks in self.catalog.text(
            "en", "agreement.review_reminder", id="X", names="Y", prefix="/"
        )
        self.specs = sorted(self.registry.specs(), key=lambda s: s.name)

    def _observed(self, outcome: str, name: str) -> None:
        self.outcome = outcome

    def build_world(self) -> None:
        cfg = self.config
        rng = self.rng
        weights = [rng.lognormvariate(0, 0.6) for _ in range(cfg.communities)]
        total = sum(weights)
        sizes = [max(4, int(cfg.members * w / total)) for w in weights]
        # Adjust to the exact total (largest communities absorb the difference).
        difference = cfg.members - sum(sizes)
        order = sorted(range(cfg.communities), key=lambda i: -sizes[i])
        step = 1 if difference > 0 else -1
        i = 0
        while difference:
            index = order[i % len(order)]
            if sizes[index] + step >= 4:
                sizes[index] += step
                difference -= step
            i += 1
        for index, size in enumerate(sizes):
            facilitators = max(1, size // 40)
            members = [
                MemberModel(f"c{index}u{j}", j < facilitators, rng.random() < cfg.pairing_share)
                for j in range(size)
            ]
            activity = [rng.lognormvariate(0, 1.0) for _ in members]
            cm = CommunityModel(index, members, activity)
            # Most start at once; some adopt questions or pairing later in the year.
            cm.questions_scheduled_week = 0 if rng.random() < 0.85 else rng.randint(1, max(1, cfg.weeks // 3))
            cm.pairing_week = 0 if rng.random() < 0.8 else rng.randint(1, max(1, cfg.weeks // 3))
            # Every process builds the same world from the seed and serves its share of it.
            if index % cfg.parts == cfg.part:
                self.communities.append(cm)
                self.by_index[index] = cm
                self.by_ext[cm.ext] = cm
                self.owned.add(cm.ext)
        self.activity["communities"] = len(self.communities)
        self.activity["members"] = sum(len(cm.members) for cm in self.communities)
        # Later draws differ between processes (each serves other communities).
        self.rng.seed(cfg.seed * 1_000_003 + cfg.part)

    # -- watching pairing rounds start ----------------------------------------------------------

    def _watch_rounds(self) -> None:
        rounds = self.app.pairing.rounds
        original = rounds.start_round

        async def start_round(tx, community, prefix, slot_key, starts_at, ends_at, now):  # type: ignore[no-untyped-def]
            cm = self.by_ext[community.external_id]
            rows = await tx.fetchall(
                "SELECT m.platform_user_id, p.status, p.asked_at FROM pair_participants p"
                " JOIN members m ON m.id = p.member_id WHERE p.community_id = ?",
                (community.id,),
            )
            window = starts_at - ANSWER_WINDOW
            silenced = {
                row[0]
                for row in rows
                if row[1] == "active" and row[2] is not None and datetime.fromisoformat(row[2]) <= window
            }
            result = await original(tx, community, prefix, slot_key, starts_at, ends_at, now)
            if result is None:
                skipped = await rounds.repo.round_by_slot(tx, slot_key)
                if skipped is not None and skipped.state == "cancelled" and skipped.number < 0:
                    # Fewer than two were free: the round is skipped (no number), and whoever
                    # was free hears that nobody was.
                    cm.rounds_seen.add(slot_key)
                    for user in {m.user for m in cm.members if m.active_at(starts_at)} - silenced:
                        self.reconcile(("nobody", cm.ext, user), 1)
                    for user in silenced:
                        member = cm.by_user.get(user)
                        if member is not None:
                            member.paused_until = FAR
                            self.activity["members paused after silent rounds"] += 1
                    self.activity["pairing rounds skipped with fewer than two"] += 1
                return None
            if slot_key in cm.rounds_seen:
                self.violation(f"round {slot_key} started twice")
            cm.rounds_seen.add(slot_key)
            placed_rows = await tx.fetchall(
                "SELECT p.space_key, m.platform_user_id FROM pairs p"
                " JOIN pair_members pm ON pm.pair_id = p.id JOIN members m ON m.id = pm.member_id"
                " WHERE p.round_id = ? AND p.origin IS NULL ORDER BY p.id",
                (result.id,),
            )
            groups: dict[str, list[str]] = {}
            for space_key, user in placed_rows:
                groups.setdefault(space_key, []).append(user)
            placed = Counter(user for users in groups.values() for user in users)
            expected = {m.user for m in cm.members if m.active_at(starts_at)} - silenced
            for user in silenced:
                member = cm.by_user.get(user)
                if member is not None:
                    member.paused_until = FAR
                    self.activity["members paused after silent rounds"] += 1
            for user, times in placed.items():
                if times > 1:
                    self.violation(f"{user} placed {times} times in round {slot_key}")
                if user not in expected:
                    self.violation(f"{user} placed in round {slot_key} without being eligible")
            sizes = Counter(len(users) for users in groups.values())
            if set(sizes) - {2, 3} or sizes.get(3, 0) > 1:
                self.violation(f"round {slot_key} has groups of sizes {dict(sizes)}")
            for space_key, users in groups.items():
                self.reconcile(("open", cm.ext, space_key, tuple(sorted(users))), 1)
            for user in expected - set(placed):
                self.reconcile(("nobody", cm.ext, user), 1)
                self.activity["members told nobody was free this round"] += 1
            self.activity["pairing rounds started"] += 1
            self.activity["pairs and triads made"] += len(groups)
            self.activity["members placed in rounds"] += len(placed)
            return result

        rounds.start_round = start_round  # type: ignore[method-assign]
        original_late = rounds.place_late

        async def place_late(tx, community, prefix, member_id, now):  # type: ignore[no-untyped-def]
            """Someone placed during a running round: their new space is expected once."""
            result = await original_late(tx, community, prefix, member_id, now)
            if result is not None:
                cm = self.by_ext[community.external_id]
                rows = await tx.fetchall(
                    "SELECT p.space_key, m.platform_user_id FROM pairs p"
                    " JOIN pair_members pm ON pm.pair_id = p.id JOIN members m ON m.id = pm.member_id"
                    " WHERE p.id = (SELECT MAX(id) FROM pairs WHERE round_id = ?)",
                    (result.id,),
                )
                users = tuple(sorted(row[1] for row in rows))
                self.reconcile(("open", cm.ext, rows[0][0], users), 1)
                self.activity["members placed during a running round"] += 1
            return result

        rounds.place_late = place_late  # type: ignore[method-assign]

    # -- running one command --------------------------------------------------------------------

    def parse(self, line: str) -> ParsedCommand | None:
        """What the core will read from a line (for the model; lines repeat, so remembered)."""
        if line in self.parsed:
            return self.parsed[line]
        try:
            parsed: ParsedCommand | None = parse_text(self.registry, line, mention)
        except ParseError:
            parsed = None
        if len(self.parsed) > 20_000:
            self.parsed.clear()
        if "ZQ" not in line:  # lines carrying a private text never repeat
            self.parsed[line] = parsed
        return parsed

    def invocation(self, cm: CommunityModel, member: MemberModel, private: bool) -> Invocation:
        return Invocation(
            community=cm.ref,
            actor=Actor(member.user, member.user, member.facilitator),
            channel=None if private else CHANNEL,
            private=private,
        )

    async def member_db_id(self, cm: CommunityModel, user: str) -> int | None:
        if cm.db_id is None:
            return None
        row = await self.db.fetchone(
            "SELECT id FROM members WHERE community_id = ? AND platform_user_id = ?", (cm.db_id, user)
        )
        return None if row is None else row[0]

    async def confirmation_target(self, cm: CommunityModel, member: MemberModel, wanted: int | None) -> tuple | None:
        """The confirmation a `yes`/`no` will answer, read before it runs: (id, action, agreement
        db id or None, expired at the moment)."""
        member_id = await self.member_db_id(cm, member.user)
        if member_id is None:
            return None
        rows = await self.db.fetchall(
            "SELECT id, action, payload, expires_at FROM confirmations WHERE member_id = ? ORDER BY id DESC",
            (member_id,),
        )
        for row in rows:
            if wanted is None or row[0] == wanted:
                agreement = None
                if row[1] == "agreement.invite":
                    payload = json.loads(self.cipher.decrypt(row[2], "confirmation.payload"))
                    agreement = int(payload.get("agreement", 0))
                return (row[0], row[1], agreement, row[3] < self.clock.now().isoformat())
        return None

    async def run(self, cm: CommunityModel, member: MemberModel, line: str, private: bool, *, fuzzed: bool = False) -> tuple[str, list[Intent]]:
        """Run one command line (without its prefix), as an adapter would, and learn from it."""
        phase = self.phase
        parsed = self.parse(line)
        target = None
        if parsed is not None and parsed.spec.name in ("yes", "no"):
            target = await self.confirmation_target(cm, member, parsed.args.get("id"))
        invocation = self.invocation(cm, member, private)
        self.outcome = None
        started = time.perf_counter()
        try:
            intents = await self.app.handle_text(invocation, line, mention)
            await self.app.deliver_pending()
        except Exception as error:  # noqa: BLE001 - any escape is a finding
            self.violation(f"command {line[:40]!r} raised {type(error).__name__}: {error}")
            intents = []
        elapsed = time.perf_counter() - started
        outcome = self.outcome or "none"
        name = parsed.spec.name if parsed is not None else "(unparsable)"
        phase.latencies.append(elapsed)
        phase.by_command.setdefault(name, array("d")).append(elapsed)
        phase.outcomes[outcome] += 1
        if fuzzed:
            phase.fuzzed_commands += 1
        if outcome == "error":
            self.violation(f"{name} ended in the error outcome ({'fuzzed' if fuzzed else 'driver'})")
        if outcome == "none":
            self.violation(f"{name} reported no outcome")
        if cm.db_id is None:
            row = await self.db.fetchone(
                "SELECT id FROM communities WHERE platform = ? AND external_id = ?", (PLATFORM, cm.ext)
            )
            cm.db_id = row[0] if row else None
        for intent in intents:
            public = isinstance(intent, Answer) and not intent.private
            for text in _texts(intent):
                self.check_tokens(cm, text, None if public else frozenset({member.user}), f"an answer to {name}")
            if isinstance(intent, ConfirmPrompt):
                member.prompts.append(intent.confirmation_id)
        if outcome == "done" and parsed is not None:
            self.apply(cm, member, parsed, intents, target)
        return outcome, intents

    # -- what a command that succeeded should have done ------------------------------------------

    def resolve_agreement(self, cm: CommunityModel, member: MemberModel, ident: str | None) -> AgreementModel | None:
        if ident is not None:
            short = normalise_short_id(ident)
            found = cm.agreements.get(short) if short else None
            return found if found is not None and member.user in found.parties else None
        mine = [
            cm.agreements[s] for s in member.agreements
            if member.user in cm.agreements[s].parties and cm.agreements[s].status != "withdrawn"
        ]
        return mine[0] if len(mine) == 1 else None

    def apply(self, cm: CommunityModel, member: MemberModel, parsed: ParsedCommand, intents: list[Intent], target: tuple | None) -> None:
        name, args = parsed.spec.name, parsed.args
        now = self.clock.now()
        if name == "pair leave":
            member.in_pairing, member.paused_until = False, None
        elif name == "pair pause":
            member.paused_until = now + timedelta(days=args["days"]) if args.get("days") else FAR
        elif name == "pair resume":
            member.paused_until = None
        elif name == "questions schedule":
            recurrence = args["recurrence"]
            tz = recurrence.timezone or "UTC"
            rec = parse_recurrence(recurrence.text, tz, now.astimezone(ZoneInfo(tz)).date())
            self._close_questions(cm, now)
            cm.question_periods.append(QuestionPeriod(rec, now))
        elif name == "questions pause":
            self._close_questions(cm, now)
        elif name == "questions resume":
            if cm.question_periods:
                cm.question_periods.append(QuestionPeriod(cm.question_periods[-1].recurrence, now))
        elif name == "questions now":
            cm.questions_now += 1
        elif name == "pair schedule":
            if cm.pair_recurrence is not None:
                self.violation(f"{cm.ext}: the driver scheduled pairing twice (not modelled)")
            words = args["recurrence"].split()
            cm.pair_recurrence = parse_recurrence(" ".join(words), "UTC", now.date())
            cm.pair_from = now
        elif name in ("yes", "no"):
            self._answered(cm, member, name == "yes", target)
        elif name == "agreement start":
            self._started(cm, member, args, intents)
        elif name.startswith("agreement ") and name not in ("agreement view", "agreement history", "agreement invitations"):
            ident = args.get("id")
            text = args.get("text")
            if name in ("agreement edit", "agreement amend") and ident is not None and section_step(ident) is not None:
                text = " ".join(part for part in (args.get("section"), text) if part) or None
                ident = None
            agreement = self.resolve_agreement(cm, member, ident)
            if agreement is None:
                self.violation(f"{name} succeeded for {member.user} in {cm.ext} where the model has no agreement for it")
                return
            self._agreement_step(agreement, member.user, name, text, now)
        elif name == "checkin":
            answer = (args.get("answer") or "").strip().lower().strip(".!")
            if answer in ("revisit", "revisiting"):
                self.violation("a check-in answered 'revisit' (the driver never sends it; not modelled)")

    def _close_questions(self, cm: CommunityModel, now: datetime) -> None:
        if cm.question_periods and cm.question_periods[-1].end is None:
            cm.question_periods[-1].end = now

    def _answered(self, cm: CommunityModel, member: MemberModel, yes: bool, target: tuple | None) -> None:
        if target is None:
            self.violation(f"a {'yes' if yes else 'no'} from {member.user} succeeded with nothing pending")
            return
        confirmation_id, action, agreement_db_id, expired = target
        if confirmation_id in member.prompts:
            member.prompts.remove(confirmation_id)
        if expired:
            return
        if action == "pair.join":
            if yes and not member.in_pairing:
                member.in_pairing, member.paused_until = True, None
                self.activity["pairing joins"] += 1
        elif action == "agreement.invite":
            agreement = cm.by_db_id.get(agreement_db_id or 0)
            if agreement is None:
                self.violation(f"an invitation to an agreement the model does not know ({cm.ext})")
                return
            if agreement.status == "withdrawn" or member.user not in agreement.invited:
                return
            agreement.invited.discard(member.user)
            if yes:
                agreement.parties.add(member.user)
                self.activity["agreement invitations accepted"] += 1
            else:
                self.activity["agreement invitations declined"] += 1
                if len(agreement.parties) + len(agreement.invited) < 2:
                    agreement.status, agreement.proposal = "withdrawn", False
                    agreement.withdrawn_at = self.clock.now()
        elif action == "mydata.forget":
            if yes:
                self._forgotten(cm, member)
        else:
            self.violation(f"an answer to a confirmation the soak does not model: {action}")

    def _forgotten(self, cm: CommunityModel, member: MemberModel) -> None:
        self.activity["members who erased their data"] += 1
        member.in_pairing, member.paused_until = False, None
        member.prompts.clear()
        member.checkin_open = False
        now = self.clock.now()
        for short in member.agreements:
            agreement = cm.agreements[short]
            if member.user in agreement.invited:
                if agreement.status != "withdrawn":
                    agreement.invited.discard(member.user)
                    if len(agreement.parties) + len(agreement.invited) < 2:
                        agreement.status, agreement.proposal, agreement.withdrawn_at = "withdrawn", False, now
                continue
            if member.user in agreement.parties:
                if agreement.status != "withdrawn":
                    agreement.status, agreement.proposal, agreement.withdrawn_at = "withdrawn", False, now
                agreement.erased = True
        member.agreements = []

    def _started(self, cm: CommunityModel, member: MemberModel, args: dict[str, Any], intents: list[Intent]) -> None:
        text = " ".join(i.text for i in intents if isinstance(i, Answer))
        found = SHORT_ID.search(text)
        if found is None:
            self.violation(f"agreement start succeeded without naming the agreement ({cm.ext})")
            return
        short = found.group(1)
        if short in cm.agreements:
            return  # asked again: the same agreement, invitations re-sent
        # As the core does: up to three names, naming yourself ignored (a triad's welcome names all).
        names = (args["member"], args.get("member2"), args.get("member3"))
        invitees = tuple(dict.fromkeys(u for u in names if u and u != member.user))
        # The core looks the agreement up by its short id only for the database id.
        self.pending_db_ids.append((cm, short, member.user, invitees))

    async def settle_started(self) -> None:
        while self.pending_db_ids:
            cm, short, starter, invitees = self.pending_db_ids.pop()
            row = await self.db.fetchone(
                "SELECT id FROM agreements WHERE community_id = ? AND short_id = ?", (cm.db_id, short)
            )
            if row is None:
                self.violation(f"agreement #{short} was started but is not stored ({cm.ext})")
                continue
            agreement = AgreementModel(short, row[0], starter, invitees)
            cm.agreements[short] = agreement
            cm.by_db_id[row[0]] = agreement
            for user in agreement.people:
                if user in cm.by_user:
                    cm.by_user[user].agreements.append(short)
            self.activity["agreements started"] += 1

    async def accept_line(self, agreement: AgreementModel, ref: str) -> str:
        """Accepting names the version the member was sent (`agreement accept #id v2`)."""
        row = await self.db.fetchone("SELECT proposal_version FROM agreements WHERE id = ?", (agreement.db_id,))
        version = row[0] if row is not None and row[0] is not None else 1
        return f"/agreement accept {ref} v{version}"

    def _agreement_step(self, agreement: AgreementModel, user: str, name: str, text: str | None, now: datetime) -> None:
        if name in ("agreement edit", "agreement amend"):
            if text is not None and agreement.proposal:
                agreement.accepted = {user}
                self.activity["agreement amendments"] += 1
        elif name == "agreement propose":
            agreement.status = "revisiting" if agreement.status == "revisiting" else "proposed"
            agreement.proposal, agreement.accepted = True, {user}
            self.activity["agreement versions proposed"] += 1
        elif name == "agreement accept":
            agreement.accepted.add(user)
            if agreement.accepted >= agreement.parties:
                agreement.status, agreement.proposal, agreement.accepted = "agreed", False, set()
                self.activity["agreements agreed (incl. again after revisiting)"] += 1
        elif name == "agreement revisit":
            agreement.status, agreement.proposal = "revisiting", False
            self.activity["agreements revisited"] += 1
        elif name == "agreement withdraw":
            agreement.status, agreement.proposal, agreement.withdrawn_at = "withdrawn", False, now
            self.activity["agreements withdrawn"] += 1

    # -- what members do --------------------------------------------------------------------------

    async def command(self, cm: CommunityModel, member: MemberModel, line: str, private: bool = True) -> tuple[str, list[Intent]]:
        """A command the driver means; in the fuzz phase some are replaced by fuzzed ones."""
        if self.phase.fuzzed and self.fuzz_rng.random() < self.config.fuzz_share:
            actor = member if not member.facilitator else self.rng.choice(cm.regulars or cm.members)
            if not actor.facilitator:
                fuzz = self.fuzz_line(cm)
                outcome, intents = await self.run(cm, actor, fuzz, self.fuzz_rng.random() < 0.5, fuzzed=True)
                await self.settle_started()
                return "fuzzed", []
        outcome, intents = await self.run(cm, member, line.removeprefix("/"), private)
        await self.settle_started()
        return outcome, intents

    async def session(self, cm: CommunityModel, member: MemberModel, follow_up: bool) -> None:
        rng = self.rng
        now = self.clock.now()
        self.activity["member sessions"] += 1
        # Things waiting for them come first.
        if member.prompts and rng.random() < 0.85:
            confirmation = member.prompts[0]
            word = "yes" if rng.random() < 0.85 else "no"
            await self.command(cm, member, f"/{word} {confirmation}")
            return
        waiting = [
            cm.agreements[s] for s in member.agreements
            if member.user in cm.agreements[s].parties
            and cm.agreements[s].proposal and member.user not in cm.agreements[s].accepted
        ]
        if waiting and rng.random() < 0.8:
            agreement = waiting[0]
            if rng.random() < 0.8:
                await self.command(cm, member, await self.accept_line(agreement, f"#{agreement.short}"))
            else:
                await self.write_section(cm, member, agreement, amend=True)
            return
        if member.checkin_open and (follow_up or rng.random() < 0.5):
            await self.checkin(cm, member)
            return
        if follow_up and rng.random() < 0.5:
            return  # opened the notice and let it be
        if member.facilitator and rng.random() < 0.5:
            await self.facilitate(cm, member)
            return
        await self.ordinary(cm, member, now)

    async def ordinary(self, cm: CommunityModel, member: MemberModel, now: datetime) -> None:
        rng = self.rng
        choices: list[tuple[float, str]] = [
            (1.0, "help"), (1.0, "resources"), (0.8, "questions status"), (0.6, "space-agreement show"),
            (0.5, "space-agreement changes"), (0.2, "suggest"), (0.02, "mydata export"),
        ]
        if cm.space_changes:
            choices.append((0.8, "space agree"))
        choices.append((0.15, "space propose"))
        if member.in_pairing:
            choices += [(2.5, "pair status"), (0.1, "pair not-with"), (0.08, "pair leave")]
            if member.paused_until is not None:
                choices.append((1.5, "pair resume"))
            else:
                choices.append((0.35, "pair pause"))
            space = cm.space_of.get(member.user)
            if space is not None:
                choices += [(0.06, "pair end"), (0.9, "agreement start")]
        elif member.wants_pairing:
            choices.append((6.0, "pair join"))
        elif rng.random() < 0.02:
            choices.append((1.0, "pair join"))
        mine = [
            cm.agreements[s] for s in member.agreements
            if member.user in cm.agreements[s].parties and cm.agreements[s].status != "withdrawn"
        ]
        if mine:
            choices.append((4.0, "agreement work"))
        if member.checkin_open:
            choices.append((1.0, "checkin"))
        total = sum(w for w, _ in choices)
        pick = rng.uniform(0, total)
        what = choices[-1][1]
        for weight, option in choices:
            pick -= weight
            if pick <= 0:
                what = option
                break
        channel = not member.in_pairing and rng.random() < 0.5
        if what == "help":
            await self.command(cm, member, rng.choice(["/help", "/help pair", "/help agreement", "/help checkin"]), not channel)
        elif what == "resources":
            await self.command(cm, member, "/resources", not channel)
        elif what == "questions status":
            await self.command(cm, member, "/questions status", not channel)
        elif what == "space-agreement show":
            await self.command(cm, member, "/space-agreement show", not channel)
        elif what == "space-agreement changes":
            await self.command(cm, member, "/space-agreement changes", not channel)
        elif what == "suggest":
            await self.command(cm, member, f"/questions suggest {rng.choice(SUGGESTIONS)}", not channel)
            self.activity["questions suggested"] += 1
        elif what == "mydata export":
            await self.command(cm, member, "/mydata export")
        elif what == "space agree":
            await self.command(cm, member, f"/space-agreement agree {rng.choice(cm.space_changes[-3:])}", False)
        elif what == "space propose":
            section = rng.choice([k for k in SPACE_KEYS if k != "duty-of-care"])
            outcome, intents = await self.command(cm, member, f"/space-agreement propose {section} {rng.choice(SPACE_TEXTS)}", False)
            if outcome == "done":
                found = CHANGE_NUMBER.search(" ".join(i.text for i in intents if isinstance(i, Answer)))
                if found:
                    cm.space_changes.append(int(found.group(1)))
                    self.activity["space-agreement changes proposed"] += 1
        elif what == "pair join":
            outcome, intents = await self.command(cm, member, "/pair join")
            prompt = next((i for i in intents if isinstance(i, ConfirmPrompt)), None)
            if prompt is not None and rng.random() < 0.9:
                word = "yes" if rng.random() < 0.95 else "no"
                await self.command(cm, member, f"/{word} {prompt.confirmation_id}")
        elif what == "pair status":
            await self.command(cm, member, "/pair status")
        elif what == "pair not-with":
            other = rng.choice(cm.members)
            if other is not member:
                await self.command(cm, member, f"/pair not-with @{other.user}")
        elif what == "pair leave":
            await self.command(cm, member, "/pair leave")
        elif what == "pair resume":
            await self.command(cm, member, "/pair resume")
        elif what == "pair pause":
            days = rng.choice(["", " 2", " 7", " 10", " 21"])
            await self.command(cm, member, f"/pair pause{days}")
        elif what == "pair end":
            await self.command(cm, member, "/pair end")
        elif what == "agreement start":
            space = cm.space_of.get(member.user)
            partners = [u for u in cm.spaces.get(space or "", ()) if u != member.user]
            if partners:
                people = {member.user, *partners}
                already = any(
                    set(cm.agreements[s].people) == people and cm.agreements[s].status != "withdrawn"
                    for s in member.agreements
                )
                if not already or rng.random() < 0.1:
                    await self.command(cm, member, "/agreement start " + " ".join(f"@{u}" for u in partners))
        elif what == "agreement work":
            await self.agreement_work(cm, member, rng.choice(mine))
        elif what == "checkin":
            await self.checkin(cm, member)

    async def agreement_work(self, cm: CommunityModel, member: MemberModel, agreement: AgreementModel) -> None:
        rng = self.rng
        ref = f"#{agreement.short}"
        roll = rng.random()
        if roll < 0.03:
            await self.command(cm, member, f"/agreement withdraw {ref}")
            return
        status = agreement.status
        if status == "draft":
            if agreement.written[member.user] < 2 or agreement.invited or roll < 0.4:
                await self.write_section(cm, member, agreement)
            elif roll < 0.85:
                await self.command(cm, member, f"/agreement propose {ref}")
            else:
                await self.command(cm, member, f"/agreement view {ref}")
        elif agreement.proposal:
            if member.user not in agreement.accepted:
                if roll < 0.75:
                    await self.command(cm, member, await self.accept_line(agreement, ref))
                else:
                    await self.write_section(cm, member, agreement, amend=True)
            else:
                await self.command(cm, member, f"/agreement view {ref}")
        elif status == "agreed":
            if roll < 0.5:
                await self.command(cm, member, f"/agreement view {ref}")
            elif roll < 0.7:
                await self.command(cm, member, f"/agreement history {ref}")
            elif roll < 0.85:
                await self.command(cm, member, f"/agreement revisit {ref}")
            else:
                await self.command(cm, member, f"/agreement withdraw {ref}")
        elif status == "revisiting":
            if roll < 0.5:
                await self.write_section(cm, member, agreement)
            else:
                await self.command(cm, member, f"/agreement propose {ref}")

    async def write_section(self, cm: CommunityModel, member: MemberModel, agreement: AgreementModel, amend: bool = False) -> None:
        rng = self.rng
        section = rng.randint(1, 11)
        verb = "amend" if amend else "edit"
        about = ""
        others = [u for u in agreement.parties if u != member.user]
        if amend and others and rng.random() < 0.2:
            about = f"@{rng.choice(others)} "
        text = self.secret(agreement.people, rng.choice(SECTION_LEADS))
        outcome, _ = await self.command(cm, member, f"/agreement {verb} #{agreement.short} {section} {about}{text}")
        if outcome == "done":
            agreement.written[member.user] += 1
            self.activity["agreement sections written"] += 1

    async def checkin(self, cm: CommunityModel, member: MemberModel) -> None:
        rng = self.rng
        step = member.checkin_step
        if step == 0:
            answer = rng.choice(["1", "2", "3", "4", "5", "4", "skip"])
        elif rng.random() < 0.15:
            answer = rng.choice(["done", "skip"])
        else:
            share = rng.random() < 0.3
            space = cm.space_of.get(member.user)
            allowed = cm.spaces.get(space, (member.user,)) if share and space else (member.user,)
            agreement = cm.agreements.get(member.agreement_checkin or "")
            if agreement is not None and share:
                # The newest check-in asked is the agreement's (unless it closed meanwhile, as
                # when the agreement was withdrawn: then the pair's takes the answer).
                allowed = tuple(set(allowed) | agreement.parties)
            text = self.secret(tuple(allowed), rng.choice(CHECKIN_LEADS))
            answer = f"share {text}" if share else text
        outcome, _ = await self.command(cm, member, f"/checkin {answer}")
        if member.agreement_checkin is not None and outcome in ("done", "refused"):
            member.agreement_checkin = None  # answered (or no longer open): the pair's is next
            return
        if outcome == "done":
            self.activity["check-in answers"] += 1
            member.checkin_step += 1
            if answer == "done" or member.checkin_step >= 3:
                member.checkin_open = False
        elif outcome == "refused":
            member.checkin_open = False

    async def facilitate(self, cm: CommunityModel, member: MemberModel) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            outcome, intents = await self.command(cm, member, "/questions review")
            ids = SUGGESTION_ID.findall(" ".join(i.text for i in intents if isinstance(i, Answer)))
            for suggestion in ids[:3]:
                if rng.random() < 0.4:
                    outcome, _ = await self.command(cm, member, f"/questions approve {suggestion}")
                    self.activity["suggestions approved"] += outcome == "done"
                else:
                    await self.command(cm, member, f"/questions decline {suggestion} Thank you; it's close to one we have.")
        elif roll < 0.5:
            await self.command(cm, member, "/pair stats")
        elif roll < 0.6 and cm.space_changes:
            await self.command(cm, member, f"/space-agreement adopt {rng.choice(cm.space_changes[-3:])}")
        elif roll < 0.63:
            await self.command(cm, member, "/questions now", private=False)
        elif roll < 0.65 and cm.question_periods and cm.paused_questions_until is None:
            outcome, _ = await self.command(cm, member, "/questions pause")
            if outcome == "done":
                cm.paused_questions_until = self.clock.now() + timedelta(days=rng.randint(10, 30))
        else:
            await self.command(cm, member, "/questions status")

    async def weekly_facilitation(self, cm: CommunityModel, week: int) -> None:
        """The facilitators' own rhythm: set the schedules up, resume paused questions."""
        rng = self.rng
        lead = cm.facilitators[0]
        if week == cm.questions_scheduled_week and not cm.question_periods:
            day = rng.choice(WEEKDAYS)
            tz = rng.choice(["", "", " Europe/London", " America/New_York", " Asia/Tokyo"])
            await self.command(cm, lead, f"/questions schedule weekly {day} {rng.randint(8, 20)}:{rng.choice(['00', '30'])}{tz}", private=False)
            if week == 0 and rng.random() < 0.6:
                await self.command(cm, lead, "/space-agreement draft", private=False)
        if week == cm.pairing_week and cm.pair_recurrence is None:
            day = rng.choice(WEEKDAYS[:5])
            await self.command(cm, lead, f"/pair schedule every 2 weeks {day} 10:00", private=False)
        if cm.paused_questions_until is not None and self.clock.now() >= cm.paused_questions_until:
            outcome, _ = await self.command(cm, lead, "/questions resume")
            cm.paused_questions_until = None

    # -- fuzzing --------------------------------------------------------------------------------

    def nasty_text(self) -> str:
        rng = self.fuzz_rng
        kind = rng.random()
        if kind < 0.3:
            return "".join(chr(rng.randint(32, 0x2FF)) for _ in range(rng.randint(0, 60)))
        if kind < 0.5:
            pools = (range(0, 0x80), range(0x80, 0x800), range(0x800, 0xD800), range(0xE000, 0x10000), range(0x10000, 0x30000))
            out = []
            for _ in range(rng.randint(0, 300)):
                pool = rng.choice(pools)
                out.append(chr(rng.choice(pool)))
            return "".join(out)
        if kind < 0.7:
            return "".join(rng.choice(CONTROL_ALPHABET) for _ in range(rng.randint(0, 40)))
        return rng.choice(NASTY_SAMPLES)

    def fuzz_argument(self, cm: CommunityModel, arg_type: ArgType) -> str:
        rng = self.fuzz_rng
        if rng.random() < 0.4:
            return self.nasty_text()
        if arg_type is ArgType.INT:
            return str(rng.randint(-10**12, 10**12)) if rng.random() < 0.5 else str(rng.randint(-3, 400))
        if arg_type is ArgType.MEMBER:
            other = rng.choice(self.communities)
            return "@" + rng.choice([rng.choice(cm.members).user, rng.choice(other.members).user, "nobody", "ghost:example.org"])
        if arg_type is ArgType.RECURRENCE:
            return rng.choice(RECURRENCES)
        if arg_type is ArgType.TIMEZONE:
            return rng.choice(["UTC", "Europe/Paris", "Mars/Base", "utc"])
        return self.nasty_text()

    def fuzz_line(self, cm: CommunityModel) -> str:
        rng = self.fuzz_rng
        if rng.random() < 0.2:
            return self.nasty_text()
        spec: CommandSpec = rng.choice(self.specs)
        words = [spec.name]
        for arg in spec.args:
            if arg.required or rng.random() < 0.5:
                if arg.choices and rng.random() < 0.5:
                    words.append(rng.choice(arg.choices))
                else:
                    words.append(self.fuzz_argument(cm, arg.type))
        line = " ".join(words)
        # A check-in answered "revisit" opens an agreement for revisiting: the one answer the
        # model does not follow (it cannot tell which provider took it), so it is never sent.
        if spec.name == "checkin" and line.split(" ", 1)[-1].strip().lower().strip(".!") in ("revisit", "revisiting"):
            return "checkin skip"
        return line

    # -- running phases ---------------------------------------------------------------------------

    async def advance_to(self, instant: datetime) -> None:
        await self.driver.advance_to(instant, after_each=self._after_job)

    async def _after_job(self) -> None:
        started = time.perf_counter()
        await self.app.deliver_pending()
        delivered = time.perf_counter() - started
        self.phase.job_runs.append(self.job_time + delivered)
        self.phase.job_kinds[self.job_kind] += 1
        self.phase.job_seconds[self.job_kind] += self.job_time + delivered

    async def end_of_day(self) -> None:
        """With several processes: what each does now and then (read what the others changed,
        deliver what they left), then wait until every process has reached the same instant, so
        the simulated clocks stay within a day of each other as real clocks would."""
        cfg = self.config
        if cfg.barrier is None:
            return
        started = time.perf_counter()
        await self.app.upkeep()
        self.upkeep_seconds += time.perf_counter() - started
        self.days_done += 1
        mine = cfg.barrier / f"part-{cfg.part}"
        mine.with_suffix(".tmp").write_text(str(self.days_done))
        mine.with_suffix(".tmp").replace(mine)
        started = time.perf_counter()
        others = [cfg.barrier / f"part-{k}" for k in range(cfg.parts) if k != cfg.part]
        while any(_day_reached(path) < self.days_done for path in others):
            await asyncio.sleep(0.002)
        self.barrier_seconds += time.perf_counter() - started

    async def run_phase(self, phase: PhaseFigures, first_week: int) -> None:
        self.phase = phase
        cfg = self.config
        rng = self.rng
        started = time.perf_counter()
        cpu_started = _cpu_seconds()
        load_started = os.getloadavg()[0]
        rate = cfg.sessions_per_member_week / 7
        week_commands = week_jobs = 0
        week_kinds: Counter = Counter(phase.job_seconds)
        for week in range(first_week, first_week + phase.weeks):
            week_start = START + timedelta(weeks=week)
            for cm in self.communities:
                # Facilitators set things up on Monday morning (their local rhythm aside).
                self.push(week_start + timedelta(hours=9, seconds=rng.uniform(0, 3600)), "weekly", cm.index, str(week))
            for day in range(7):
                day_start = week_start + timedelta(days=day)
                for cm in self.communities:
                    sessions = _poisson(rng, len(cm.members) * rate)
                    for _ in range(sessions):
                        member = rng.choices(cm.members, cum_weights=cm.cum_weights)[0]
                        at = day_start + timedelta(seconds=rng.uniform(7 * 3600, 23.5 * 3600))
                        self.push(at, "session", cm.index, member.user)
                day_end = day_start + DAY
                while self.events and self.events[0][0] < day_end:
                    at, _, kind, index, who = heapq.heappop(self.events)
                    await self.advance_to(at)
                    cm = self.by_index[index]
                    if kind == "weekly":
                        await self.weekly_facilitation(cm, int(who))
                    else:
                        await self.session(cm, cm.by_user[who], kind == "follow-up")
                await self.advance_to(day_end)
                await self.end_of_day()
            if cfg.progress is not None:
                commands = len(phase.latencies)
                this_week = phase.latencies[week_commands:]
                jobs = sum(phase.job_runs[week_jobs:])
                kinds = phase.job_seconds - week_kinds
                week_kinds = Counter(phase.job_seconds)
                cfg.progress(
                    f"  {phase.name}: week {week + 1 - first_week}/{phase.weeks}, {commands:,} commands"
                    f" (this week {len(this_week):,}: p50 {percentile(this_week, 0.5) * 1000:.2f} ms,"
                    f" p99 {percentile(this_week, 0.99) * 1000:.1f} ms, {sum(this_week):.1f} s; jobs {jobs:.1f} s"
                    f" [{', '.join(f'{k} {v:.1f}' for k, v in sorted(kinds.items()))}]),"
                    f" {time.perf_counter() - started:.0f} s, RSS {peak_rss_mb():.0f} MB"
                )
            week_commands, week_jobs = len(phase.latencies), len(phase.job_runs)
        phase.wall = time.perf_counter() - started
        phase.cpu = _cpu_seconds() - cpu_started
        phase.load = (load_started, os.getloadavg()[0])

    # -- checking at the end ----------------------------------------------------------------------

    async def check(self) -> list[tuple[str, str]]:
        checks: list[tuple[str, str]] = []
        now = self.clock.now()
        db = self.db

        # Outbox: every message for this process's communities delivered exactly once (here: the
        # process serving a community delivers for it), nothing pending.
        mine = [cm.db_id for cm in self.communities if cm.db_id is not None]
        marks = ", ".join("?" * len(mine)) or "NULL"
        rows = await db.fetchall(f"SELECT id, sent_at FROM outbox WHERE community_id IN ({marks})", mine)
        missing = [r[0] for r in rows if not self.sink.was_delivered(r[0])]
        pending = sum(1 for r in rows if r[1] is None)
        for outbox_id in missing[:10]:
            self.violation(f"outbox message {outbox_id} never delivered")
        if pending:
            self.violation(f"{pending} outbox messages still pending at the end")
        checks.append(
            ("every message delivered exactly once",
             f"{len(rows):,} outbox messages kept, {self.sink.count:,} deliveries, {self.sink.duplicates} doubled,"
             f" {len(missing)} missing, {pending} pending")
        )

        # Questions: each scheduled slot exactly once, each `questions now` once, each posted once.
        expected_slots = 0
        stored_slots = 0
        manual = 0
        for cm in self.communities:
            if cm.db_id is None:
                continue
            self._close_questions(cm, now)
            expected = set()
            for period in cm.question_periods:
                end = period.end or now
                for slot in period.recurrence.fires_between(period.start, end, limit=10_000):
                    expected.add(f"q:{cm.db_id}:{slot.isoformat()}")
            rows = await db.fetchall(
                "SELECT id, slot_key FROM question_postings WHERE community_id = ?", (cm.db_id,)
            )
            stored = {r[1] for r in rows if ":manual:" not in r[1]}
            manual_here = sum(1 for r in rows if ":manual:" in r[1])
            expected_slots += len(expected)
            stored_slots += len(stored)
            manual += manual_here
            for key in sorted(expected - stored)[:3]:
                self.violation(f"question slot {key} was never posted")
            for key in sorted(stored - expected)[:3]:
                self.violation(f"question slot {key} was posted but never scheduled")
            if manual_here != cm.questions_now:
                self.violation(f"{cm.ext}: {cm.questions_now} questions now, {manual_here} manual postings")
            for posting_id, _ in rows:
                seen = self.sink.question_posts.pop((cm.ext, posting_id), 0)
                if seen != 1:
                    self.violation(f"question posting {posting_id} in {cm.ext} delivered {seen} times")
        for ext, posting_id in list(self.sink.question_posts)[:5]:
            self.violation(f"a question post {posting_id} in {ext} delivered without a posting")
        checks.append(
            ("every scheduled question slot posted exactly once",
             f"{expected_slots:,} slots expected from the schedules, {stored_slots:,} stored,"
             f" {manual} posted with questions now; each posting delivered once")
        )

        # Pairing: every scheduled round started once; placements reconciled with deliveries.
        expected_rounds = 0
        for cm in self.communities:
            if cm.pair_recurrence is None or cm.pair_from is None or cm.db_id is None:
                continue
            expected = {
                self.app.pairing.rounds.slot_key(cm.db_id, slot)
                for slot in cm.pair_recurrence.fires_between(cm.pair_from, now, limit=10_000)
            }
            expected_rounds += len(expected)
            for key in sorted(expected - cm.rounds_seen)[:3]:
                self.violation(f"pairing round {key} never started")
            for key in sorted(cm.rounds_seen - expected)[:3]:
                self.violation(f"pairing round {key} started but was never scheduled")
        unmatched = [key for key, value in self.expected.items() if value]
        for key in unmatched[:10]:
            what = "never delivered" if self.expected[key] > 0 else "delivered without being made"
            self.violation(f"{key[0]} {key[1:]} {what} ({self.expected[key]:+d})")
        doubled = await db.fetchall(
            "SELECT p.round_id, pm.member_id, COUNT(*) FROM pairs p JOIN pair_members pm ON pm.pair_id = p.id"
            " WHERE p.origin IS NULL GROUP BY p.round_id, pm.member_id HAVING COUNT(*) > 1"
        )
        for round_id, member_id, times in doubled[:5]:
            self.violation(f"member {member_id} is in {times} pairs of round {round_id}")
        checks.append(
            ("every pairing round placed each eligible member exactly once",
             f"{expected_rounds:,} rounds scheduled, {sum(len(c.rounds_seen) for c in self.communities):,} started;"
             f" {self.activity['members placed in rounds']:,} placements checked against the commands issued,"
             f" each space opened once ({len(unmatched)} unmatched), no member twice in a stored round")
        )

        # Pairing membership and pauses match the commands issued.
        mismatched = 0
        participants = 0
        for cm in self.communities:
            if cm.db_id is None:
                continue
            rows = await db.fetchall(
                "SELECT m.platform_user_id, p.status FROM pair_participants p JOIN members m ON m.id = p.member_id"
                " WHERE p.community_id = ?",
                (cm.db_id,),
            )
            stored = {r[0]: r[1] for r in rows}
            participants += len(stored)
            for member in cm.members:
                want = None if not member.in_pairing else ("active" if member.active_at(now) else "paused")
                if stored.get(member.user) != want:
                    mismatched += 1
                    self.violation(f"{member.user}: pairing is {stored.get(member.user)} in storage, {want} by the commands")
        checks.append(
            ("pairing membership and pauses as the commands left them",
             f"{participants:,} participants at the end, {mismatched} differ")
        )

        # Agreements: none lost, each in a state the commands allow, none nobody started.
        rows = await db.fetchall(
            "SELECT id, community_id, short_id, status, proposal_hash, in_force_hash FROM agreements"
            f" WHERE community_id IN ({marks})",
            mine,
        )
        stored_ag = {r[0]: r for r in rows}
        party_rows = await db.fetchall(
            "SELECT p.agreement_id, m.platform_user_id, p.status FROM agreement_parties p JOIN members m ON m.id = p.member_id"
            f" WHERE m.community_id IN ({marks})",
            mine,
        )
        joined: dict[int, set[str]] = {}
        invited: dict[int, set[str]] = {}
        for agreement_id, user, status in party_rows:
            (joined if status == "joined" else invited).setdefault(agreement_id, set()).add(user)
        retention = timedelta(days=self.settings.agreements.retention_days)
        known = 0
        states: Counter = Counter()
        for cm in self.communities:
            for agreement in cm.agreements.values():
                known += 1
                states[agreement.status] += 1
                row = stored_ag.pop(agreement.db_id, None)
                label = f"agreement #{agreement.short} ({cm.ext})"
                if agreement.erased:
                    if row is not None:
                        self.violation(f"{label} should have been erased with a member's data")
                    continue
                if row is None:
                    if agreement.status != "withdrawn":
                        self.violation(f"{label} is lost: {agreement.status} by the commands, gone from storage")
                    elif agreement.withdrawn_at and now < agreement.withdrawn_at + retention:
                        self.violation(f"{label} deleted before its retention period ended")
                    continue
                if row[3] != agreement.status:
                    self.violation(f"{label} is {row[3]} in storage, {agreement.status} by the commands")
                    continue
                if agreement.status == "withdrawn":
                    if agreement.withdrawn_at and now > agreement.withdrawn_at + retention + 2 * DAY:
                        self.violation(f"{label} kept past its retention period")
                    continue
                if joined.get(agreement.db_id, set()) != agreement.parties:
                    self.violation(f"{label}: parties {sorted(joined.get(agreement.db_id, set()))} in storage, {sorted(agreement.parties)} by the commands")
                if invited.get(agreement.db_id, set()) != agreement.invited:
                    self.violation(f"{label}: invited {sorted(invited.get(agreement.db_id, set()))} in storage, {sorted(agreement.invited)} by the commands")
                if bool(row[4]) != agreement.proposal:
                    self.violation(f"{label}: a version {'is' if row[4] else 'is not'} out for acceptance in storage")
                if agreement.status in ("agreed", "revisiting") and not row[5]:
                    self.violation(f"{label}: {agreement.status} with no version in force")
        for row in list(stored_ag.values())[:5]:
            self.violation(f"agreement #{row[2]} (community {row[1]}) is stored but nobody started it")
        checks.append(
            ("no agreement lost",
             f"{known:,} agreements started; at the end "
             + ", ".join(f"{k} {v:,}" for k, v in sorted(states.items()))
             + f"; {len(stored_ag)} stored that nobody started")
        )

        # Leaks: the raw database files (SQLite's file and WAL; PostgreSQL's whole data folder,
        # its WAL included) hold none of the texts written.
        found_tokens = 0
        scanned = 0
        if self.path is not None:
            await db.checkpoint()
            files = [self.path, Path(f"{self.path}-wal")]
        else:
            await db.execute("CHECKPOINT")  # the pages written out to the data files
            data_dir = self.config.data_dir
            files = sorted(p for p in data_dir.rglob("*") if p.is_file()) if data_dir else []
        for path in files:
            if not path.exists():
                continue
            try:
                handle = path.open("rb")
            except FileNotFoundError:  # a temporary file the server removed meanwhile
                continue
            with handle:
                tail = b""
                while chunk := handle.read(8 << 20):
                    block = tail + chunk
                    scanned += len(chunk)
                    for hit in TOKEN_BYTES.findall(block):
                        if hit.decode() in self.secrets:
                            found_tokens += 1
                            if found_tokens <= 5:
                                self.violation(f"private text {hit.decode()} found unencrypted in {path.name}")
                    tail = block[-11:]
        checks.append(
            ("no leaked content",
             f"{len(self.secrets):,} private texts (agreement sections, notes, check-in answers) traced through"
             f" every delivery and answer; {scanned / 2**20:.0f} MB of raw database searched, {found_tokens} found")
        )
        errors = sum(p.outcomes.get("error", 0) for p in self.phases_done)
        checks.append(("no command ended in the error outcome", f"{errors} errors"))
        return checks


def _texts(intent: Intent) -> list[str]:
    if isinstance(intent, PrivateFile):
        return [intent.text, intent.content]
    if isinstance(intent, PairSpaceOpen):
        return [intent.title, intent.text]
    if isinstance(intent, FormRequest):
        return [intent.text, *(f.value for f in intent.fields)]
    text = getattr(intent, "text", None)
    return [text] if isinstance(text, str) else []


def _day_reached(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


async def raw_write_throughput(path: Path, seconds: float) -> float:
    """Single-row transactional writes straight through aiosqlite, with the core's pragmas."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, at TEXT NOT NULL)")
    payload = bytes(120)
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        await conn.execute("BEGIN IMMEDIATE")
        await conn.execute("INSERT INTO t (payload, at) VALUES (?, ?)", (payload, "2026-01-05T09:00:00+00:00"))
        await conn.execute("COMMIT")
        count += 1
    elapsed = time.perf_counter() - started
    await conn.close()
    return count / elapsed


async def run_soak(config: SoakConfig) -> Report:
    handler = CountingHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.WARNING)
    try:
        with tempfile.TemporaryDirectory() as temporary:
            folder = config.folder or Path(temporary)
            folder.mkdir(parents=True, exist_ok=True)
            soak = Soak(config)
            try:
                return await _run(soak, config, folder, handler)
            finally:
                if soak.db_open:
                    await soak.db.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


async def raw_writes(config: SoakConfig, folder: Path, name: str) -> float:
    """Raw single-row write transactions on the soak's engine, half before and half after."""
    if config.raw_write_seconds <= 0:
        return 0.0
    if config.store:
        return await raw_pg_write_throughput(config.store, config.raw_write_seconds / 2)
    return await raw_write_throughput(folder / f"raw-{name}.db", config.raw_write_seconds / 2)


async def raw_pg_write_throughput(url: str, seconds: float) -> float:
    """Single-row transactional writes straight through asyncpg on one connection: BEGIN, INSERT,
    COMMIT, each waiting for the server (what the store's transactions cost at the least)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP TABLE IF EXISTS raw_writes")
        await conn.execute(
            "CREATE TABLE raw_writes (id BIGSERIAL PRIMARY KEY, payload BYTEA NOT NULL, at TEXT NOT NULL)"
        )
        payload = bytes(120)
        count = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO raw_writes (payload, at) VALUES ($1, $2)", payload, "2026-01-05T09:00:00+00:00"
                )
            count += 1
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE raw_writes")
        return count / elapsed
    finally:
        await conn.close()


async def _run(soak: Soak, config: SoakConfig, folder: Path, handler: CountingHandler) -> Report:
    raw_before = await raw_writes(config, folder, "before")
    started = time.perf_counter()
    await soak.open(folder)
    soak.build_world()
    setup = time.perf_counter() - started
    phases = [PhaseFigures("a simulated year of real commands", config.weeks, False)]
    if config.fuzz_weeks:
        phases.append(PhaseFigures(f"the same with {config.fuzz_share:.0%} of commands fuzzed", config.fuzz_weeks, True))
    week = 0
    for phase in phases:
        await soak.run_phase(phase, week)
        soak.phases_done.append(phase)
        week += phase.weeks
    raw_after = await raw_writes(config, folder, "after")
    checks = await soak.check()
    if soak.path is not None:
        db_bytes = soak.path.stat().st_size
        wal = Path(f"{soak.path}-wal")
        wal_bytes = wal.stat().st_size if wal.exists() else 0
    else:
        db_bytes = (await soak.db.fetchone("SELECT pg_database_size(current_database())"))[0]
        wal_bytes = 0
    await soak.db.close()
    soak.db_open = False
    soak.activity["deliveries"] = soak.sink.count
    return Report(
        config=config,
        phases=phases,
        raw_writes_per_second=(raw_before + raw_after) / 2,
        peak_rss_mb=peak_rss_mb(),
        db_bytes=db_bytes,
        wal_bytes=wal_bytes,
        checks=checks,
        violations=soak.violations,
        activity=soak.activity,
        warnings=handler.counts,
        setup_seconds=setup,
        barrier_seconds=soak.barrier_seconds,
        upkeep_seconds=soak.upkeep_seconds,
    )


# -- words the simulated members use ---------------------------------------------------------------

SECTION_LEADS = [
    "I feel safe when we can both say not today,",
    "I notice I go quiet and my messages get shorter,",
    "A walk or sitting together on a call has helped me,",
    "Being told what to do hasn't helped me,",
    "Evenings work for me and mornings are hard,",
    "A message with pause in it means we stop for now,",
    "If we drift apart I'd like us to name it,",
    "When we disagree I'd like us to slow down,",
    "What we say here stays between us,",
    "I'd like my sister to know, if I choose to tell her,",
    "Let's look at this again in a month,",
]
CHECKIN_LEADS = [
    "Talking about our walks helped,",
    "I'd like us to message a bit more,",
    "It felt easier this week,",
    "I was tired but glad we spoke,",
]
ENDINGS = ["and that matters to me.", "for now.", "as far as I can tell.", "and I'm still learning."]
SUGGESTIONS = [
    "What has surprised you about yourself lately?",
    "What does a good day look like for you at the moment?",
    "Who taught you something you still carry with you?",
    "What are you moving towards this month?",
]
SPACE_TEXTS = [
    "We ask before offering a suggestion, and anyone can pass.",
    "We look at this together every three months.",
    "We're here to keep each other company.",
]
RECURRENCES = [
    "daily 18:00", "weekly mon,thu 19:30 Europe/London", "every 2 weeks mon 10:00", "30 18 * * mon",
    "weekdays 9:05 America/New_York", "every 400 days 10:00", "daily 24:00", "weekly fun 10:00", "0 0 31 2 *",
]
CONTROL_ALPHABET = "\x00\x01\x07\x1b\u200b\u202e\ufeff\n\t \\/@#<>:*-?"
NASTY_SAMPLES = [
    "", " ", "@", "@@", "<@>", "<@123>", "@ghost", "@sam:example.org", "#circle", "-1", "0",
    "99999999999999999999", "1e9", "３", "Ⅻ", "NaN", "mon,mon 25:61", "every 0 days 10:00",
    "* * * * * *", "31 2 * *", "Europe/Nowhere", "../../etc/passwd", "UTC+5", "x" * 5000,
    "#ZZZZZ", "#00000", "'; DROP TABLE members; --", "\u0000" * 10, "🙂" * 300,
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--fuzz-weeks", type=int, default=13)
    parser.add_argument("--fuzz-share", type=float, default=0.10)
    parser.add_argument("--sessions", type=float, default=SoakConfig.sessions_per_member_week,
                        help="sessions per member per week, before follow-ups")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", type=Path, default=None, help="keep the database here")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 communities, 2,000 members, 8 + 2 weeks")
    parser.add_argument("--quiet", action="store_true", help="no weekly progress lines")
    parser.add_argument("--store", default="sqlite",
                        help="sqlite (the default), postgresql (a server of its own, started here), or a postgresql:// url")
    parser.add_argument("--processes", default=None,
                        help="with --store postgresql: how many bot processes share the store, e.g. 1,3"
                        " (each on a fresh database, SQLite's one-process figures beside them)")
    parser.add_argument("--no-sqlite", action="store_true", help="with --processes: leave out the SQLite run")
    # One process of a several-process run (bench/soak_processes.py starts these).
    parser.add_argument("--worker-summary", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--parts", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--barrier", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = SoakConfig(
        communities=args.communities,
        members=args.members,
        weeks=args.weeks,
        fuzz_weeks=args.fuzz_weeks,
        fuzz_share=args.fuzz_share,
        sessions_per_member_week=args.sessions,
        seed=args.seed,
        folder=args.folder,
        progress=None if args.quiet else (lambda line: print(line, flush=True)),
    )
    if args.quick:
        config.communities, config.members, config.weeks, config.fuzz_weeks = 20, 2_000, 8, 2
        config.raw_write_seconds = 1.0
    if args.worker_summary is not None:
        from bench.soak_processes import write_summary

        config.part, config.parts, config.barrier, config.data_dir = args.part, args.parts, args.barrier, args.data_dir
        config.store = args.store if args.store != "sqlite" else None
        config.raw_write_seconds = 0.0  # measured once by the orchestrator
        # Records at WARNING and above, tracebacks included, beside the summary (the report counts them).
        log_file = logging.FileHandler(args.worker_summary.with_suffix(".log"))
        log_file.setLevel(logging.WARNING)
        logging.getLogger().addHandler(log_file)
        write_summary(asyncio.run(run_soak(config)), args.worker_summary)
        return
    if args.store == "postgresql" or args.processes:
        from bench.soak_processes import main_processes

        if args.store == "sqlite":
            parser.error("--processes needs --store postgresql: SQLite is one process's store")
        counts = [int(n) for n in (args.processes or "1").split(",")]
        main_processes(config, counts, with_sqlite=not args.no_sqlite)
        return
    if args.store != "sqlite":
        config.store = args.store  # a postgresql:// url of a server already running
    report = asyncio.run(run_soak(config))
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()
