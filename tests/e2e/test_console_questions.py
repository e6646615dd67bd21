"""End to end: the real `alongside run` console, scripted on stdin."""

import re
import sqlite3

from tests.e2e.console import ROOT, run_console

FULL_SCRIPT = """\
/help
/questions status
/questions now
/questions schedule weekly mon,thu 19:30 Europe/London
/questions focus connection
/questions status
/clock +4d
/questions pause
/clock +7d
/questions resume
/as sam
/questions now
/questions schedule daily 10:00
/questions suggest What did a stranger once show you about kindness?
/questions suggest not a question
/questions review
/as alex
/questions review
/questions approve 1 connection
/questions suggest What are you curious about lately?
/questions decline 2 thank you, we have a close one
/questions approve 2
/questions schedule fortnightly
/questions focus feelings
/questions approve abc
/setup
/setup timezone Nowhere/Land
/setup question-channel #reflections
/in private
/questions now
/frobnicate
/quit
/help
"""


def test_full_questions_walkthrough(tmp_path):
    result = run_console(FULL_SCRIPT, tmp_path / "a.db")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Every line is echoed with who typed it where, so a transcript reads like a conversation.
    assert "[#circle] alex> /questions now" in out
    # questions now, Mon 19:30 and Thu 19:30 on the schedule, nothing while paused, one more now.
    # (A question with a content note shows the note first, then the question on the next line.)
    assert out.count("A question for the space:") == 4
    assert "Questions will be posted every Monday and Thursday at 19:30 (Europe/London) in #circle." in out
    assert "Questions will now lean towards connection." in out
    assert "The question schedule is paused." in out
    assert "running again" in out
    # Members are refused facilitator commands with a kind pointer to what they can use.
    assert "(private to sam) /questions now is for the space's facilitators." in out
    assert "(private to sam) /questions schedule <recurrence> [timezone] is for the space's facilitators." in out
    assert "(private to sam) Thank you. A facilitator will read your suggestion" in out
    assert "Suggested questions end with a question mark" in out
    assert "(private to sam) /questions review is for the space's facilitators." in out
    assert "#1: What did a stranger once show you about kindness?" in out
    assert "(private to sam) The question you suggested is now part of this space's questions" in out
    assert "Their note: thank you, we have a close one" in out
    assert "There's no suggestion #2 waiting here." in out
    assert "I couldn't read \"fortnightly\" as a schedule." in out
    assert "\"feelings\" isn't one of the options for task" in out
    assert "The id takes a number" in out
    assert "\"Nowhere/Land\" isn't a timezone I know." in out
    assert "(private to alex) I've posted a question in #reflections." in out
    assert re.search(r"\[#reflections\] Alongside: (\(Content note: .*\)\n    )?A question for the space:", out)
    assert "I don't know a command called \"frobnicate\"." in out
    # /quit stops reading: the /help after it never ran.
    assert out.count("[private] alex> /help") == 0
    assert "Traceback" not in result.stderr


def test_scheduled_posts_follow_the_clock(tmp_path):
    script = "/questions schedule weekly mon,thu 19:30 Europe/London\n/clock +4d\n"
    out = run_console(script, tmp_path / "a.db").stdout
    # Mon 5 Jan 19:30 and Thu 8 Jan 19:30 London (UTC in winter) both fall inside four days.
    assert out.count("A question for the space:") == 2
    assert "The clock is now Fri, 9 Jan 2026, 09:00 UTC." in out


def test_output_is_deterministic_for_seed_and_start(tmp_path):
    script = "/questions now\n/questions now\n/questions schedule daily 18:00\n/clock +3d\n"
    first = run_console(script, tmp_path / "a.db").stdout
    second = run_console(script, tmp_path / "b.db").stdout
    assert first == second
    other_seed = run_console(script, tmp_path / "c.db", seed=2).stdout
    assert other_seed != first


def test_restart_mid_schedule_neither_duplicates_nor_misses(tmp_path):
    db = tmp_path / "a.db"
    first = run_console("/questions schedule daily 18:00\n/clock +8h\n", db)  # stops at 17:00
    assert "A question for the space" not in first.stdout
    # Back at 18:20: the 18:00 slot is inside the grace window, so it is posted once at start.
    second = run_console("/questions status\n", db, start="2026-01-05T18:20")
    assert second.stdout.count("A question for the space") == 1
    again = run_console("/questions status\n", db, start="2026-01-05T18:30")
    assert again.stdout.count("A question for the space") == 0
    # Back two hours after the next slot: skipped (and logged), the following one comes on time.
    late = run_console("/clock +1d\n", db, start="2026-01-06T20:00")
    assert late.stdout.count("A question for the space") == 1
    assert "skipped 1 question slot for community 1 (2026-01-06T18:00:00+00:00" in late.stderr
    conn = sqlite3.connect(db)
    keys = [r[0] for r in conn.execute("SELECT slot_key FROM question_postings ORDER BY id")]
    conn.close()
    assert len(keys) == len(set(keys)) == 2


def test_unknown_member_joins_with_as(tmp_path):
    out = run_console("/as kim\n/questions status\n/as Not A Name\n", tmp_path / "a.db").stdout
    assert "Now typing as kim." in out
    assert "(private to kim) There's no question schedule yet." in out
    assert "Names are lowercase letters" in out


def test_console_controls_refuse_bad_input(tmp_path):
    out = run_console("/clock tomorrow\n/in ???\nhello everyone, just chatting\n", tmp_path / "a.db").stdout
    assert "Move the clock with +30m" in out
    assert "This space has no channel \"???\". Its channels are #circle, #reflections, #pairs" in out
    assert not re.search(r"Alongside:.*chatting", out)


def test_python_dash_m_bot_works_too(tmp_path):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--db", str(tmp_path / "a.db"), "--start", "2026-01-05T09:00"],
        input="/questions status\n",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 0 and "no question schedule yet" in result.stdout


def test_console_shows_a_content_note_first_and_a_private_reflect(tmp_path):
    script = "/questions depth deep\n" + "/questions now\n" * 10 + "/as sam\n" + "/questions reflect\n/clock +1h\n" * 6 + "/quit\n"
    result = run_console(script, tmp_path / "a.db")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    noted = [n for n, line in enumerate(lines) if line.startswith("[#circle] Alongside: (Content note: ")]
    assert noted, result.stdout
    for n in noted:  # the note is the post's first line; the question follows it
        assert lines[n + 1].strip().startswith("A question for the space: ")
        assert "thread \"Question (content note: " in "\n".join(lines[n + 2 : n + 5])
    reflected = [line for line in lines if "A question just for you" in line]
    assert len(reflected) == 6 and all("(private to sam)" in line for line in reflected)
