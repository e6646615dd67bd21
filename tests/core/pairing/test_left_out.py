"""Nobody can infer a block from being left out, and the consent text says who else can read a
private pair thread (issue 11, hole 14)."""

from __future__ import annotations

from datetime import timedelta

from tests.core.pairing.helpers import groups, join, private
from tests.harness import make_harness

# The consent version (a hash of the text) under the default settings before the consent text
# said that Discord moderators with Manage Threads can read private threads.
OLD_CONSENT_VERSION = "dae55446d453852a"


async def left_out_texts(tmp_path, name: str, setup) -> tuple[list[str], list[frozenset[str]], str]:
    """Run `setup`, start a round by hand, and return what `name` was told privately at its start."""
    h = await make_harness(tmp_path / name)
    try:
        await setup(h)
        h.sink.take()
        if setup.__name__ == "alone":
            # One person free: `pair now` is refused, and the scheduled round is skipped, telling
            # the one who is in the same words as everyone left out.
            await h.say("alex", "pair schedule weekly mon 10:00")
            await h.advance(timedelta(hours=1))
        else:
            await h.say("alex", "pair now")
        out = h.sink.take()
        expected = h.app.catalog.text("en", "pairing.not_placed", prefix="/")
        return private(out, name), groups(out), expected
    finally:
        await h.close()


async def test_every_left_out_message_is_identical_whatever_the_reason(tmp_path, store):
    async def blocked(h):  # three in, one block: the blocked one is the one left out
        await join(h, "sam", "jo", "rin")
        await h.say("sam", "pair not-with @jo", channel=None)
        await h.say("rin", "pair not-with @jo", channel=None)

    async def blocker(h):  # three in, one member has everyone else on their list
        await join(h, "sam", "jo", "rin")
        await h.say("sam", "pair not-with @jo", channel=None)
        await h.say("sam", "pair not-with @rin", channel=None)

    async def alone(h):  # two in, the other paused: nobody blocked anyone
        await join(h, "sam", "jo")
        await h.say("jo", "pair pause", channel=None)

    told = {}
    for name, setup in (("jo", blocked), ("sam", blocker), ("sam", alone)):
        texts, made, expected = await left_out_texts(tmp_path / setup.__name__, name, setup)
        assert all(name not in group for group in made), (setup.__name__, made)
        assert texts == [expected], (setup.__name__, texts)
        told[setup.__name__] = texts[0].encode()
    assert len(set(told.values())) == 1, told
    text = next(iter(told.values())).decode()
    # It claims no reason: not "nobody", not a list, not a person.
    assert "nobody" not in text.lower() and "not-with" not in text


async def test_consent_says_moderators_can_read_private_threads_and_asks_again(harness):
    h = harness
    await h.app.context(h.inv("sam"))
    community = await h.app.communities.get(h.db, 1)
    rounds = h.app.pairing.rounds
    text = rounds.consent_text(community, "/")
    assert "Manage Threads permission can read private threads" in text
    assert rounds.consent_version(community) != OLD_CONSENT_VERSION
    # Someone who agreed to the old words is asked again and not paired until they say yes.
    await join(h, "sam", "jo")
    await h.db.execute("UPDATE pair_participants SET consent_version = ?", (OLD_CONSENT_VERSION,))
    assert "won't be paired until you say yes again" in await h.say("jo", "pair status", channel=None)
