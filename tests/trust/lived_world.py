"""A lived-in community for fuzzing: pairs and a triad in a running round, agreements in every
state, open space-agreement changes, pending confirmations and suggestions, a paused member, a
not-with block, open check-ins and open step-by-step answers.

The world is built once, through the bot's own commands on a fake clock, into a template file
that every fuzz example starts again from (tests/trust/test_fuzz_lived.py).

Every piece of private text in the world carries a distinctive canary word (`CANARIES`), with
the members entitled to be shown it, so "nothing was revealed" is a plain search of everything a
person was shown.

Members of `lived` (console, timezone Pacific/Kiritimati): fay0 is the facilitator; ana1 ...
jon9 are members. pam10 lives in another community, `yonder`, with an agreement (with kit11)
and a suggestion of her own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from adapters.console.adapter import resolve_mention
from bot.app import App
from bot.clock import FakeClock
from bot.context import Actor, CommunityRef, Invocation
from bot.replies import Delivery
from bot.scheduling.timeline import SimulatedDriver, Timeline
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from tests.harness import START, TEST_KEY
from tests.trust.authz_cases import shared

LIVED = CommunityRef("console", "lived", "lived")
YONDER = CommunityRef("console", "yonder", "yonder")
CHANNEL = "circle"
FACILITATOR = "fay0"
MEMBERS = ("fay0", "ana1", "ben2", "cal3", "dia4", "eli5", "gus6", "hal7", "ivy8", "jon9")
FOREIGN = ("pam10", "kit11")  # yonder: pam10 is its facilitator

_ID = re.compile(r"#([0-9A-Z]{5})")


# canary -> who may be shown it (in its own community)
CANARIES: dict[str, frozenset[str]] = {}


def plant(owner: str, what: str, entitled: set[str] | frozenset[str]) -> str:
    """A word nobody types by chance ("qz", a number, its owner and what it is in)."""
    word = f"qz{len(CANARIES):03d}x{owner}x{what}"
    CANARIES[word] = frozenset(entitled)
    return word


@dataclass
class World:
    template: Path
    now: datetime
    agreements: dict[str, str]  # state label -> short id
    agreement_parties: dict[str, tuple[str, ...]]  # short id -> its parties
    pairs: list[frozenset[str]]
    buttons: list[tuple[str, str]]  # (member the button was sent to, custom id)
    forms: list[tuple[str, str]]  # (member, form id)
    canary_suggestions: dict[str, int]  # a suggestion's canary -> its id


class RecordingSink:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    async def deliver(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)


def new_app(db: Database, clock: FakeClock) -> tuple[App, SimulatedDriver]:
    settings, catalog = shared()
    timeline = Timeline()
    app = App(
        settings=settings, db=db, clock=clock, catalog=catalog, cipher=FieldCipher(TEST_KEY), timeline=timeline, seed=1
    )
    return app, SimulatedDriver(timeline, clock)


def invocation(user: str, *, private: bool, community: CommunityRef = LIVED) -> Invocation:
    facilitator = user == FACILITATOR or (community is YONDER and user == "pam10")
    return Invocation(community, Actor(user, user, facilitator), None if private else CHANNEL, private)


async def build_world(directory: Path) -> World:
    """Build the world through the bot's commands, and leave it in a template file."""
    CANARIES.clear()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "lived.db"
    db = await Database.open(path)
    clock = FakeClock(START)
    app, driver = new_app(db, clock)
    sink = RecordingSink()
    app.attach_sink(sink)
    await app.start()

    async def say(user: str, line: str, *, private: bool = True, community: CommunityRef = LIVED) -> str:
        outcomes: list[str] = []
        app._observers[:] = [lambda outcome, name: outcomes.append(outcome)]
        intents = await app.handle_text(invocation(user, private=private, community=community), line, resolve_mention)
        await app.deliver_pending()
        text = "\n".join(getattr(i, "text", "") for i in intents)
        assert outcomes == ["done"], (user, line, outcomes, text)
        return text

    async def advance(delta: timedelta) -> None:
        await driver.advance(delta, after_each=app.deliver_pending)

    for user in MEMBERS:
        await app.context(invocation(user, private=True))
    for user in FOREIGN:
        await app.context(invocation(user, private=True, community=YONDER))

    # A community far east (UTC+14), where a date near the end of the calendar is one day
    # from overflowing.
    await say(FACILITATOR, "setup timezone Pacific/Kiritimati", private=False)
    # Questions: a schedule and a posting; suggestions pending, approved and declined.
    await say(FACILITATOR, "questions schedule daily 18:00", private=False)
    await advance(timedelta(days=1))
    suggested: list[str] = []
    for user in ("ben2", "ivy8", "cal3", "dia4"):
        suggested.append(plant(user, "suggest", {user, FACILITATOR}))
        await say(user, f"questions suggest What does {suggested[-1]} mean to you?")
    suggested.append(plant("pam10", "suggest", {"pam10"}))  # and never anyone in lived
    await say("pam10", f"questions suggest Where did {suggested[-1]} lead you?", community=YONDER)

    # Pairing: five members in a round (a pair and a triad), one paused, one yet to consent.
    for user in ("ana1", "ben2", "cal3", "dia4", "eli5", "gus6"):
        await say(user, "pair join")
        await say(user, "yes")
    await say("gus6", "pair pause 30")
    await say("dia4", "pair not-with @gus6")
    await say("ana1", "pair not-with @eli5")
    await say(FACILITATOR, "pair now", private=False)
    await advance(timedelta(days=8))  # past the round's midpoint: check-ins are open
    await say("hal7", "pair join")  # consent asked, not given

    # Check-ins: ana1 answered hers, ben2 is half-way, the others have theirs open.
    await say("ana1", "checkin 4")
    await say("ana1", f"checkin we walked {plant('ana1', 'checkin', {'ana1'})}")
    await say("ben2", "checkin 3")

    # Pair agreements in every state, each section carrying its writer's canary.
    parties: dict[str, tuple[str, ...]] = {}

    async def agreement(starter: str, *others: str) -> str:
        mentions = " ".join(f"@{o}" for o in others)
        short_id = _ID.search(await say(starter, f"agreement start {mentions}")).group(1)
        for other in others:
            await say(other, "yes")
        parties[short_id] = (starter, *others)
        return short_id

    async def write(short_id: str, user: str, section: int) -> None:
        word = plant(user, f"s{section}{short_id}", set(parties[short_id]))
        await say(user, f"agreement edit #{short_id} {section} I notice {word} when I go quiet.")

    ids: dict[str, str] = {}
    ids["draft"] = await agreement("ana1", "ben2")
    await write(ids["draft"], "ana1", 1)
    await write(ids["draft"], "ben2", 2)
    ids["proposed"] = await agreement("cal3", "dia4")
    await write(ids["proposed"], "cal3", 1)
    await write(ids["proposed"], "dia4", 3)
    await say("cal3", f"agreement propose #{ids['proposed']}")
    ids["amended"] = await agreement("eli5", "ana1")
    await write(ids["amended"], "eli5", 1)
    await say("eli5", f"agreement propose #{ids['amended']}")
    word = plant("ana1", f"amend{ids['amended']}", {"eli5", "ana1"})
    await say("ana1", f"agreement amend #{ids['amended']} 2 Evenings suit me {word}.")
    ids["agreed"] = await agreement("ben2", "cal3")
    await write(ids["agreed"], "ben2", 4)
    await say("ben2", f"agreement propose #{ids['agreed']}")
    await say("cal3", f"agreement accept #{ids['agreed']} v1")
    ids["revisiting"] = await agreement("dia4", "eli5")
    await write(ids["revisiting"], "eli5", 5)
    await say("dia4", f"agreement propose #{ids['revisiting']}")
    await say("eli5", f"agreement accept #{ids['revisiting']} v1")
    await say("dia4", f"agreement revisit #{ids['revisiting']}")
    ids["withdrawn"] = await agreement("gus6", "hal7")
    await write(ids["withdrawn"], "gus6", 6)
    await say("hal7", f"agreement withdraw #{ids['withdrawn']}")
    ids["triad"] = await agreement("ana1", "cal3", "eli5")
    await write(ids["triad"], "cal3", 7)
    await write(ids["triad"], "eli5", 8)
    ids["invited"] = _ID.search(await say("ivy8", "agreement start @jon9")).group(1)  # jon9 has not answered
    parties[ids["invited"]] = ("ivy8",)
    foreign = _ID.search(await say("pam10", "agreement start @kit11", community=YONDER)).group(1)
    await say("kit11", "yes", community=YONDER)
    parties[foreign] = ("pam10", "kit11")
    word = plant("kit11", "yonder", {"kit11", "pam10"})
    await say("kit11", f"agreement edit #{foreign} 1 Plain words {word} please.", community=YONDER)

    # Space agreement: open changes, an agreement and an objection.
    await say(FACILITATOR, "space-agreement draft", private=False)
    await say(FACILITATOR, "space-agreement propose purpose A place to think together.", private=False)
    await say("ana1", "space-agreement propose talk We take turns and listen.", private=False)
    objection = plant("ben2", "objection", {"ben2", FACILITATOR})
    await say("ben2", f"space-agreement object 1 I would like us to talk first {objection}.", private=False)
    await say("cal3", "space-agreement agree 2", private=False)
    # Decide two suggestions, leaving ben2's and ivy8's pending.
    rows = await db.fetchall("SELECT id FROM question_suggestions ORDER BY id")
    suggestions = [row[0] for row in rows]
    canary_suggestions = dict(zip(suggested, suggestions, strict=True))
    await say(FACILITATOR, f"questions approve {suggestions[2]} connection", private=False)
    await say(FACILITATOR, f"questions decline {suggestions[3]} Not this season.", private=False)

    # Pending questions and open step-by-step answers.
    await say("jon9", "mydata forget")
    await say("ivy8", "mydata forget")
    # A withdrawal asked by button (Discord's way), not answered yet.
    app._observers[:] = []
    await app.press_button(invocation("ana1", private=True), f"agreement:withdraw:{ids['draft']}")
    await say("ben2", f"agreement edit #{ids['draft']}")
    await say("dia4", f"agreement edit #{ids['revisiting']}")
    await say("eli5", f"agreement edit #{ids['amended']}")

    pair_rows = await db.fetchall(
        "SELECT p.id, m.platform_user_id FROM pairs p JOIN pair_members pm ON pm.pair_id = p.id"
        " JOIN members m ON m.id = pm.member_id WHERE p.state = 'active'"
    )
    grouped: dict[int, set[str]] = {}
    for pair_id, user in pair_rows:
        grouped.setdefault(pair_id, set()).add(user)
    pairs = [frozenset(users) for users in grouped.values()]
    assert sorted(len(p) for p in pairs) == [2, 3], pairs
    buttons: list[tuple[str, str]] = []
    forms: list[tuple[str, str]] = []
    for delivery in sink.deliveries:
        intent = delivery.intent
        for custom_id, _ in getattr(intent, "buttons", ()):
            buttons.append((intent.user_id, custom_id))
    for short_id, members in parties.items():
        for user in members:
            forms.append((user, f"agreement:edit:{short_id}:1.2.3.4.5"))
            forms.append((user, f"agreement:edit:{short_id}:11.date"))
            buttons.append((user, f"agreement:form:{short_id}:1.2.3.4.5"))
    assert buttons, "proposals send buttons"
    now = clock.now()
    await db.checkpoint()
    await db.close()
    return World(
        template=path,
        now=now,
        agreements=ids,
        agreement_parties=parties,
        pairs=pairs,
        buttons=buttons,
        forms=forms,
        canary_suggestions=canary_suggestions,
    )
