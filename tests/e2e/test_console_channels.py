"""The console's `/in #name` moves only into the simulated space's channels (`[console] channels`
and the one it starts in) or the private space; any other name gets a kind answer that lists them,
and the member stays where they were (issue 12, noticed d)."""

from __future__ import annotations

import pytest

from adapters.console.adapter import ConsoleAdapter
from adapters.console.settings import ConsoleSettings


@pytest.fixture
def console(harness):
    lines: list[str] = []
    adapter = ConsoleAdapter(harness.app, harness.clock, harness.driver, ConsoleSettings(), lines.append)
    return adapter, lines


@pytest.mark.parametrize("where", ["#anything", "#general", "nowhere", "#!!bad", "#"])
async def test_an_unknown_channel_is_refused_with_the_choices(console, where):
    adapter, lines = console
    await adapter.handle_line(f"/in {where}")
    assert adapter.channel == "circle"
    assert len(lines) == 1, lines
    answer = lines[0]
    assert "#circle" in answer and "#reflections" in answer and "#pairs" in answer, answer
    assert "/in private" in answer, answer
    assert "Now in" not in answer


@pytest.mark.parametrize(("where", "channel"), [("#reflections", "reflections"), ("pairs", "pairs"), ("#Circle", "circle"), ("private", None)])
async def test_the_space_s_channels_and_private_are_accepted(console, where, channel):
    adapter, lines = console
    await adapter.handle_line(f"/in {where}")
    assert adapter.channel == channel
    assert lines and lines[-1].startswith("Now in"), lines
