"""The authorization matrix: a world with two communities, and every command × role × target.

The world (built once per test module, then copied for every case so each case starts from the
same state):

* community `demo`: alex1 (facilitator), sam2 and jo3 (paired, and negotiating agreement A,
  proposed by jo3), ola5 and tam6 (paired, agreement B in draft), rin4 (a plain member who
  objected to space-agreement change 1); a pending suggestion by sam2; check-in answers by sam2
  and jo3; sam2 has a step-by-step answer open; every actor has a pending confirmation;
* community `elsewhere`: kim7 (its facilitator), lee8, mo9, pia0, and sam2 again (the same
  platform user, a plain member there); agreements C (kim7, lee8) and D (mo9, pia0); a pending
  suggestion by lee8; space-agreement changes 1 to 3.

Every piece of text in the world carries a distinctive token (`SECRETS`), with its community and
the members entitled to see it, and every member name is distinctive, so "nothing was revealed"
is a plain search of everything each person was shown.

Roles are actors in a community: `member` rin4, `facilitator` alex1, `party` sam2 (agreement A,
sam2's pair), `non_party` ola5 (a party to B, not to A), all in demo; `foreign_member` lee8 and
`foreign_facilitator` kim7 in elsewhere; and `party_elsewhere`, sam2 typing in elsewhere, where
nothing of his demo life may reach. Targets: `own` (the actor's own thing, or the command's only
subject), `others` (someone else's thing in the same community), `foreign` (another community's
thing; for party_elsewhere, his own things in demo).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.console.adapter import ConsoleAdapter
from adapters.console.adapter import resolve_mention as console_mention
from adapters.console.settings import ConsoleSettings
from alongside.settings import Settings, load_settings
from bot.app import App, all_commands
from bot.clock import FakeClock
from bot.commands.spec import CommandSpec, Where, Who
from bot.context import Actor, CommunityRef, Invocation
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
from bot.scheduling.timeline import SimulatedDriver, Timeline
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.texts.catalog import Catalog
from tests.harness import START, TEST_KEY

DEMO = CommunityRef("console", "demo", "demo")
ELSEWHERE = CommunityRef("console", "elsewhere", "elsewhere")
COMMUNITIES = {"demo": DEMO, "elsewhere": ELSEWHERE}
CHANNEL = "circle"

MEMBERS = {
    "demo": ("alex1", "sam2", "jo3", "rin4", "ola5", "tam6"),
    "elsewhere": ("kim7", "lee8", "mo9", "pia0", "sam2"),
}
FACILITATORS = {"demo": ("alex1",), "elsewhere": ("kim7",)}
ALL_NAMES = tuple(dict.fromkeys(MEMBERS["demo"] + MEMBERS["elsewhere"]))

# role -> (platform user id, community)
ROLES = {
    "member": ("rin4", "demo"),
    "facilitator": ("alex1", "demo"),
    "party": ("sam2", "demo"),
    "non_party": ("ola5", "demo"),
    "foreign_member": ("lee8", "elsewhere"),
    "foreign_facilitator": ("kim7", "elsewhere"),
    "party_elsewhere": ("sam2", "elsewhere"),
}
TARGETS = ("own", "others", "foreign")

_DEMO = frozenset(MEMBERS["demo"])
_ELSE = frozenset(MEMBERS["elsewhere"])

# token -> (its community, who may ever be shown it); shown in the other community's context,
# even to someone entitled, it has crossed over.
SECRETS: dict[str, tuple[str, frozenset[str]]] = {
    "qv42": ("demo", frozenset({"sam2", "jo3"})),  # sam2's answer in agreement A
    "jx19": ("demo", frozenset({"sam2", "jo3"})),  # jo3's answer in agreement A
    "bn64": ("demo", frozenset({"ola5", "tam6"})),  # ola5's answer in agreement B
    "fh57": ("elsewhere", frozenset({"kim7", "lee8"})),  # agreement C
    "rt38": ("elsewhere", frozenset({"kim7", "lee8"})),
    "ds44": ("elsewhere", frozenset({"mo9", "pia0"})),  # agreement D
    "kq77": ("demo", frozenset({"sam2"})),  # sam2's check-in answer
    "pv31": ("demo", frozenset({"jo3"})),  # jo3's check-in answer
    "zq11": ("demo", frozenset({"sam2", "alex1"})),  # sam2's pending suggestion: author, demo's facilitator
    "yb23": ("elsewhere", frozenset({"lee8", "kim7"})),  # lee8's pending suggestion
    "wj55": ("demo", frozenset({"rin4", "alex1"})),  # rin4's objection note, sent to the change's proposer
    "dm90": ("demo", _DEMO),  # demo's space-agreement change
    "el01": ("elsewhere", _ELSE),  # elsewhere's space-agreement changes
    "el02": ("elsewhere", _ELSE),
    "el03": ("elsewhere", _ELSE),
}

WORDS = {
    "suggest_demo": "What did zq11 teach you this week?",
    "suggest_else": "Where did yb23 come from for you?",
    "checkin_sam": "our walks kq77",
    "checkin_jo": "slow mornings pv31",
    "a_sam": "Tell me plainly qv42 when you need a pause.",
    "a_jo": "I like to be asked before advice jx19.",
    "b_ola": "Quiet evenings matter bn64 to me.",
    "c_kim": "Plain words fh57 please.",
    "c_lee": "Slow replies are fine rt38.",
    "d_mo": "Short messages ds44 are enough.",
    "objection": "I would like us to talk first wj55.",
    "change_demo": "A place to think together dm90.",
}
ELSE_CHANGES = (
    ("purpose", "We meet to listen el01."),
    ("talk", "We pass freely el02."),
    ("confidentiality", "What is said stays el03."),
)
MISSING_AGREEMENT = "ZZZZZ"
MISSING_NUMBER = 999_999

_ID = re.compile(r"#([0-9A-Z]{5})")


@functools.cache
def shared() -> tuple[Settings, Catalog]:
    """Settings and texts are read once: parsing the prompts is most of an App's start-up."""
    # The world has one member propose several space-agreement changes at once, and every role
    # propose one more: the per-member proposal limits (tested on their own) are lifted here.
    settings = load_settings(None, agreements={"max_open_proposals": 100, "proposal_interval_minutes": 0})
    return settings, Catalog(settings.prompts_dir)


def is_facilitator(user: str, community: str) -> bool:
    return user in FACILITATORS[community]


def render(key: str, **params: Any) -> str:
    return shared()[1].text("en", key, prefix="/", **params)


# -- running an App on a copy of the world ---------------------------------------------------


@dataclass
class Seen:
    """Something the bot showed: to whom (user ids) and its human-visible text."""

    audience: frozenset[str]
    text: str
    what: str
    community: str  # whose context it was shown in
    intent: Intent | None = None


@dataclass
class Run:
    outcome: str  # the last outcome App reported: done, invalid, forbidden, refused, error
    answers: list[str]  # answers to the person who typed it
    seen: list[Seen]  # everything shown to anyone, addressed
    raw: list[str] = field(default_factory=list)  # console transcript lines


class RecordingSink:
    def __init__(self, forward: Callable[[Delivery], Any] | None = None) -> None:
        self.deliveries: list[Delivery] = []
        self._forward = forward

    async def deliver(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if self._forward is not None:
            await self._forward(delivery)


def visible_text(intent: Intent) -> str:
    """What a person reads: texts, titles, labels, file content (not ids or keys)."""
    parts: list[str] = [getattr(intent, "text", "")]
    if isinstance(intent, PairSpaceOpen | FormRequest):
        parts.append(intent.title)
    if isinstance(intent, FormRequest):
        parts.extend(f"{f.label}\n{f.value}" for f in intent.fields)
    if isinstance(intent, ActionButtons):
        parts.extend(label for _, label in intent.buttons)
    if isinstance(intent, ConfirmPrompt):
        parts.extend((intent.yes_label, intent.no_label))
    if isinstance(intent, PrivateFile):
        parts.extend((intent.filename, intent.content))
    return "\n".join(parts)


@dataclass
class World:
    template: Path
    now: datetime
    agreements: dict[str, str]  # A, B, C, D -> short id
    suggestions: dict[str, int]  # community -> the pending suggestion's id
    confirmations: dict[str, int]  # role -> the actor's pending confirmation's id
    spaces: dict[str, frozenset[str]]  # pair space key -> its members
    community_ids: dict[str, int]


class Sandbox:
    """A fresh App on a copy of the world's database, on the world's clock."""

    def __init__(self, world: World, app: App, db: Database, clock: FakeClock, driver: SimulatedDriver) -> None:
        self.world = world
        self.app = app
        self.db = db
        self.clock = clock
        self.driver = driver
        self.outcomes: list[tuple[str, str]] = []
        app.observe(lambda outcome, name: self.outcomes.append((outcome, name)))

    @classmethod
    async def open(cls, world: World, directory: Path, *, now: datetime | None = None) -> Sandbox:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "alongside.db"
        shutil.copyfile(world.template, path)
        settings, catalog = shared()
        db = await Database.open(path)
        clock = FakeClock(now or world.now)
        timeline = Timeline()
        app = App(
            settings=settings,
            db=db,
            clock=clock,
            catalog=catalog,
            cipher=FieldCipher(TEST_KEY),
            timeline=timeline,
            seed=1,
        )
        sandbox = cls(world, app, db, clock, SimulatedDriver(timeline, clock))
        app.attach_sink(RecordingSink())
        await app.start()
        return sandbox

    async def close(self) -> None:
        await self.db.close()

    # -- who sees what -------------------------------------------------------------------------

    def audience(self, intent: Intent, community: str, actor: str) -> frozenset[str]:
        """Who is shown `intent`, delivered in `community` for a command `actor` typed."""
        if isinstance(intent, Answer):
            return frozenset({actor}) if intent.private else frozenset(MEMBERS[community])
        if isinstance(intent, PrivateMessage | ConfirmPrompt | FormRequest | ActionButtons | PrivateFile):
            return frozenset({intent.user_id})
        if isinstance(intent, ChannelPost):
            return frozenset(MEMBERS[community])
        if isinstance(intent, PairSpaceOpen):
            return frozenset(intent.member_ids)
        if isinstance(intent, PairSpacePost | PairSpaceClose):
            return self.world.spaces.get(intent.space_key, frozenset(MEMBERS[community]))
        raise AssertionError(f"unknown intent {intent!r}")

    def _collect(self, actor: str, community: str, intents: list[Intent], sink: RecordingSink) -> list[Seen]:
        seen = [
            Seen(self.audience(i, community, actor), visible_text(i), type(i).__name__, community, i) for i in intents
        ]
        for delivery in sink.deliveries:
            intent, where = delivery.intent, delivery.community_external_id
            seen.append(Seen(self.audience(intent, where, actor), visible_text(intent), "delivery", where, intent))
        return seen

    # -- the two entry points ------------------------------------------------------------------

    def invocation(self, actor: str, community: str, private: bool) -> Invocation:
        return Invocation(
            community=COMMUNITIES[community],
            actor=Actor(actor, actor, is_facilitator(actor, community)),
            channel=None if private else CHANNEL,
            private=private,
        )

    async def core(self, actor: str, community: str, line: str, *, private: bool) -> Run:
        """Through the core's front door, as an adapter calls it."""
        sink = RecordingSink()
        self.app.attach_sink(sink)
        self.outcomes.clear()
        intents = await self.app.handle_text(self.invocation(actor, community, private), line, console_mention)
        await self.app.deliver_pending()
        answers = [i.text for i in intents if isinstance(i, Answer)]
        return Run(self._outcome(), answers, self._collect(actor, community, intents, sink))

    def _outcome(self) -> str:
        return self.outcomes[-1][0] if self.outcomes else ""

    async def console(self, actor: str, community: str, line: str, *, private: bool) -> Run:
        """Through the console adapter's entry point: a typed line, identities from its settings."""
        lines: list[str] = []
        adapter = ConsoleAdapter(
            self.app,
            self.clock,
            self.driver,
            ConsoleSettings(
                community=community,
                channel=CHANNEL,
                members=list(MEMBERS[community]),
                facilitators=list(FACILITATORS[community]),
            ),
            lines.append,
        )
        sink = RecordingSink(adapter.deliver)
        self.app.attach_sink(sink)
        adapter.member = actor
        adapter.channel = None if private else CHANNEL
        self.outcomes.clear()
        await adapter.handle_line("/" + line)
        answers = private_blocks(lines, actor)
        seen = self._collect(actor, community, [], sink)
        # What the console printed to the person typing, as they read it.
        seen.extend(Seen(frozenset({actor}), text, "console", community) for text in answers)
        return Run(self._outcome(), answers, seen, lines)

    async def press(self, actor: str, community: str, custom_id: str) -> Run:
        """A pressed button (Discord), with whatever custom id the platform delivered."""
        sink = RecordingSink()
        self.app.attach_sink(sink)
        self.outcomes.clear()
        intents = await self.app.press_button(self.invocation(actor, community, True), custom_id)
        await self.app.deliver_pending()
        answers = [i.text for i in intents if isinstance(i, Answer)]
        return Run(self._outcome(), answers, self._collect(actor, community, intents, sink))

    async def submit(self, actor: str, community: str, form_id: str, values: dict[str, str]) -> Run:
        """A submitted form (a Discord modal), with whatever form id the platform delivered."""
        sink = RecordingSink()
        self.app.attach_sink(sink)
        self.outcomes.clear()
        intents = await self.app.submit_form(self.invocation(actor, community, True), form_id, values)
        await self.app.deliver_pending()
        answers = [i.text for i in intents if isinstance(i, Answer)]
        return Run(self._outcome(), answers, self._collect(actor, community, intents, sink))


def private_blocks(lines: list[str], member: str) -> list[str]:
    """The console's private lines to `member`, one text per block ("  (private to x) ..." and
    its indented continuation lines)."""
    head = f"  ({render('console.private_to', member=member)}) "
    blocks: list[str] = []
    current: list[str] | None = None
    for line in lines:
        if line.startswith(head):
            current = [line[len(head) :]]
            blocks.append("")
        elif line.startswith("    ") and current is not None:
            current.append(line[4:])
        else:
            current = None
        if current is not None and blocks:
            blocks[-1] = "\n".join(current)
    return blocks


# -- fingerprints ----------------------------------------------------------------------------


_TABLES: list[str] = []
_SCOPES: dict[str, str] = {}  # table -> WHERE clause picking one community's rows


async def _tables(db: Database) -> list[str]:
    # Every sandbox is a copy of one world, so the schema is read once.
    if not _TABLES:
        rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        _TABLES.extend(row[0] for row in rows)
    return _TABLES


async def fingerprint(db: Database) -> dict[str, list[tuple]]:
    """Every row of every table."""
    found = {}
    for table in await _tables(db):
        found[table] = [tuple(row) for row in await db.fetchall(f"SELECT * FROM {table} ORDER BY rowid")]
    return found


# How a table's rows belong to a community: directly, or through the row they point at.
_OWNERS = (
    ("community_id", "{col}"),
    ("agreement_id", "(SELECT community_id FROM agreements WHERE id = {col})"),
    ("change_id", "(SELECT community_id FROM space_agreement_changes WHERE id = {col})"),
    ("pair_id", "(SELECT community_id FROM pairs WHERE id = {col})"),
    ("member_id", "(SELECT community_id FROM members WHERE id = {col})"),
)


async def _scopes(db: Database) -> dict[str, str]:
    if not _SCOPES:
        for table in await _tables(db):
            columns = {row[1] for row in await db.fetchall(f"PRAGMA table_info({table})")}
            if table == "communities":
                _SCOPES[table] = "id = ?"
                continue
            owner = next((sql.format(col=col) for col, sql in _OWNERS if col in columns), None)
            if owner is not None:  # tables that belong to no community are left out
                _SCOPES[table] = f"{owner} = ?"
    return _SCOPES


async def community_fingerprint(db: Database, community_id: int) -> dict[str, list[tuple]]:
    """Every row that belongs to one community."""
    found = {}
    for table, where in (await _scopes(db)).items():
        rows = await db.fetchall(f"SELECT * FROM {table} WHERE {where} ORDER BY rowid", (community_id,))
        found[table] = [tuple(row) for row in rows]
    return found


# -- building the world ----------------------------------------------------------------------


async def build_world(directory: Path) -> World:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "world.db"
    settings, catalog = shared()
    db = await Database.open(path)
    clock = FakeClock(START)
    timeline = Timeline()
    app = App(settings=settings, db=db, clock=clock, catalog=catalog, cipher=FieldCipher(TEST_KEY), timeline=timeline, seed=1)
    sink = RecordingSink()
    app.attach_sink(sink)
    driver = SimulatedDriver(timeline, clock)
    await app.start()

    def home(user: str) -> str:
        return "demo" if user in MEMBERS["demo"] else "elsewhere"

    def inv(user: str, private: bool, community: str) -> Invocation:
        return Invocation(
            COMMUNITIES[community], Actor(user, user, is_facilitator(user, community)), None if private else CHANNEL, private
        )

    async def say(user: str, line: str, *, private: bool = True, community: str | None = None) -> str:
        outcomes: list[str] = []
        app._observers[:] = [lambda outcome, name: outcomes.append(outcome)]
        intents = await app.handle_text(inv(user, private, community or home(user)), line, console_mention)
        await app.deliver_pending()
        text = "\n".join(getattr(i, "text", "") for i in intents)
        assert outcomes == ["done"], (user, line, outcomes, text)
        return text

    async def advance(delta: timedelta) -> None:
        await driver.advance(delta, after_each=app.deliver_pending)

    for community, users in MEMBERS.items():
        for user in users:
            await app.context(inv(user, True, community))
    # Questions: a schedule, a posting, a pending suggestion in each community.
    await say("alex1", "questions schedule daily 18:00", private=False)
    await advance(timedelta(days=1))
    await say("sam2", f"questions suggest {WORDS['suggest_demo']}")
    await say("lee8", f"questions suggest {WORDS['suggest_else']}")
    # Pairing in demo: not-with lists steer the round to {sam2, jo3} and {ola5, tam6}.
    for user in ("sam2", "jo3", "ola5", "tam6"):
        await say(user, "pair join")
        await say(user, "yes")
    await say("sam2", "pair not-with @tam6")
    await say("ola5", "pair not-with @jo3")
    await say("alex1", "pair now", private=False)
    await advance(timedelta(days=8))
    for user, answer in (("sam2", WORDS["checkin_sam"]), ("jo3", WORDS["checkin_jo"])):
        await say(user, "checkin 4")
        await say(user, f"checkin {answer}")

    # Agreements: A proposed (sam2, jo3), B a draft (ola5, tam6), C and D elsewhere.
    async def agreement(starter: str, other: str, words: list[tuple[str, str]]) -> str:
        short_id = _ID.search(await say(starter, f"agreement start @{other}")).group(1)
        await say(other, "yes")
        for user, text in words:
            await say(user, f"agreement edit #{short_id} 1 {text}")
        return short_id

    agreements = {
        "A": await agreement("sam2", "jo3", [("sam2", WORDS["a_sam"]), ("jo3", WORDS["a_jo"])]),
        "B": await agreement("ola5", "tam6", [("ola5", WORDS["b_ola"])]),
        "C": await agreement("kim7", "lee8", [("kim7", WORDS["c_kim"]), ("lee8", WORDS["c_lee"])]),
        "D": await agreement("mo9", "pia0", [("mo9", WORDS["d_mo"])]),
    }
    await say("jo3", f"agreement propose #{agreements['A']}")
    # Space agreements: demo has change 1 (with rin4's objection); elsewhere has changes 1-3.
    await say("alex1", "space-agreement draft", private=False)
    await say("alex1", f"space-agreement propose purpose {WORDS['change_demo']}", private=False)
    await say("rin4", f"space-agreement object 1 {WORDS['objection']}", private=False)
    await say("kim7", "space-agreement draft", private=False)
    for section, text in ELSE_CHANGES:
        await say("kim7", f"space-agreement propose {section} {text}", private=False)
    # Every actor has a question waiting for their yes or no; sam2 is answering step by step.
    for user, community in ROLES.values():
        await say(user, "mydata forget", community=community)
    await say("sam2", f"agreement edit #{agreements['A']}")
    await say("kim7", "pair status")  # pairing knows elsewhere too (its first use stores a row)

    confirmations = {}
    for role, (user, community) in ROLES.items():
        community_id = (await app.communities.find(db, "console", community)).id
        member = await app.members.find(db, community_id, user)
        (confirmations[role],) = await app.confirmations.pending_for(member.id)
    suggestions = {}
    community_ids = {}
    for name in COMMUNITIES:
        community_ids[name] = (await app.communities.find(db, "console", name)).id
        row = await db.fetchone(
            "SELECT id FROM question_suggestions WHERE community_id = ? AND status = 'pending'", (community_ids[name],)
        )
        suggestions[name] = row[0]
    spaces: dict[str, frozenset[str]] = {}
    rows = await db.fetchall(
        "SELECT p.space_key, m.platform_user_id FROM pairs p JOIN pair_members pm ON pm.pair_id = p.id"
        " JOIN members m ON m.id = pm.member_id"
    )
    for key, user in rows:
        spaces[key] = spaces.get(key, frozenset()) | {user}
    assert set(spaces.values()) == {frozenset({"ola5", "tam6"}), frozenset({"jo3", "sam2"})}, spaces
    now = clock.now()
    await db.checkpoint()
    await db.close()
    return World(path, now, agreements, suggestions, confirmations, spaces, community_ids)


# -- expectations ----------------------------------------------------------------------------

DONE = "done"  # the command went through
FORBIDDEN = "forbidden"  # facilitator-only, refused centrally
NOT_FOUND = "not_found"  # refused exactly as a nonexistent id would be
REFUSED = "refused"  # a specific refusal for this member's situation
PERMITTED = "permitted"  # recognised as theirs: done, or refused for a reason other than "not found"


@dataclass(frozen=True)
class Expect:
    kind: str
    key: str | None = None  # the answer's message key (FORBIDDEN, NOT_FOUND, REFUSED, or a DONE text)
    params: tuple[tuple[str, Any], ...] = ()
    unchanged: bool = False  # DONE: and storage is unchanged (a read, or nothing to do)
    baseline: str | None = None  # NOT_FOUND: a line with a nonexistent id that must answer the same
    not_key: str | None = None  # PERMITTED: the "not found" answer it must not get (same params)

    def text(self) -> str | None:
        return None if self.key is None else render(self.key, **dict(self.params))

    def not_text(self) -> str:
        assert self.not_key is not None
        return render(self.not_key, **dict(self.params))


def done(*, unchanged: bool = False, key: str | None = None, **params: Any) -> Expect:
    return Expect(DONE, key, tuple(params.items()), unchanged)


def refused(key: str, **params: Any) -> Expect:
    return Expect(REFUSED, key, tuple(params.items()))


def not_found(key: str, baseline: str | None = None, **params: Any) -> Expect:
    return Expect(NOT_FOUND, key, tuple(params.items()), baseline=baseline)


def permitted(not_key: str, **params: Any) -> Expect:
    return Expect(PERMITTED, params=tuple(params.items()), not_key=not_key)


@dataclass(frozen=True)
class Case:
    command: str
    role: str
    target: str
    line: str
    expect: Expect
    private: bool
    aggregate: bool = False  # facilitator figures: never a name or anyone's words
    check: str | None = None  # an extra check by name (see the tests)

    @property
    def actor(self) -> str:
        return ROLES[self.role][0]

    @property
    def community(self) -> str:
        return ROLES[self.role][1]

    @property
    def other_community(self) -> str:
        return "elsewhere" if self.community == "demo" else "demo"

    @property
    def id(self) -> str:
        return f"{self.command.replace(' ', '_')}-{self.role}-{self.target}"


def _foreign(role: str) -> bool:
    return ROLES[role][1] == "elsewhere"


def build_cases(world: World, specs: tuple[CommandSpec, ...] | None = None) -> list[Case]:
    """Every command of the registry × every role × the targets the command has."""
    specs = specs or all_commands()
    ids = world.agreements
    cases: list[Case] = []

    def add(spec: CommandSpec, role: str, target: str, line: str, expect: Expect, **extra: Any) -> None:
        if spec.who is Who.FACILITATOR and not is_facilitator(*ROLES[role]):
            # Refused centrally, whatever the target: the same answer, nothing touched.
            expect = Expect(FORBIDDEN, "perm.facilitator_only", (("usage", spec.usage("/")),))
        # Facilitators set things up from the community's channel; members' own business is
        # typed in private.
        private = spec.where is Where.PRIVATE or (spec.where is Where.ANYWHERE and spec.who is not Who.FACILITATOR)
        cases.append(Case(spec.name, role, target, line, expect, private, **extra))

    def own_agreement(role: str) -> str | None:
        return {"party": ids["A"], "non_party": ids["B"], "foreign_member": ids["C"], "foreign_facilitator": ids["C"]}.get(
            role
        )

    def others_agreement(role: str) -> str:
        if _foreign(role):
            return ids["D"]
        return ids["B"] if role == "party" else ids["A"]

    def foreign_agreement(role: str) -> str:
        return ids["A"] if _foreign(role) else ids["C"]

    def others_user(role: str) -> str:
        return "mo9" if _foreign(role) else "jo3" if role == "member" else "rin4"

    def foreign_user(role: str) -> str:
        return "jo3" if _foreign(role) else "lee8"

    # someone else's pending confirmation in the same community, and one in the other community
    # (for party_elsewhere: his own, in demo)
    others_confirmation = {"party": "member", "foreign_member": "foreign_facilitator"}
    foreign_confirmation = {"party_elsewhere": "party"}

    for spec in specs:
        name = spec.name
        for role, (actor, _) in ROLES.items():
            foreign = _foreign(role)
            in_pairing = role in ("party", "non_party")
            match name:
                case "help" | "resources" | "questions status" | "space-agreement show" | "space-agreement changes":
                    add(spec, role, "own", name, done(unchanged=True), check="help" if name == "help" else None)
                case "questions now":
                    add(spec, role, "own", name, done())
                case "questions schedule":
                    add(spec, role, "own", f"{name} weekly mon 19:30", done())
                case "questions pause":
                    add(spec, role, "own", name, refused("questions.no_schedule") if foreign else done())
                case "questions resume":
                    add(spec, role, "own", name, refused("questions.no_schedule" if foreign else "questions.not_paused"))
                case "questions focus":
                    add(spec, role, "own", f"{name} worldview", done())
                case "questions depth":
                    add(spec, role, "own", f"{name} light", done())
                case "questions reflect":
                    # A private question to the actor alone; nothing is stored.
                    add(spec, role, "own", f"{name} worldview", done(unchanged=True))
                case "questions suggest":
                    add(spec, role, "own", f"{name} What do you carry with you from today?", done())
                case "questions review":
                    add(spec, role, "own", name, done(unchanged=True), aggregate=True, check="review")
                case "questions approve" | "questions decline":
                    home, away = ("elsewhere", "demo") if foreign else ("demo", "elsewhere")
                    mine, theirs = world.suggestions[home], world.suggestions[away]
                    # approve names a task: the suggestion named none, so without one it asks
                    task = " connection" if name == "questions approve" else ""
                    add(spec, role, "others", f"{name} {mine}{task}", done())
                    add(
                        spec,
                        role,
                        "foreign",
                        f"{name} {theirs}",
                        not_found("questions.no_such_suggestion", id=theirs),
                    )
                case "setup":
                    add(spec, role, "own", f"{name} timezone Europe/Paris", done())
                case "yes" | "no":
                    nothing = f"{name} {MISSING_NUMBER}"
                    add(spec, role, "own", f"{name} {world.confirmations[role]}", done())
                    other_role = others_confirmation.get(role, "foreign_member" if foreign else "party")
                    other = world.confirmations[other_role]
                    add(spec, role, "others", f"{name} {other}", not_found("confirm.nothing_pending", nothing))
                    away = world.confirmations[foreign_confirmation.get(role, "party" if foreign else "foreign_member")]
                    add(spec, role, "foreign", f"{name} {away}", not_found("confirm.nothing_pending", nothing))
                case "agreement start":
                    add(spec, role, "own", f"{name} @{actor}", refused("agreement.start_self"))
                    add(spec, role, "others", f"{name} @{others_user(role)}", done())
                    away = foreign_user(role)
                    add(spec, role, "foreign", f"{name} @{away}", refused("agreement.start_not_member", name=away))
                case "agreement invitations":
                    # About the actor alone: there is nobody else's to reach.
                    add(spec, role, "own", f"{name} off", done())
                case _ if spec.group == "agreement":
                    verb = spec.path[-1]
                    tail = {
                        "edit": " 2 I notice when I go quiet.",
                        "amend": " 5 Evenings suit me better.",
                        "accept": " v1",  # agreement A's proposal is version 1
                    }.get(verb, "")
                    nothing = f"{name} #{MISSING_AGREEMENT}{tail}"
                    mine = own_agreement(role)
                    if mine is None:
                        add(spec, role, "own", f"{name}{tail}", refused("agreement.none"))
                    elif verb in ("view", "history"):
                        add(spec, role, "own", f"{name} #{mine}{tail}", done(unchanged=True))
                    elif verb == "accept" and role == "party":
                        add(spec, role, "own", f"{name} #{mine}{tail}", done())
                    else:
                        add(spec, role, "own", f"{name} #{mine}{tail}", permitted("agreement.no_such"))
                    for target, short_id in (("others", others_agreement(role)), ("foreign", foreign_agreement(role))):
                        add(spec, role, target, f"{name} #{short_id}{tail}", not_found("agreement.no_such", nothing))
                case "space-agreement propose":
                    add(spec, role, "own", f"{name} talk We take turns and listen.", done())
                case "space-agreement agree" | "space-agreement object" | "space-agreement adopt" | "space-agreement withdraw":
                    note = " I'd like to hear more first." if name.endswith("object") else ""
                    # Change numbers count per community: 1 is this community's own change.
                    add(spec, role, "others", f"{name} 1{note}", permitted("space_agreement.no_such_change", number=1))
                    if foreign:
                        # There is no number that names demo's change from elsewhere: 2 is
                        # elsewhere's own (demo has only 1), so acting on it must leave demo alone.
                        add(spec, role, "foreign", f"{name} 2{note}", permitted("space_agreement.no_such_change", number=2))
                    else:
                        add(
                            spec,
                            role,
                            "foreign",
                            f"{name} 3{note}",
                            not_found("space_agreement.no_such_change", number=3),
                        )
                case "space-agreement draft":
                    add(spec, role, "own", name, refused("space_agreement.exists"))
                case "skip" | "back" | "done":
                    if role == "party":
                        add(spec, role, "own", name, done())
                    elif role == "party_elsewhere":
                        # His own step-by-step answer is open, in demo: not reachable from here.
                        add(spec, role, "foreign", name, refused("dialog.none_open"))
                    else:
                        # Someone else (sam2) is answering step by step; nobody else can move it.
                        add(spec, role, "others", name, refused("dialog.none_open"))
                case "pair join":
                    add(spec, role, "own", name, refused("pairing.already_in") if in_pairing else done())
                case "pair leave":
                    add(spec, role, "own", name, done() if in_pairing else refused("pairing.not_in_leave"))
                case "pair pause":
                    add(spec, role, "own", f"{name} 7", done() if in_pairing else refused("pairing.not_in_pause"))
                case "pair resume":
                    add(spec, role, "own", name, refused("pairing.not_paused" if in_pairing else "pairing.not_in_resume"))
                case "pair not-with":
                    add(spec, role, "own", f"{name} @{actor}", refused("pairing.not_with_self"))
                    other = others_user(role)
                    add(spec, role, "others", f"{name} @{other}", done() if in_pairing else refused("pairing.not_in_not_with"))
                    away = foreign_user(role)
                    add(
                        spec,
                        role,
                        "foreign",
                        f"{name} @{away}",
                        refused("pairing.not_with_unknown", given=f"@{away}")
                        if in_pairing
                        else refused("pairing.not_in_not_with"),
                    )
                case "pair prefs":
                    add(spec, role, "own", f"{name} style lighter", done() if in_pairing else refused("pairing.not_in_prefs"))
                case "pair again":
                    # Like not-with: about someone else, but the wish is the maker's own data.
                    add(spec, role, "own", f"{name} @{actor}", refused("pairing.again_self"))
                    other = others_user(role)
                    add(spec, role, "others", f"{name} @{other}", done() if in_pairing else refused("pairing.not_in_again"))
                    away = foreign_user(role)
                    add(
                        spec,
                        role,
                        "foreign",
                        f"{name} @{away}",
                        refused("pairing.again_unknown", given=f"@{away}")
                        if in_pairing
                        else refused("pairing.not_in_again"),
                    )
                case "pair status":
                    add(spec, role, "own", name, done() if in_pairing else done(unchanged=True, key="pairing.status_not_in"))
                case "pair end":
                    add(spec, role, "own", name, done() if in_pairing else refused("pairing.not_in_end"))
                case "pair schedule":
                    add(spec, role, "own", f"{name} weekly mon 10:00", done())
                case "pair now":
                    add(spec, role, "own", name, permitted("perm.facilitator_only", usage=spec.usage("/")))
                case "pair cancel":
                    add(spec, role, "own", name, permitted("perm.facilitator_only", usage=spec.usage("/")))
                case "pair stats":
                    add(spec, role, "own", name, done(unchanged=True), aggregate=True)
                case "checkin":
                    if in_pairing:
                        add(spec, role, "own", f"{name} skip", done())
                    else:
                        add(spec, role, "own", f"{name} skip", done(unchanged=True, key="checkin.none_open"))
                case "mydata export":
                    add(spec, role, "own", name, done(unchanged=True), check="export")
                case "mydata forget":
                    add(spec, role, "own", name, done())
                case "mydata language":
                    # The member's own row only; answered privately, in the language just chosen.
                    add(spec, role, "own", f"{name} es", done())
    return cases


# -- what nobody may be shown ----------------------------------------------------------------


def leaks(case: Case, run: Run) -> list[str]:
    """Everything shown that its audience may not see. Words the actor typed are theirs to see
    echoed back."""
    typed = case.line
    problems = []
    for seen in run.seen:
        for token, (home, entitled) in SECRETS.items():
            if token not in seen.text or token in typed:
                continue
            outsiders = sorted(seen.audience - entitled)
            if outsiders:
                problems.append(f"{token} shown to {outsiders} ({seen.what}): {seen.text[:200]!r}")
            if seen.community != home:
                problems.append(f"{token} of {home} shown in {seen.community} ({seen.what}): {seen.text[:200]!r}")
        for name in ALL_NAMES:
            if name in seen.text and name not in typed and name not in MEMBERS[seen.community]:
                problems.append(f"{name}, not of {seen.community}, named there ({seen.what}): {seen.text[:200]!r}")
    refusal = case.expect.kind in (FORBIDDEN, NOT_FOUND, REFUSED) or run.outcome in ("forbidden", "refused", "invalid")
    if refusal or case.aggregate:
        for text in run.answers:
            named = [n for n in ALL_NAMES if n in text and n not in typed and not (refusal and n == case.actor)]
            if named:
                problems.append(f"names {named} in {'a refusal' if refusal else 'facilitator figures'}: {text!r}")
    return problems


def export_document(run: Run) -> dict[str, Any]:
    files = [s.intent for s in run.seen if isinstance(s.intent, PrivateFile)]
    assert len(files) == 1, run.seen
    return json.loads(files[0].content)
