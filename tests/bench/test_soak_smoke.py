"""The soak benchmark at a tiny size: its invariants hold (timings are figures, never asserted)."""

from __future__ import annotations

from bench.soak import SoakConfig, run_soak


async def test_a_small_soak_ends_with_no_invariant_violations(tmp_path):
    config = SoakConfig(
        communities=3,
        members=40,
        weeks=4,
        fuzz_weeks=2,
        fuzz_share=0.2,
        sessions_per_member_week=4.0,
        raw_write_seconds=0.2,
        folder=tmp_path,
    )
    report = await run_soak(config)
    assert report.violations == []
    # The run did exercise what the invariants are about.
    assert report.activity["pairing rounds started"] > 0
    assert report.activity["agreements started"] > 0
    assert report.activity["private texts written"] > 0
    assert sum(p.fuzzed_commands for p in report.phases) > 0
    assert "\n".join(report.lines())
