"""A facilitator sets up a new space from nothing and runs it for a month with eight members.

alex reads help and setup, sets the timezone, fills the space's resources with every field a
resource has, checks the duty-of-care statement, and schedules questions (Mondays and Thursdays)
and pairing (weekly at first, then fortnightly). Members join at different times; rounds run;
questions go out; check-ins come and are answered by command and by a plain answer in private; a
pair starts an agreement from the welcome's example; someone sits a round out with the heads-up's
own example; alex sees totals only; a member exports their data.
"""

from __future__ import annotations

import re
from datetime import timedelta

from tests.journeys.world import World, joined

PEOPLE = ["alex", "sam", "jo", "rin", "kai", "lee", "max", "ash", "noor"]
MEMBERS = PEOPLE[1:]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def joined_news(w: World, who: str) -> str:
    """Everything `who` has seen so far, without moving their reading mark."""
    return joined(w.inbox(who).items)


async def join(w: World, who: str) -> str:
    consent = await w.type(who, "pair join")
    assert "Before you join pairing" in consent and "duty-of-care statement (version 1)" in consent
    # The duty-of-care statement is shown word for word before anything is kept.
    assert "Alongside is a peer space, not an emergency service." in consent
    answer = await w.type(who, "yes")
    assert "You're in." in answer
    return answer


def example(w: World, text: str, command: str, args: str) -> str:
    """The command a message shows (`command` followed by what matches `args`), as the person
    types it, without the platform's prefix."""
    found = re.search(re.escape(w.command(command)) + args, text)
    assert found, (command, text)
    return found.group(0).removeprefix(w.command(""))


async def play(w: World) -> None:
    alex = w.facilitator
    # -- Monday 5 January, 09:00: a new space --------------------------------------------------
    overview = await w.type(alex, "help")
    assert w.command("setup") in overview and w.command("pair schedule") in overview
    assert w.command("resources [add|edit|remove]") in overview
    members_help = await w.type("sam", "help")
    # A member's help lists what they may use, not the facilitators' commands.
    assert w.command("pair join") in members_help
    assert w.command("pair now") not in members_help and w.command("setup") not in members_help

    settings = await w.type(alex, "setup")
    assert "timezone: UTC" in settings and "question channel:" in settings
    # (On Matrix the room the bot was invited to is the question channel from the start.)
    channel_before = re.search(r"question channel: [^\n]*", settings).group(0)
    assert "Saved: timezone is now Europe/London." in await w.type(
        alex, "setup timezone Europe/London"
    )
    # A channel that does not exist is refused kindly, and nothing changes.
    missing = await w.type(alex, "setup question-channel nowhere-at-all")
    assert "I can't find a channel" in missing
    settings = await w.type(alex, "setup")
    assert "timezone: Europe/London" in settings and channel_before in settings
    assert "facilitator rule: the platform default" in settings
    # Saving the default rule again says what setup lists it as.
    assert "Saved: facilitator-rule is now the platform default." in await w.type(
        alex, "setup facilitator-rule default"
    )

    # Resources: help says how to write one; every field a resource has.
    how = await w.type(alex, "help resources")
    assert "name:" in how and "policy:" in how and "peer-run:" in how
    added = await w.type(
        alex,
        "resources add name: Samaritans; contact: call 116 123; hours: 24/7; region: UK;"
        " peer-run: no; policy: may-contact-emergency-services",
    )
    assert "Added Samaritans as resource number 1." in added
    added = await w.type(
        alex,
        "resources add name: Northside Peer Line; contact: text 07700 900123;"
        " hours: evenings 18:00 to 22:00; region: Leeds; peer-run: yes;"
        " policy: never-without-consent",
    )
    assert "Added Northside Peer Line as resource number 2." in added
    # A mistake changes nothing and says what would work.
    wrong = await w.type(alex, "resources add name: Half a line")
    assert "A resource needs a contact." in wrong
    listed = await w.type("sam", "resources")
    assert "Samaritans: call 116 123; 24/7; may contact emergency services." in listed
    assert (
        "Northside Peer Line: text 07700 900123; evenings 18:00 to 22:00; peer-run;"
        " never contacts emergency services without your consent." in listed
    )
    assert "Half a line" not in listed
    assert "(number 1)" not in listed  # the numbers are for facilitators, who edit by them
    assert "Duty of care (statement version 1):" in listed
    assert "(number 2)" in await w.type(alex, "resources")

    scheduled = await w.type(alex, "questions schedule weekly mon,thu 19:30")
    assert "The next one: Mon, 5 Jan 2026, 19:30 (Europe/London)." in scheduled
    scheduled = await w.type(alex, "pair schedule weekly wed 10:00")
    assert "the first on Wed, 7 Jan 2026, 10:00 (Europe/London)" in scheduled

    for member in ("sam", "jo", "rin", "kai"):
        assert "The next round starts Wed, 7 Jan 2026, 10:00" in await join(w, member)
    status = await w.type("sam", "pair status", private=True)
    assert "You're in pairing." in status and "Next round: Wed, 7 Jan 2026, 10:00" in status
    assert "members in: fewer than 5" in await w.type(alex, "pair stats")
    for person in PEOPLE:
        w.news(person)

    # -- Monday evening: the first question reaches everyone ----------------------------------
    await w.clock(11 * HOUR)  # 20:00
    for person in PEOPLE:
        assert "A question for the space:" in w.news(person)

    # -- Tuesday: two more join; the heads-up for round 1 ----------------------------------------
    await w.clock(9 * HOUR)  # Tue 05:00
    for member in ("lee", "max"):
        await join(w, member)
    await w.clock(6 * HOUR)  # Tue 11:00
    heads_up = w.news("noor")
    assert "The next pairing round starts Wed, 7 Jan 2026, 10:00 (Europe/London)." in heads_up
    assert "6 people are in so far." in heads_up
    assert not set(re.findall(r"\w+", heads_up)) & set(MEMBERS)  # numbers, never names
    # kai sits round 1 out with the heads-up's own example, exactly as shown.
    sit_out = example(w, heads_up, "pair pause", r" \d+")
    paused = await w.type("kai", sit_out, private=True)
    assert "Your pairing is paused until Tue, 13 Jan 2026" in paused

    # -- Wednesday 10:00: round 1 ----------------------------------------------------------------
    await w.clock(DAY)  # Wed 11:00
    assert "Pairing round 1 has begun" in w.news(alex)
    welcomes = {member: w.news(member) for member in MEMBERS}
    in_round = sorted(m for m in MEMBERS if "private space for round 1" in welcomes[m])
    assert in_round == sorted(["sam", "jo", "rin", "lee", "max"])  # not kai, who sat it out
    # sam's welcome shows how to start an agreement; sam types it exactly as shown.
    start = example(w, welcomes["sam"], "agreement start", r"( @[a-z]+)+")
    partners = [name.removeprefix("@") for name in start.split()[2:] if name != "@sam"]
    started = await w.type("sam", start)
    assert "is started." in started
    for partner in partners:
        assert "sam would like to negotiate an agreement with you" in w.news(partner)
    for other in set(PEOPLE) - {"sam", *partners}:
        assert "negotiate" not in w.news(other)  # an invitation reaches only the people it names
    for partner in partners:
        assert "isn't" not in await w.type(partner, "yes", private=True)

    # -- Thursday: ash joins during the round and is placed by the usual rules ------------------
    await w.clock(DAY)  # Thu 11:00
    assert "placed in round 1 straight away" in await join(w, "ash")
    grown = [m for m in in_round if "Someone who came into pairing during round 1" in w.news(m)]
    assert len(grown) == 2  # ash grew a pair of two into three; the others heard nothing
    # Thursday's question, at 19:30.
    await w.clock(9 * HOUR)  # Thu 20:00
    for person in PEOPLE:
        assert "A question for the space:" in w.news(person)

    # -- Sunday 10:00: halfway through round 1, a check-in for everyone in a pair --------------
    await w.clock(2 * DAY + 14 * HOUR)  # Sun 10:00
    for member in MEMBERS:
        news = w.news(member)
        if member in (*in_round, "ash"):
            assert "Halfway through round 1 with" in news and "Question 1 of 3" in news
        else:
            assert "Halfway through" not in news
    # sam answers by command, and shares one answer with their pair.
    assert "Noted, just for you." in await w.type("sam", "checkin 4", private=True)
    shared = await w.type("sam", "checkin share We listen before we answer.", private=True)
    assert "Noted, and shared in your pair's space." in shared
    sams_pair = [m for m in (*in_round, "ash") if "We listen before we answer." in joined_news(w, m)]
    assert sorted(sams_pair) == sorted(["sam", *partners])
    assert "That's the check-in done." in await w.type("sam", "checkin skip", private=True)
    # rin answers in plain words in private: a number, then a sentence, then done.
    assert "Noted, just for you." in await w.answer("rin", "3")
    assert "Noted, just for you." in await w.answer("rin", "Taking turns has been easy.")
    assert "Stopped here." in await w.answer("rin", "done")
    # Nobody else ever sees rin's private answers.
    for person in PEOPLE:
        if person != "rin":
            assert "Taking turns has been easy." not in joined_news(w, person)
    await w.clock(23 * HOUR)  # Mon 12 Jan 09:00: the first week is over

    # -- Week 2: rounds become fortnightly; noor joins; kai's pause ends before round 2 --------
    for person in PEOPLE:
        w.news(person)
    changed = await w.type(alex, "pair schedule every 2 weeks wed 10:00")
    # Round 1 keeps its length; round 2 starts when it ends.
    assert "Wed, 14 Jan 2026, 10:00" in changed
    await w.clock(11 * HOUR)  # Mon 20:00: Monday's question
    for person in PEOPLE:
        assert "A question for the space:" in w.news(person)
    await join(w, "noor")
    await w.clock(15 * HOUR)  # Tue 11:00: the heads-up for round 2, and kai's pause is over
    heads_up = w.news("noor")
    assert "The next pairing round starts Wed, 14 Jan 2026, 10:00" in heads_up
    assert "8 people are in so far." in heads_up
    assert example(w, heads_up, "pair pause", r" \d+") == "pair pause 14"  # a fortnight's round
    ended = w.news("kai")
    assert "Your pause from pairing has ended, so you're back in." in ended
    assert "The next round starts Wed, 14 Jan 2026, 10:00" in ended and "placed in" not in ended
    await w.clock(DAY)  # Wed 11:00: round 1 has ended, round 2 has begun
    for member in MEMBERS:
        news = w.news(member)
        if member != "noor" and member != "kai":
            assert "Round 1 with" in news and "has ended, so here is a last short check-in" in news
        assert "private space for round 2, until Wed, 28 Jan 2026, 10:00" in news
    assert "Pairing round 2 has begun" in w.news(alex)

    # jo answers the end-of-round check-in in plain words: a number, a pass, a sentence.
    assert "Noted, just for you." in await w.answer("jo", "5")
    assert "Skipped." in await w.answer("jo", "skip")
    assert "That's the check-in done." in await w.answer("jo", "Less hurry next time.")
    # A check-in answered is answered: there is nothing more to answer.
    assert "There's no check-in waiting for you right now." in await w.type(
        "jo", "checkin", private=True
    )

    # -- Week 3: max pauses without an end; alex sees totals only ---------------------------------
    await w.clock(DAY)  # Thu 15 Jan 11:00
    paused = await w.type("max", "pair pause", private=True)
    assert "Your pairing is paused until you come back with" in paused
    assert w.command("pair resume") in paused
    await w.clock(6 * DAY)  # Wed 21 Jan 11:00: halfway through round 2
    for member in MEMBERS:
        assert "Halfway through round 2 with" in w.news(member)
    assert "Noted, just for you." in await w.type("kai", "checkin 3", private=True)
    assert "Stopped here." in await w.type("kai", "checkin done", private=True)
    stats = await w.type(alex, "pair stats")
    assert "members in: 8" in stats and "paused: fewer than 5" in stats
    assert "rounds run: 2" in stats
    assert 'Numbers drawn from fewer than 5 people are shown as "fewer than 5".' in stats
    # Totals only: no member's name, and no answer, ever reaches the facilitator.
    everything_alex_saw = joined_news(w, alex)
    for member in MEMBERS:
        assert not re.search(rf"\b{member}\b", everything_alex_saw), member
    for answer in ("We listen before we answer.", "Taking turns", "Less hurry next time."):
        assert answer not in everything_alex_saw

    # -- Week 4: max comes back; round 3 -----------------------------------------------------
    await w.clock(5 * DAY)  # Mon 26 Jan 11:00
    resumed = await w.type("max", "pair resume", private=True)
    assert "Welcome back: you're in again." in resumed
    await w.clock(2 * DAY)  # Wed 28 Jan 11:00
    for member in MEMBERS:
        assert "private space for round 3" in w.news(member), member
    status = await w.type("max", "pair status", private=True)
    assert "Your current pair:" in status and "until Wed, 11 Feb 2026, 10:00" in status

    # -- Monday 2 February: a month of questions, and noor's copy of their data -----------------
    await w.clock(5 * DAY + 9 * HOUR)  # Mon 2 Feb 20:00
    questions = [
        line
        for line in joined_news(w, "noor").splitlines()
        if line.startswith("A question for the space:")
    ]
    assert len(questions) == 9 and len(set(questions)) == 9  # Mondays and Thursdays, no repeats
    export = await w.type("noor", "mydata export", private=True)
    assert "Here is everything Alongside keeps about you in this space" in export
    assert "Nobody else's answers or lists are in it." in export
    stats = await w.type(alex, "pair stats")
    assert "rounds run: 3" in stats and "paused: 0" in stats
