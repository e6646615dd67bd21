"""A member comes in late, pauses and resumes, blocks someone, ends a pair, and erases their data.

ash joins pairing after round 1 has begun and is placed by the usual rules; pauses and comes
back; privately keeps jo out of their rounds (and gets a gentle note when typing it in the room);
ends their pair without a reason; starts an agreement with their next pair; then erases
everything with `mydata forget`, where a stale "yes" does nothing and a fresh one erases. After
that nothing of ash's shows anywhere: not in their own status or export, not in their last pair's
view, not in the facilitator's totals. jo never learns of the block at any point.
"""

from __future__ import annotations

import re
from datetime import timedelta

from tests.journeys.world import World, joined

PEOPLE = ["alex", "sam", "jo", "rin", "kai", "ash"]

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def everything(w: World, who: str) -> str:
    """All `who` has seen so far, without moving their reading mark."""
    return joined(w.inbox(who).items)


def names_ash(text: str) -> bool:
    return re.search(r"\bash\b", text) is not None


def example(w: World, text: str, command: str, args: str) -> str:
    """The command a message shows, as the person types it (without the platform's prefix)."""
    found = re.search(re.escape(w.command(command)) + args, text)
    assert found, (command, text)
    return found.group(0).removeprefix(w.command(""))


async def join(w: World, who: str) -> str:
    assert "Would you like to join?" in await w.type(who, "pair join")
    answer = await w.type(who, "yes")
    assert "You're in." in answer
    return answer


async def play(w: World) -> None:
    alex = w.facilitator
    # -- Monday 5 January: four members, a weekly round from 10:00 ------------------------------
    assert "Pairing rounds will start every Monday at 10:00" in await w.type(
        alex, "pair schedule weekly mon 10:00"
    )
    for member in ("sam", "jo", "rin", "kai"):
        await join(w, member)
    await w.clock(2 * HOUR)  # 11:00: round 1 has begun, two pairs
    assert "Pairing round 1 has begun" in w.news(alex)
    for member in ("sam", "jo", "rin", "kai"):
        assert "private space for round 1" in w.news(member)

    # -- ash comes in late, and is placed straight away by the usual rules ----------------------
    assert "You're not in pairing." in await w.type("ash", "pair status", private=True)
    joined_now = await join(w, "ash")
    assert "A round is running, so you've been placed in round 1 straight away" in joined_now
    assert "private space for round 1" in joined_now
    # ash grew one pair of two into a three; the two were told why, and the other pair nothing.
    grown = [m for m in ("sam", "jo", "rin", "kai") if names_ash(w.news(m))]
    assert len(grown) == 2
    for member in grown:
        assert "Someone who came into pairing during round 1 has joined you" in everything(w, member)
    status = await w.type("ash", "pair status", private=True)
    assert f"Your current pair: {grown[0]} and {grown[1]}" in status
    apart = next(m for m in ("sam", "jo", "rin", "kai") if m not in grown and m != "sam")
    assert apart == "jo"  # the seeded round put jo in the other pair: ash keeps jo apart below

    # -- ash keeps jo out of their rounds, privately ---------------------------------------------
    noted = await w.type("ash", "pair not-with @jo", private=True)
    assert "Noted, and kept private: you won't be paired with jo from the next round on." in noted
    assert "jo can't tell" in noted and "gentle note" not in noted
    # The undo the answer shows works as written; then ash adds jo again.
    undo = example(w, noted, "pair not-with", r" @jo remove")
    assert "off your not-with list" in await w.type("ash", undo, private=True)
    assert "Noted, and kept private" in await w.type("ash", "pair not-with @jo", private=True)
    # Typed in the room by mistake: the answer still reaches ash only, with a gentle note.
    in_room = await w.type("ash", "pair not-with @jo")
    assert "jo is already on your not-with list, so nothing changed." in in_room
    assert "A gentle note: words typed in a channel can be read there." in in_room
    for other in ("alex", "sam", "jo", "rin", "kai"):
        assert "not-with list" not in w.news(other)

    # -- ash pauses and comes back; the pair carries on meanwhile -------------------------------
    paused = await w.type("ash", "pair pause 2", private=True)
    assert "Your pairing is paused until Wed, 7 Jan 2026, 11:00" in paused
    assert "Your current pair carries on as it is" in paused
    assert "paused until Wed, 7 Jan 2026, 11:00" in await w.type("ash", "pair status", private=True)
    await w.clock(HOUR)
    resumed = await w.type("ash", "pair resume", private=True)
    assert "Welcome back: you're in again." in resumed
    status = await w.type("ash", "pair status", private=True)
    assert "You're in pairing." in status and "Your current pair:" in status

    # -- Tuesday: ash ends the pair, no reason asked; the other two carry on as a pair ---------
    await w.clock(DAY)  # Tue 12:00
    ended = await w.type("ash", "pair end", private=True)
    assert "Your pair has ended. No reason needed" in ended
    for member in grown:
        news = w.news(member)
        assert "Your group of three is now a pair: one person has stepped out" in news
        assert not names_ash(news)  # the notice is neutral: it names nobody
    assert "You're not in a pair right now." in await w.type("ash", "pair status", private=True)

    # -- Monday 12: round 2; jo and ash are never grouped ---------------------------------------
    w.news("ash")
    await w.clock(6 * DAY)  # Mon 12 Jan 12:00
    welcome = w.news("ash")
    assert "private space for round 2" in welcome and "jo" not in re.findall(r"\w+", welcome)
    partner = example(w, welcome, "agreement start", r"( @[a-z]+)+").split()[2:]
    assert "@ash" in partner and "@jo" not in partner
    # ash starts an agreement from the welcome's example; the others accept the invitation.
    start = example(w, welcome, "agreement start", r"( @[a-z]+)+")
    started = await w.type("ash", start, private=True)
    assert "is started." in started
    agreement = re.search(r"#[0-9A-Z]{5}", started).group(0)
    others = [name.removeprefix("@") for name in partner if name != "@ash"]
    for other in others:
        assert "ash would like to negotiate an agreement with you" in w.news(other)
        assert "You've joined agreement" in await w.type(other, "yes", private=True)
    w.news("ash")

    # -- ash erases their data: a stale yes does nothing, a fresh one erases -------------------
    asked = await w.type("ash", "mydata forget", private=True)
    assert "This erases what Alongside keeps about you in this space" in asked
    minutes = int(re.search(r"This stays open for (\d+) minutes", asked).group(1))
    await w.clock((minutes + 5) * MINUTE)
    stale = await w.type("ash", "yes", private=True)
    assert "Done." not in stale and "nothing was done" in stale
    assert "You're in pairing." in await w.type("ash", "pair status", private=True)
    await w.type("ash", "mydata forget", private=True)
    assert "What Alongside kept about you in this space has been erased." in await w.type(
        "ash", "yes", private=True
    )

    # Nothing of ash's shows any more: their own view ...
    assert "You're not in pairing." in await w.type("ash", "pair status", private=True)
    export = await w.type("ash", "mydata export", private=True)
    assert re.findall(r": (\d+) items?", export) == ["0", "0", "0"], export
    # ... their last pair's view: the pair and the agreement ended, neutrally ...
    for other in others:
        news = w.news(other)
        assert "Your pair for this round has ended." in news
        assert "its text is deleted" in news
        status = await w.type(other, "pair status", private=True)
        assert "You're not in a pair right now." in status and not names_ash(status)
        gone = await w.type(other, f"agreement view {agreement}", private=True)
        assert "I can't find that agreement among yours." in gone and not names_ash(gone)
    # ... and the facilitator's totals.
    stats = await w.type(alex, "pair stats")
    assert "members in: fewer than 5" in stats and not names_ash(stats)

    # -- Round 3 runs without ash; jo never learned of the block ------------------------------
    await w.clock(7 * DAY)  # Mon 19 Jan 12:00
    assert "private space for round 3" not in w.news("ash")
    seen_by_jo = everything(w, "jo")
    assert "private space for round 3" in seen_by_jo
    assert not names_ash(seen_by_jo)  # jo and ash never shared a pair, and nothing said why
    for words in ("won't be paired with", "can't tell", "on your not-with list", "gentle note"):
        assert words not in seen_by_jo
