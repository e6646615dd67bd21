"""Defects the lived-in fuzz (tests/trust/test_fuzz_lived.py) found, each as the smallest case
that shows it. Every one must be answered kindly and change nothing; none may raise."""

from __future__ import annotations

from bot.replies import Answer
from tests.harness import make_harness


async def outcome_of(harness, user: str, line: str, channel: str | None = "circle") -> tuple[str, str]:
    outcomes: list[str] = []
    harness.app._observers[:] = [lambda outcome, name: outcomes.append(outcome)]
    intents = await harness.run(user, line, channel)
    return outcomes[-1], "\n".join(i.text for i in intents if isinstance(i, Answer))


async def test_a_pairing_schedule_from_the_last_representable_day_is_refused_kindly(tmp_path):
    # Found as: fay0 `pair schedule weekly mon 10:00 from 9999-12-31` -> OverflowError in
    # Recurrence.next_after, answered with the internal-error text (hole 9 of issue 11).
    harness = await make_harness(tmp_path)
    try:
        internal = harness.app.catalog.text("en", "error.internal", prefix="/")
        for line in ("pair schedule weekly mon 10:00 from 9999-12-31", "pair schedule every 2 weeks wed 12:00 from 9999-12-25"):
            outcome, text = await outcome_of(harness, "alex", line)
            assert outcome == "refused", (line, outcome, text)
            assert text.strip() and internal not in text
            status = await harness.say("alex", "pair status")
            assert internal not in status
    finally:
        await harness.close()
