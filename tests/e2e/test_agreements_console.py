"""End to end: agreements, the space agreement and resources through the real `alongside run`
console, scripted on stdin. Scripts live in tests/e2e/scripts/agreements_*.txt."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.e2e.console import run_console

SCRIPTS = Path(__file__).resolve().parent / "scripts"
_PROMPT = re.compile(r"^\[(?:#[\w-]+|private)\] ([\w.-]+)> (.*)$")
LONG = "x" * 1001

RESOURCES_CONFIG = """\
[duty_of_care]
version = "2"
text = "This is a peer space, not a crisis service."

[[resources]]
name = "Peer Warmline"
contact = "call 0100 000"
hours = "every evening, 18:00-23:00"
region = "North"
peer_run = true
intervention_policy = "never-without-consent"

[[resources]]
name = "Night Text Line"
contact = "text 0200"
hours = "24/7"
region = "South"
intervention_policy = "may-contact-emergency-services"

[[resources]]
name = "Open Door Collective"
contact = "opendoor.example"
region = "North"
"""


def transcript(name: str, db: Path, **kwargs) -> list[tuple[str, str, str]]:
    """Run a script; return (who, typed line, everything printed after it) per typed line."""
    script = (SCRIPTS / name).read_text().replace("WORDS_OVER_THE_LIMIT", LONG)
    result = run_console(script, db, **kwargs)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    blocks: list[tuple[str, str, str]] = []
    for line in result.stdout.splitlines():
        match = _PROMPT.match(line)
        if match:
            blocks.append((match.group(1), match.group(2), ""))
        elif blocks:
            who, typed, out = blocks[-1]
            blocks[-1] = (who, typed, out + line + "\n")
    return blocks


def after(blocks, who: str, typed: str, nth: int = 0) -> str:
    found = [out for w, t, out in blocks if w == who and t == typed]
    assert len(found) > nth, (who, typed)
    return found[nth]


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_a_full_negotiation(tmp_path):
    db = tmp_path / "a.db"
    t = transcript("agreements_negotiation.txt", db)
    out = after(t, "alex", "/agreement start @sam")
    short_id = re.search(r"Agreement #([0-9A-Z]{5}) is started", out).group(1)
    assert "(private to sam) alex would like to negotiate an agreement with you" in out
    assert "Answer /yes or /no." in out
    assert "(private to alex) sam has joined" in after(t, "sam", "/yes")

    # Step by step: the member's next lines in private are the answers.
    assert "(1 of 15) section 1, What matters to me" in after(t, "sam", "/agreement edit")
    assert "(4 of 15) section 4, What has helped" in after(t, "sam", "I go quiet, and my messages get shorter.")
    back = after(t, "sam", "/back")
    assert "(4 of 15)" in back and "Your answer now: A walk, or just sitting with someone on a call." in back
    assert "Your answers in agreement" in after(t, "sam", "/done")

    view = after(t, "alex", "/agreement view")
    for expected in (
        f"Agreement #{short_id} between alex and sam: a draft.",
        "alex: Being heard without being fixed.",
        'sam: I feel safe when either of us can say "not today" without explaining.',
        "sam: I go quiet, and my messages get shorter.",
        "sam: A walk, or just sitting with someone on a call.",
        "Review date: Mon, 2 Feb 2026.",
    ):
        assert expected in view

    proposed = after(t, "alex", "/agreement propose")
    assert "Version 1" in proposed and "(private to sam) alex has proposed version 1" in proposed
    assert f"/agreement accept #{short_id} v1 accepts this version" in proposed
    amended = after(t, "sam", "/agreement amend offer Evenings are best; mornings are hard for me.")
    assert "Version 2" in amended and "(private to alex) sam has amended" in amended
    noted = after(t, "sam", "/agreement amend safe @alex That matters to me too.")
    assert "your note on alex's answer to section 2" in noted
    assert "you've accepted it already" in after(t, "sam", "/agreement accept v3")
    agreed = after(t, "alex", "/agreement accept v3")
    assert f"agreement #{short_id} is agreed" in agreed and "(private to sam) alex has accepted version 3" in agreed
    assert "sam's note on alex's answer: That matters to me too." in after(t, "alex", "/agreement view", nth=1)

    assert "(private to alex) sam would like to revisit" in after(t, "sam", "/agreement revisit")
    revisiting = after(t, "sam", "/agreement view")
    in_force, negotiating = revisiting.split("Being negotiated:")
    assert "What you agreed, which stays until you agree a new version: version 3" in in_force and "pause" not in in_force
    assert 'A message with "pause" means we stop for now' in negotiating
    assert "Version 4" in after(t, "sam", "/agreement propose")
    assert "is agreed" in after(t, "alex", "/agreement accept v4")
    history = after(t, "alex", "/agreement history")
    assert "sam opened it for revisiting (version 3 stayed as agreed)" in history
    assert "everyone had accepted version 4: agreed" in history
    assert "Evenings are best" not in history

    # The review date: a private reminder to both that day, and the check-in.
    clock = after(t, "alex", "/clock +4w")
    assert "(private to alex) Today is the review date" in clock and "(private to sam) Today is the review date" in clock
    assert "How is our agreement working for you now?" in after(t, "alex", "/checkin")
    thanks = after(t, "alex", "/checkin It helps us both.")
    assert "Thank you for checking in" in thanks and "(private to sam)" not in thanks

    withdrawn = after(t, "sam", "/agreement withdraw")
    assert "(private to alex) sam has withdrawn from agreement" in withdrawn and "No reason is asked for" in withdrawn
    assert "It was withdrawn on" in after(t, "sam", "/agreement view", nth=1)
    assert "not part of an agreement" in after(t, "jo", "/agreement view")
    assert "can't find that agreement" in after(t, "jo", "/agreement view #ZZZZZ")

    # Nothing anyone wrote is in the database file in plain form.
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("a.db"))
    for words in (b"Being heard without being fixed", b"Evenings are best", b"That matters to me too"):
        assert words not in data
    assert rows(db, "SELECT status FROM agreements") == [("withdrawn",)]


def test_a_three_person_agreement(tmp_path):
    t = transcript("agreements_three_people.txt", tmp_path / "a.db")
    started = after(t, "alex", "/agreement start @sam @rin")
    assert "asked sam and rin privately" in started
    assert "(private to sam) alex would like to negotiate an agreement with you and rin" in started
    assert "(private to rin) alex would like to negotiate an agreement with you and sam" in started
    assert "still waiting for sam and rin" in after(t, "alex", "/agreement propose")
    proposed = after(t, "rin", "/agreement propose")
    assert "on its way to alex and sam" in proposed
    assert "Still to accept it: alex" in after(t, "sam", "/agreement accept v1")
    assert "on its way to sam and rin" in after(t, "alex", "/agreement amend 6 @rin Could a heart mean the same?")
    assert "Still to accept it: sam" in after(t, "rin", "/agreement accept v2")
    agreed = after(t, "sam", "/agreement accept v2")
    assert "is agreed" in agreed
    assert "(private to alex)" in agreed and "(private to rin)" in agreed
    view = after(t, "sam", "/agreement view")
    assert "between alex, sam and rin: agreed" in view
    assert "alex's note on rin's answer: Could a heart mean the same?" in view
    # Two of three declining: the first leaves it going, the second closes it.
    assert "carries on between the rest of you" in after(t, "alex", "/no")
    assert "so it has closed" in after(t, "sam", "/no")


def test_a_space_agreement_consent_round_with_an_objection(tmp_path):
    db = tmp_path / "a.db"
    t = transcript("agreements_space.txt", db)
    assert "doesn't have an agreement yet" in after(t, "alex", "/space-agreement show")
    drafted = after(t, "alex", "/space-agreement draft")
    assert "[#circle] Alongside: This space's agreement, version 1 (the first draft" in drafted
    assert "└ pinned" in drafted and "Duty of care" in drafted
    proposed = after(t, "sam", "/space-agreement propose talk We ask before offering a suggestion, and anyone can pass.")
    assert "Your change is #1" in proposed and "[#circle] Alongside: sam proposes a change" in proposed
    objected = after(t, "jo", "/space-agreement object 1 I'd like the words about unasked-for advice kept as they are.")
    assert "sam has your note" in objected and "(private to sam) jo has an objection" in objected
    assert "3 agreed so far" in after(t, "kit", "/space-agreement agree 1")
    assert "has an objection open" in after(t, "alex", "/space-agreement adopt 1")
    # Past its seven days, the objection keeps it open.
    assert "pinned" not in after(t, "alex", "/clock +8d")
    assert "1 objection open" in after(t, "alex", "/space-agreement changes", nth=1)
    lifted = after(t, "jo", "/space-agreement agree 1")
    assert "lifted your objection" in lifted and "(private to sam) jo has lifted" in lifted
    assert "version 2 (adopted by consent" in lifted and "└ pinned" in lifted
    assert "We ask before offering a suggestion, and anyone can pass." in after(t, "jo", "/space-agreement show")
    adopted = after(t, "alex", "/space-agreement adopt 2")
    assert "version 3 (adopted by a facilitator" in adopted and "└ pinned" in adopted
    assert "(private to sam) Your change #3 to the space agreement wasn't adopted" in after(t, "sam", "/clock +8d")
    changes = after(t, "sam", "/space-agreement changes")
    assert "#1 2. How we talk with each other: adopted" in changes
    assert "#3 1. Why we're here: not adopted" in changes
    assert rows(db, "SELECT number, adopted_how FROM space_agreement_versions ORDER BY number") == [
        (1, "draft"),
        (2, "consent"),
        (3, "facilitator"),
    ]


def test_resources(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(RESOURCES_CONFIG)
    t = transcript("agreements_resources.txt", tmp_path / "a.db", extra_args=("--config", str(config)))
    for who in ("alex", "sam"):
        out = after(t, who, "/resources")
        assert out.startswith(f"  (private to {who}) Resources this space lists")
        assert out.index("North") < out.index("Peer Warmline") < out.index("Open Door") < out.index("South")
        assert "Peer Warmline: call 0100 000; every evening, 18:00-23:00; peer-run; never contacts emergency services without your consent." in out
        assert "Night Text Line: text 0200; 24/7; may contact emergency services." in out
        assert "Open Door Collective: opendoor.example; hasn't said whether it contacts emergency services." in out
        assert "Duty of care (statement version 2): This is a peer space, not a crisis service." in out
        assert "never contact anyone on your behalf" in out
        assert "Alongside:" not in out  # nothing in the channel


BAD_INPUT = [
    ("alex", "/agreement start @alex", "needs someone besides you"),
    ("alex", "/agreement start @nobody", 'I don\'t know "nobody" in this space'),
    ("alex", "/agreement start @sam @jo @rin", "at most two others"),
    ("alex", "/agreement view", "not part of an agreement"),
    ("alex", "/agreement propose", "still waiting for jo"),
    ("alex", "/agreement accept", "nothing to accept"),
    ("alex", "/agreement edit 15 words", 'I don\'t know a section called "15"'),
    ("alex", "/agreement edit feelings words", 'I don\'t know a section called "feelings"'),
    ("alex", f"/agreement edit 3 {LONG}", "up to 1000 characters, and this one has 1001"),
    ("alex", "/agreement edit revisit-date someday", "isn't a date I can read"),
    ("alex", "/agreement edit revisit-date 2025-06-01", "has already come"),
    ("jo", "/agreement propose", "not part of an agreement"),
    ("jo", "/agreement propose", "nothing to propose"),
    ("jo", "/agreement propose", "Version 1 of agreement"),  # (not bad input: the step between)
    ("jo", "/agreement accept", "so you've accepted it already"),
    ("jo", "/agreement propose", "is already waiting to be accepted"),
    ("jo", "/agreement amend 1 @rin a note", "A note goes on the answer of someone else"),
    ("alex", "/agreement revisit", "isn't agreed yet"),
    ("alex", "/agreement amend 1 more words", "was withdrawn, so it can't change any more"),
    ("alex", "/agreement view #ZZZZZ", "can't find that agreement"),
    ("alex", "/space-agreement adopt 1", "There's no change #1"),
    ("alex", "/space-agreement draft", "not sure which channel"),
    ("alex", "/space-agreement draft", "posted (and pinned) in #circle"),  # (after /in #circle)
    ("alex", "/space-agreement draft", "already has an agreement"),
    ("alex", "/space-agreement propose nowhere words", 'I don\'t know a section called "nowhere"'),
    ("alex", "/space-agreement propose duty-of-care words", "organisation settings"),
    ("alex", f"/space-agreement propose talk {LONG}", "up to 1000 characters, and this one has 1001"),
    ("sam", "/space-agreement agree 1", "so you've agreed to it already"),
    ("jo", "/space-agreement object 1 Again.", "already objected"),
    ("alex", "/space-agreement adopt 1", "has an objection open"),
    ("alex", "/space-agreement agree 9", "There's no change #9"),
    ("alex", "/done", "nothing you're answering step by step"),
]


def test_every_bad_input_gets_a_specific_kind_answer(tmp_path):
    db = tmp_path / "a.db"
    t = transcript("agreements_bad_input.txt", db)
    seen: dict[tuple[str, str], int] = {}
    for who, typed, expected in BAD_INPUT:
        nth = seen.get((who, typed), 0)
        seen[(who, typed)] = nth + 1
        out = after(t, who, typed, nth)
        assert expected in out, (typed, out)
        assert "Something went wrong" not in out
    # The refused space-agreement proposals left only sam's one change; nothing was adopted.
    assert rows(db, "SELECT number, status FROM space_agreement_changes") == [(1, "open")]
    assert rows(db, "SELECT COUNT(*) FROM space_agreement_versions") == [(1,)]
    # The refused agreement steps: one agreement (alex and jo), withdrawn, with jo's one version.
    assert rows(db, "SELECT status, proposal_version FROM agreements") == [("withdrawn", None)]
    assert rows(db, "SELECT number FROM agreement_versions") == [(1,)]
