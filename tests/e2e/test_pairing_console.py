"""End to end: pairing through the real `alongside run` console, scripted on stdin, over
simulated weeks (`/clock`). Scripts live in tests/e2e/scripts/pairing_*.txt."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.e2e.console import run_console

SCRIPTS = Path(__file__).resolve().parent / "scripts"
_PROMPT = re.compile(r"^\[(?:#[\w-]+|private)\] (\w+)> (.*)$")


def transcript(name: str, db: Path, **kwargs) -> list[tuple[str, str, str]]:
    """Run a script; return (who, command line, everything printed after it) per typed line."""
    result = run_console((SCRIPTS / name).read_text(), db, **kwargs)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    blocks: list[tuple[str, str, str]] = []
    for line in result.stdout.splitlines():
        match = _PROMPT.match(line)
        if match:
            blocks.append((match.group(1), match.group(2), ""))
        elif blocks:
            who, command, out = blocks[-1]
            blocks[-1] = (who, command, out + line + "\n")
    return blocks


def after(blocks, who: str, command: str, nth: int = 0) -> str:
    found = [out for w, c, out in blocks if w == who and c == command]
    assert len(found) > nth, (who, command)
    return found[nth]


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_rounds_over_several_weeks(tmp_path):
    db = tmp_path / "rounds.db"
    blocks = transcript("pairing_rounds.txt", db)

    # Joining shows the consent text first; nothing is kept before /yes.
    consent = after(blocks, "sam", "/pair join")
    assert "What I keep" in consent and "duty-of-care statement (version 1)" in consent
    assert "Answer /yes or /no." in consent
    assert "You're in." in after(blocks, "sam", "/yes")

    # The schedule: the first round is within 24 hours, so the heads-up goes at once, no names.
    scheduled = after(blocks, "alex", "/pair schedule weekly mon 10:00")
    assert "the first on Mon, 5 Jan 2026, 10:00 (UTC)" in scheduled
    assert (
        "[#circle] Alongside: The next pairing round starts Mon, 5 Jan 2026, 10:00 (UTC). 5 people are in so far."
        in scheduled
    )
    assert "/pair pause 7 pauses you for 7 days" in scheduled

    # Round 1: five people, so one pair and exactly one triad, each in a private space.
    round1 = after(blocks, "alex", "/clock +1h")
    spaces = re.findall(r"\[pair space (pair-\d+-\d+): ([\w, ]+)\]", round1)
    assert sorted(len(members.split(", ")) for _, members in spaces) == [2, 3]
    assert "/agreement start" in round1 and "Something to begin with, if you like:" in round1
    assert "Pairing round 1 has begun" in round1

    # Not-with is private; the mid-round check-in reaches every member privately.
    assert "Nobody sees this list, and jo can't tell." in after(blocks, "sam", "/pair not-with @jo")
    mid = after(blocks, "sam", "/clock +84h")
    assert mid.count("Halfway through round 1") == 5
    assert "1 far apart, 2 a little connected" in mid
    assert "Noted, just for you." in after(blocks, "sam", "/checkin 4")
    shared = after(blocks, "sam", "/checkin share talking about our walks helped")
    assert "shared in your pair's space" in shared
    assert re.search(r"\[pair space pair-1-\d\] sam shares from their check-in:", shared)
    assert "Stopped here." in after(blocks, "sam", "/checkin done")

    # Pause with an end date: rin misses round 2, is told when the pause ends, and is back for 3.
    assert "paused until Sun, 18 Jan 2026, 22:00 (UTC)" in after(blocks, "rin", "/pair pause 10")
    heads_up2 = after(blocks, "rin", "/clock +60h")
    assert (
        "The next pairing round starts Mon, 12 Jan 2026, 10:00 (UTC). Fewer than 5 people are in so far." in heads_up2
    )

    # pair end from a triad: a neutral notice, and the other two carry on in a fresh space.
    ended = after(blocks, "kai", "/pair end")
    assert "Your pair has ended." in ended
    assert "This space has closed because the pair has ended." in ended
    assert "(private to sam) Your group of three is now a pair" in ended or (
        "(private to jo) Your pair for this round has ended." in ended
    )
    notices = [
        line for line in ended.splitlines() if "(private to" in line and "to kai)" not in line
    ]
    assert notices and not any("kai" in line.split(")", 1)[1] for line in notices)

    # Leaving ends the current pair too, with a neutral notice; status says you're not in.
    left = after(blocks, "lee", "/pair leave")
    assert "You've left pairing." in left and "ended too" in left
    assert "(private to jo) Your pair for this round has ended." in left
    assert "You're not in pairing." in after(blocks, "lee", "/pair status")

    # Round 2 closes round 1 (end check-ins, spaces closed) and leaves rin out (paused).
    week2 = after(blocks, "sam", "/clock +1w")
    assert "Round 1 has come to an end, and this space is closing." in week2
    assert "here is a last short check-in" in week2
    round2_spaces = re.findall(r"\[pair space pair-\d+-\d+: ([\w, ]+)\]", week2)
    assert round2_spaces and all("rin" not in members for members in round2_spaces)
    assert all(not {"sam", "jo"} <= set(members.split(", ")) for members in round2_spaces)

    # Re-joining after leaving asks for consent again.
    assert "Before you join pairing" in after(blocks, "lee", "/pair join")
    assert "You're in." in after(blocks, "lee", "/yes")

    # rin's pause ends by itself, announced privately; rin is in round 3.
    week3 = after(blocks, "sam", "/clock +1w", 1)
    assert "(private to rin) Your pause from pairing has ended, so you're back in." in week3
    assert any(
        "rin" in members for members in re.findall(r"\[pair space pair-\d+-\d+: ([\w, ]+)\]", week3)
    )

    # Three silent rounds: jo is asked privately whether to stay, pause or leave ...
    week4 = after(blocks, "kai", "/clock +1w")
    assert (
        "(private to jo) You've been in 3 rounds in a row with no check-ins or pairing commands from you"
        in week4
    )
    # ... and, with no answer by the next round, is paused (never removed) and told so.
    week5 = after(blocks, "alex", "/clock +1w")
    assert (
        "(private to jo) I haven't heard from you since I asked, so I've paused your pairing."
        in week5
    )
    assert "paused until you resume" in after(blocks, "jo", "/pair status")
    assert "Welcome back" in after(blocks, "jo", "/pair resume")

    # Facilitators see aggregates only.
    stats = after(blocks, "alex", "/pair stats")
    assert "members in: 5" in stats and "rounds run: 4" in stats
    assert not re.search(r"\b(sam|jo|rin|kai|lee)\b", stats)

    # Check-in answers and not-with entries are encrypted at rest.
    raw = b"".join(bytes(r[0] or b"") for r in rows(db, "SELECT answers_enc FROM pair_checkins"))
    assert b"walks" not in raw
    assert rows(db, "SELECT COUNT(*) FROM pair_not_with")[0][0] == 1


def test_every_bad_input_gets_a_kind_answer_and_changes_nothing(tmp_path):
    db = tmp_path / "bad.db"
    blocks = transcript("pairing_bad_input.txt", db)
    seen: dict[tuple[str, str], int] = {}
    expected = [
        ("alex", "/pair now", "Nobody is in pairing right now, so there's no round to start."),
        (
            "alex",
            "/pair schedule weekly mon 10:00 from 2025-12-01",
            "2025-12-01 has already passed.",
        ),
        (
            "alex",
            "/pair schedule every 2 weeks mon 10:00 from 2026-02-31",
            "isn't a date I can read",
        ),
        (
            "alex",
            "/pair schedule fortnightly on mondays",
            'couldn\'t read "fortnightly on mondays" as a schedule',
        ),
        ("alex", "/pair schedule", "This needs a recurrence."),
        ("alex", "/pair schedule weekly mon 10:00", "not sure where to post pairing heads-ups"),
        ("sam", "/pair leave", "You're not in pairing, so there's nothing to leave."),
        ("sam", "/pair pause", "You're not in pairing, so there's nothing to pause."),
        ("sam", "/pair resume", "You're not in pairing, so there's nothing to resume."),
        ("sam", "/pair end", "You're not in pairing, so there's no pair to end."),
        ("sam", "/pair not-with @jo", "kept only for people who have joined"),
        ("sam", "/pair not-with @sam", "That's you."),
        ("sam", "/pair now", "/pair now is for the space's facilitators."),
        ("sam", "/pair join", "Before you join pairing"),
        ("sam", "/yes", "You're in."),
        ("sam", "/pair join", "You're already in pairing."),
        ("sam", "/pair resume", "Your pairing isn't paused, so there's nothing to resume."),
        ("sam", "/pair end", "You're not in a pair right now, so there's nothing to end."),
        ("sam", "/pair not-with @nobody", "I don't know anyone in this space as @nobody."),
        ("sam", "/pair not-with @jo remove", "jo isn't on your not-with list"),
        ("sam", "/pair not-with jo?", 'I couldn\'t tell who "jo?" is.'),
        ("sam", "/pair pause 0", "The days can be from 1 to 365."),
        ("sam", "/pair pause soon", "takes a number"),
        ("sam", "/checkin", "There's no check-in waiting for you right now."),
        ("sam", "/checkin 4", "There's no check-in waiting for you right now."),
    ]
    for who, command, text in expected:
        nth = seen.get((who, command), 0)
        seen[(who, command)] = nth + 1
        out = after(blocks, who, command, nth)
        assert text in out, (command, out)
    # A round of one is refused, saying fewer than two are in, and starts nothing.
    alone = after(blocks, "alex", "/pair now")
    assert "Nobody is in pairing right now" in alone
    for nth in (1, 2):
        one = after(blocks, "alex", "/pair now", nth)
        assert "A round needs at least two people" in one and "fewer than two are" in one
        assert "(private to sam)" not in one
    assert "members in: fewer than 5" in after(blocks, "alex", "/pair stats")
    # Nothing but sam's joining was stored.
    assert rows(db, "SELECT COUNT(*) FROM pair_participants")[0][0] == 1
    assert rows(db, "SELECT COUNT(*) FROM pair_not_with")[0][0] == 0
    assert rows(db, "SELECT COUNT(*) FROM pair_rounds")[0][0] == 0
    assert rows(db, "SELECT COUNT(*) FROM pairs")[0][0] == 0
    assert rows(db, "SELECT recurrence FROM pair_communities") == [(None,)]


def test_changed_consent_text_asks_again_before_the_next_round(tmp_path):
    db = tmp_path / "consent.db"
    first = transcript("pairing_consent_1.txt", db)
    assert "[pair space pair-1-1: sam, jo]" in after(first, "alex", "/clock +1h")
    config = tmp_path / "changed.toml"
    config.write_text(
        '[duty_of_care]\nversion = "2"\ntext = "We changed how this space looks after itself."\n'
    )
    blocks = transcript(
        "pairing_consent_2.txt", db, start="2026-01-11T09:00", extra_args=("--config", str(config))
    )
    heads_up = after(blocks, "alex", "/clock +1h")
    for name in ("sam", "jo"):
        assert (
            f"(private to {name}) The words you agreed to when you joined pairing have changed"
            in heads_up
        )
    assert "duty-of-care statement (version 2)" in heads_up
    assert "We changed how this space looks after itself." in heads_up
    assert "won't be paired until you say yes again" in after(blocks, "sam", "/pair status")
    assert "in under the new words" in after(blocks, "sam", "/yes")
    round2 = after(blocks, "jo", "/clock +1d")
    assert "(private to sam) You're not in a pair this round" in round2
    assert "[pair space pair-2" not in round2  # jo has not agreed yet, so is not paired
    # jo answers while the question is fresh (a bare no a day later would not answer it).
    assert "you won't be paired until you agree to the new words" in after(blocks, "jo", "/no")
    assert "won't be paired until you say yes again" in after(blocks, "jo", "/pair status")
    assert "have changed" in after(blocks, "jo", "/pair join")
    assert "in under the new words" in after(blocks, "jo", "/yes")
    assert "won't be paired" not in after(blocks, "jo", "/pair status", 1)
    versions = rows(db, "SELECT text_version, withdrawn_at IS NULL FROM pair_consents ORDER BY id")
    assert len(versions) == 4 and len({v for v, _ in versions}) == 2
    assert [current for _, current in versions] == [0, 0, 1, 1]
