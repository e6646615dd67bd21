"""The big-message benchmark runs, and its messages take the path it claims to measure
(timings are figures, never asserted)."""

from __future__ import annotations

from bench.matrix_big_message import run, shapes


async def test_the_big_message_benchmark_runs():
    rows, answered, sent = await run(2)
    assert len(rows) == 2 * len(shapes())
    assert all(median >= 0 and worst >= median for _, _, median, worst in rows)
    # Ignored in the community room; each answered once (too long) in the private room.
    assert answered == sent == 2 * len(shapes())
