"""Defects the lived-in fuzz (tests/trust/test_fuzz_lived.py) found, each as the smallest case
that shows it. Every one must be answered kindly and change nothing; none may raise."""

from __future__ import annotations

import re

from bot.replies import Answer
from tests.harness import make_harness


async def outcome_of(harness, user: str, line: str, channel: str | None = "circle") -> tuple[str, str]:
    outcomes: list[str] = []
    harness.app._observers[:] = [lambda outcome, name: outcomes.append(outcome)]
    intents = await harness.run(user, line, channel)
    return outcomes[-1], "\n".join(i.text for i in intents if isinstance(i, Answer))


async def test_a_pairing_schedule_from_the_last_representable_day_is_refused_kindly(tmp_path, store):
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


async def _agreement_in_kiritimati(harness) -> str:
    await harness.say("alex", "setup timezone Pacific/Kiritimati")  # UTC+14
    await harness.app.context(harness.inv("sam"))
    short_id = re.search(r"#([0-9A-Z]{5})", await harness.say("alex", "agreement start @sam", None)).group(1)
    await harness.say("sam", "yes", None)
    return short_id


async def test_a_revisit_date_at_the_end_of_the_calendar_never_breaks_the_agreement(tmp_path, store):
    # Found as: cal3 submits the agreement form `agreement:edit:<id>:11.date` with
    # date=9999-12-31 in a UTC+14 community -> OverflowError rendering the date, answered with the
    # internal-error text; the typed `agreement edit #<id> revisit-date 9999-12-31` is stored and
    # every later view fails the same way (hole 9 of issue 11).
    harness = await make_harness(tmp_path)
    try:
        internal = harness.app.catalog.text("en", "error.internal", prefix="/")
        short_id = await _agreement_in_kiritimati(harness)
        await harness.say("alex", f"agreement edit #{short_id} 1 Ask me first.", None)
        await harness.say("alex", f"agreement propose #{short_id}", None)  # the form then amends it
        outcomes: list[str] = []
        harness.app._observers[:] = [lambda outcome, name: outcomes.append(outcome)]
        intents = await harness.app.submit_form(
            harness.inv("alex", None), f"agreement:edit:{short_id}:11.date", {"date": "9999-12-31"}
        )
        assert outcomes[-1] != "error" and all(internal not in getattr(i, "text", "") for i in intents), intents
        outcome, text = await outcome_of(harness, "alex", f"agreement edit #{short_id} revisit-date 9999-12-31", None)
        assert outcome != "error" and internal not in text, text
        outcome, text = await outcome_of(harness, "alex", f"agreement view #{short_id}", None)
        assert outcome == "done" and internal not in text, text
    finally:
        await harness.close()
