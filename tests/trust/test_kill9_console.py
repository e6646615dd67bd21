"""Nothing is lost under crashes: kill -9 the real console process at random points during a
question fan-out, restart it, and check that every slot was posted exactly once."""

import random
import re
import sqlite3
from collections import Counter

from tests.e2e.console import run_console
from tests.trust.killing import run_and_kill

SCRIPT = "/questions schedule daily 10:00\n/clock +40d\n"
START = "2026-01-05T09:00"
SLOTS = 40
# The question's line: the post's first, or its second after a content note.
POST = re.compile(r"(?:Alongside: |^    )A question for the space: (.*)$", re.M)


def test_question_fan_out_survives_kill_9_at_twenty_points(tmp_path):
    rng = random.Random(20260105)
    points = sorted(rng.sample(range(1, SLOTS * 4), 20))
    for run, point in enumerate(points):
        db = tmp_path / f"run{run}.db"
        first = run_and_kill(SCRIPT, db, start=START, kill_after_lines=point)
        second = run_console(SCRIPT, db, start=START).stdout
        conn = sqlite3.connect(db)
        slots = [row[0] for row in conn.execute("SELECT slot_key FROM question_postings ORDER BY id")]
        prompts = [row[0] for row in conn.execute("SELECT prompt_id FROM question_postings")]
        unsent = conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        conn.close()
        assert len(slots) == len(set(slots)) == SLOTS, (point, len(slots))
        assert len(set(prompts)) == SLOTS, point  # the rotation never repeated a question
        assert unsent == 0, point
        shown = Counter(POST.findall(first + second))
        assert len(shown) == SLOTS, (point, len(shown))  # nothing missing
        # stdout is not transactional: at most the one message in flight at the kill is shown twice.
        assert sum(count - 1 for count in shown.values()) <= 1, (point, shown.most_common(2))
