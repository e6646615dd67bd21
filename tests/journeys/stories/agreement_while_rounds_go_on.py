"""Two members, sam and rin, negotiate a pair agreement section by section while weekly pairing
rounds go on and pair each of them with others: an invitation among others waiting, answers step
by step and by command, a proposal amended and accepted by its version, the review-date check-in
answered in private (plainly and by command), a revisit with the agreed version in force meanwhile,
and a withdrawal. Meanwhile kai proposes a change to the space agreement and withdraws it.

The agreement's words reach sam and rin only, never anyone else of the space; rounds starting and
ending never break the agreement's flow."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.journeys.world import World

PEOPLE = ["alex", "sam", "rin", "jo", "kai", "lee"]
PARTIES = ("sam", "rin")
OUTSIDERS = ("alex", "jo", "kai", "lee")

# Words only the agreement holds: nobody outside it may ever see them.
SAM_SAFE = "Being listened to without advice"
RIN_SAFE = "Knowing I can say stop at any time"
RIN_HELPED = "A walk, and a message the next day"
RIN_AMENDED = "Being heard first, and asked before any advice"
SAM_CHECKING = "A short message on Sunday evenings"
WORDS = (SAM_SAFE, RIN_SAFE, RIN_HELPED, RIN_AMENDED, SAM_CHECKING)

AGREEMENT_ID = re.compile(r"[Aa]greement #([0-9A-Z]{5})")


def agreement_id(text: str) -> str:
    found = AGREEMENT_ID.search(text)
    assert found, text
    return found.group(1)


def shown(w: World, text: str, start: str, words: int) -> str:
    """The command a message shows: `start` and the `words` words after it, as a person would
    type it (without the platform's prefix)."""
    found = re.search(re.escape(w.command(start)) + r"\S*" + r"(?: [^\s.;,]+)" * words, text)
    assert found, f"{start!r} not shown in: {text}"
    return found.group(0)[len(w.prefix) :]


def nobody_outside_saw_the_words(w: World) -> None:
    for who in OUTSIDERS:
        seen = "\n".join(item.text for item in w.inbox(who).items)
        for words in WORDS:
            assert words not in seen, f"{who} saw {words!r}"


async def play(w: World) -> None:
    # -- week 1: pairing starts, sam invites rin, and they negotiate ---------------------------
    for member in ("sam", "rin", "jo", "kai"):
        assert "Would you like to join?" in await w.type(member, "pair join")
        assert "You're in." in await w.type(member, "yes")
    out = await w.type("alex", "pair schedule weekly mon 10:00")
    assert "Pairing rounds will start every Monday at 10:00" in out
    await w.clock(timedelta(hours=2))
    for member in ("sam", "rin", "jo", "kai"):
        assert "Welcome, " in w.news(member)

    # sam invites rin by plain name; jo invites rin too, so two invitations wait for rin.
    out = await w.type("sam", "agreement start rin", private=True)
    assert "I've asked rin privately" in out
    sam_id = agreement_id(out)
    invite = w.news("rin")
    assert "sam would like to negotiate an agreement with you" in invite
    out = await w.type("jo", "agreement start @rin", private=True)
    jo_id = agreement_id(out)
    assert "jo would like" not in w.news("rin")  # queued behind sam's, out of sight until then

    # rin looks: both invitations are there, newest first, each with how to answer it.
    view = await w.type("rin", "agreement view", private=True)
    assert "invitations are waiting for you, newest first" in view
    assert view.index(f"#{jo_id} from jo") < view.index(f"#{sam_id} from sam"), view
    assert "once you've answered the one before" in view
    out = await w.type("rin", shown(w, view, "yes ", 0), private=True)
    assert f"You've joined agreement #{sam_id} with sam" in out
    assert "jo would like to negotiate an agreement with you" in out  # the next one comes now
    assert "rin has joined agreement" in w.news("sam")
    # A bare no answers the newest question: jo's invitation.
    out = await w.type("rin", "no", private=True)
    assert "Nothing more will come of that invitation" in out
    assert f"rin isn't joining agreement #{jo_id}, so it has closed" in w.news("jo")

    # sam writes one section by command; rin goes step by step, answering in plain text.
    out = await w.type("sam", f"agreement edit #{sam_id} safe {SAM_SAFE}", private=True)
    assert "Saved in agreement" in out and "section 2, Feeling safe with each other" in out
    out = await w.type("rin", f"agreement edit #{sam_id}", private=True)
    assert "one section at a time" in out and "(1 of 15)" in out, out
    assert "(2 of 15)" in await w.answer("rin", "skip")
    assert "(3 of 15)" in await w.answer("rin", RIN_SAFE)
    assert "(4 of 15)" in await w.answer("rin", "skip")
    step = await w.answer("rin", RIN_HELPED)  # section 4 shows the space's resources
    assert "(5 of 15)" in step
    out = await w.answer("rin", "done")
    assert "Your answers in agreement" in out and "are saved" in out
    # The review date: the example in the draft's view, typed with a date.
    view = await w.type("rin", f"agreement view #{sam_id}", private=True)
    assert SAM_SAFE in view and RIN_SAFE in view and RIN_HELPED in view
    example = shown(w, view, f"agreement edit #{sam_id} revisit-date", 1)
    out = await w.type("rin", example.replace("YYYY-MM-DD", "2026-01-20"), private=True)
    assert "Saved in agreement" in out and "Review date" in out

    # sam proposes; rin sees exactly that version, and amends it rather than accepting.
    out = await w.type("sam", f"agreement propose #{sam_id}", private=True)
    assert "Version 1 of agreement" in out and "on its way to rin" in out
    proposal = w.news("rin")
    assert "sam has proposed version 1" in proposal
    assert SAM_SAFE in proposal and RIN_HELPED in proposal and "Review date: Tue, 20 Jan 2026" in proposal
    assert w.command(f"agreement accept #{sam_id} v1") in proposal
    out = await w.type("rin", f"agreement amend #{sam_id} safe {RIN_AMENDED}", private=True)
    assert "Version 2 of agreement" in out and "on its way to sam" in out
    amended = w.news("sam")
    assert "rin has amended agreement" in amended and "This is version 2" in amended
    assert RIN_AMENDED in amended and RIN_SAFE not in amended
    # sam accepts the version that was proposed to them first: it has been replaced.
    out = await w.type("sam", f"agreement accept #{sam_id} v1", private=True)
    assert "has changed since version 1" in out and "Nothing was accepted" in out
    assert "it is agreed" not in w.news("rin")
    # sam's view shows what waits for them, with the command that accepts it.
    view = await w.type("sam", "agreement view", private=True)
    assert "Version 2, proposed by rin. Accepted by rin; still to accept: sam." in view
    out = await w.type("sam", shown(w, view, f"agreement accept #{sam_id}", 1), private=True)
    assert "and so has everyone else" in out and "is agreed" in out
    assert "and so has everyone: it is agreed" in w.news("rin")

    # The space agreement: drafted by the facilitator, a change proposed, withdrawn by its author.
    out = await w.type("alex", "space-agreement draft")
    assert "The space agreement is drafted from the template" in out
    out = await w.type("kai", "space-agreement propose how-we-talk We ask before we share advice.")
    assert "Your change is #1" in out
    proposal = w.news("jo")
    assert "kai proposes a change to the space agreement (#1)" in proposal
    out = await w.type("jo", shown(w, proposal, "space-agreement agree ", 0))
    assert "You've agreed to change #1" in out
    out = await w.type("jo", "space-agreement withdraw 1")
    assert "Only the person who proposed change #1 can withdraw it" in out
    out = await w.type("kai", "space-agreement withdraw 1")
    assert "Change #1 is withdrawn" in out
    assert "was withdrawn by the person who proposed it" in w.news("lee")
    out = await w.type("lee", "space-agreement changes")
    assert "withdrawn by the person who proposed it" in out
    assert "No changes are open right now" in out and w.command("space-agreement agree") not in out

    nobody_outside_saw_the_words(w)

    # -- a new round pairs them with others; the agreement carries on as it was ----------------
    for who in PEOPLE:
        w.news(who)
    await w.clock(timedelta(days=7))  # round 2 (the Matrix world's week ends here)
    for member in ("sam", "rin"):
        news = w.news(member)
        assert "Round 1 has come to an end" in news and "Welcome, " in news
        out = await w.type(member, "agreement view", private=True)
        assert f"Agreement #{sam_id} between sam and rin: agreed." in out
        assert SAM_SAFE in out and RIN_AMENDED in out

    # -- the review date: the agreement check-in, with pair check-ins waiting too ---------------
    await w.clock(timedelta(days=8))  # round 3 has begun; Tue 20 Jan, the review date, is here
    for member in PARTIES:
        news = w.news(member)
        assert f"Today is the review date for agreement #{sam_id}" in news, news
        assert w.command("checkin") in news
    for member in OUTSIDERS:
        assert "review date" not in w.news(member)
    # rin answers plainly in private; the check-in is done, and the pair check-in is next.
    out = await w.answer("rin", "It still fits us")
    assert f"Thank you for checking in on agreement #{sam_id}" in out
    out = await w.type("rin", "checkin", private=True)
    assert "How connected do you feel with each other" in out
    assert "Noted, just for you" in await w.answer("rin", "4")
    # sam answers by command, then opens it again with the command the reminder shows.
    out = await w.type("sam", "checkin It mostly works; I'd like to add how we check in", private=True)
    assert "Your answer stays with you" in out
    out = await w.type("sam", shown(w, out, f"agreement revisit #{sam_id}", 0), private=True)
    assert f"Agreement #{sam_id} is open for revisiting" in out, out
    notice = w.news("rin")
    assert f"sam would like to revisit agreement #{sam_id}" in notice
    # Then sam's pair check-in of this round, by command too.
    assert "Noted, just for you" in await w.type("sam", "checkin 5", private=True)

    # -- revisiting: a new version negotiated while version 2 stays in force --------------------
    out = await w.type("sam", f"agreement edit #{sam_id} checking-in {SAM_CHECKING}", private=True)
    assert "Saved in agreement" in out and "stays as it is until everyone accepts a new version" in out
    view = await w.type("rin", f"agreement view #{sam_id}", private=True)
    assert "being revisited" in view and "version 2" in view
    assert view.index(RIN_AMENDED) < view.index("Being negotiated:") < view.index(SAM_CHECKING)
    out = await w.type("sam", f"agreement propose #{sam_id}", private=True)
    assert "Version 3 of agreement" in out
    proposal = w.news("rin")
    assert "sam has proposed version 3" in proposal and SAM_CHECKING in proposal
    await w.clock(timedelta(days=6))  # round 4 starts meanwhile
    out = await w.type("rin", shown(w, proposal, f"agreement accept #{sam_id}", 1), private=True)
    assert "is agreed" in out
    assert "rin has accepted version 3" in w.news("sam")
    history = await w.type("sam", f"agreement history #{sam_id}", private=True)
    assert "everyone had accepted version 3: agreed" in history
    assert "opened it for revisiting (version 2 stayed as agreed)" in history

    # -- withdrawing -----------------------------------------------------------------------------
    # LEFT: PRODUCT.md §5 counts withdraw among destructive confirmations, but the command
    # withdraws at once (only Discord's button asks); the product's §1 says "one command".
    out = await w.type("rin", f"agreement withdraw #{sam_id}", private=True)
    assert f"You've withdrawn from agreement #{sam_id}" in out
    notice = w.news("sam")
    assert f"rin has withdrawn from agreement #{sam_id}" in notice and "No reason is asked for" in notice
    out = await w.type("sam", f"agreement amend #{sam_id} 3 more", private=True)
    assert "was withdrawn, so it can't change any more" in out
    # Outsiders asking about it learn nothing, not even that it exists.
    out = await w.type("jo", f"agreement view #{sam_id}", private=True)
    assert "I can't find that agreement among yours" in out

    # Rounds went on all along, pairing each of them with others.
    await w.clock(timedelta(days=7))
    for member in PARTIES:
        assert "Welcome, " in w.news(member)
    nobody_outside_saw_the_words(w)
