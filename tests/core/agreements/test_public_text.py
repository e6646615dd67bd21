"""Member-written words in the bot's public posts (issue 11, hole 7, the core's half).

A proposal to the space agreement is posted in the community's channel at once, in the bot's
voice; so is an approved suggested question, and the adopted space agreement is posted and
pinned. Each sets the member's words apart as a quotation with markdown and mention syntax made
inert (the adapters also send no-ping flags), and proposals are limited per member: a few open at
once, and one every few minutes."""

from __future__ import annotations

import re
from datetime import timedelta

from alongside.settings import load_settings
from bot.replies import ChannelPost
from tests.core.agreements.helpers import dump, meet, say
from tests.harness import make_harness

HOSTILE = "**bold** claim @everyone <@123> <@&1> <#1> @here @room\n# A heading\n> not a quote\n[link](https://example.org)"


def posts(h) -> list[ChannelPost]:
    return [i for i in h.sink.take() if isinstance(i, ChannelPost)]


async def drafted(h) -> None:
    await meet(h, "alex", "sam", "jo", "rin", "kit")
    await say(h, "alex", "space-agreement draft", private=False)
    h.sink.take()


def assert_inert(text: str) -> None:
    """No markdown or mention syntax of the member's survives unescaped."""
    assert "**bold**" not in text and "\\*\\*bold\\*\\*" in text
    for mention in ("@everyone", "@here", "@room"):
        assert mention not in text
    assert re.search(r"(?<!\\)<[@#]", text) is None  # Discord's <@id>, <@&id>, <#id> only escaped
    for raw in ("<@123>", "<@&1>"):
        assert raw not in text
    assert "[link](" not in text
    for line in text.splitlines():
        assert not line.startswith(("#", ">>>")), line
        assert not line.lstrip("> ").startswith(("# ", "> ")), line


async def test_fifty_proposals_in_a_second_post_once(harness):
    h = harness
    await drafted(h)
    answers = [await say(h, "sam", f"space-agreement propose talk Take {n}.", private=False) for n in range(50)]
    assert "Your change is #1" in answers[0]
    for refused in answers[1:]:
        assert "one change every 10 minutes" in refused and "from Mon 05 Jan 2026, 09:10" in refused, refused
    assert len(posts(h)) == 1
    assert (await h.db.fetchone("SELECT COUNT(*) FROM space_agreement_changes"))[0] == 1
    # Someone else is not held up by sam's limit.
    assert "Your change is #2" in await say(h, "jo", "space-agreement propose talk Another take.", private=False)
    assert len(posts(h)) == 1


async def test_open_proposals_are_limited_per_member(harness):
    h = harness
    await drafted(h)
    for n in range(3):
        assert "Your change is" in await say(h, "sam", f"space-agreement propose talk Take {n}.", private=False)
        await h.advance(timedelta(minutes=10))
    h.sink.take()
    before = await dump(h)
    out = await say(h, "sam", "space-agreement propose talk Take 4.", private=False)
    assert "3 changes open already" in out and "Mon 12 Jan 2026, 09:00" in out, out
    assert await dump(h) == before and posts(h) == []
    # Once a round is decided there is room again.
    await h.advance(timedelta(days=7))
    h.sink.take()
    assert "Your change is #4" in await say(h, "sam", "space-agreement propose talk Take 4.", private=False)


async def test_the_limits_are_settings(tmp_path, store):
    settings = load_settings(None, agreements={"max_open_proposals": 2, "proposal_interval_minutes": 0})
    h = await make_harness(tmp_path, settings=settings)
    try:
        await drafted(h)
        outs = [await say(h, "sam", f"space-agreement propose talk Take {n}.", private=False) for n in range(50)]
        assert ["Your change is" in out for out in outs[:3]] == [True, True, False]
        assert all("2 changes open already" in out for out in outs[2:])
        assert len(posts(h)) == 2
    finally:
        await h.close()


async def test_a_proposal_is_posted_as_an_inert_quotation(harness):
    h = harness
    await drafted(h)
    assert "Your change is #1" in await say(h, "sam", f"space-agreement propose talk {HOSTILE}", private=False)
    [post] = posts(h)
    assert_inert(post.text)
    lines = post.text.splitlines()
    quoted = [line for line in lines if line.startswith("> ")]
    assert len(quoted) == len(HOSTILE.splitlines())  # the member's words, each line quoted
    assert quoted[0].startswith("> \\*\\*bold\\*\\* claim")
    assert quoted[1] == "> \\# A heading" and quoted[2] == "> \\> not a quote"
    assert not lines[0].startswith(">") and lines[-1].startswith("/space-agreement agree 1")
    # The member's words are still all there to read.
    for word in ("bold", "claim", "everyone", "123", "here", "room", "A heading", "not a quote", "example.org"):
        assert word in post.text


async def test_the_proposers_name_is_inert_too(harness):
    h = harness
    await drafted(h)
    await h.app.context(h.inv("@everyone"))
    await say(h, "@everyone", "space-agreement propose talk Kind words.", private=False)
    [post] = posts(h)
    assert "@everyone" not in post.text


async def test_the_adopted_agreement_is_posted_with_its_words_quoted(harness):
    h = harness
    await drafted(h)
    await say(h, "sam", f"space-agreement propose talk {HOSTILE}", private=False)
    h.sink.take()
    await say(h, "alex", "space-agreement adopt 1")
    pinned = [p for p in posts(h) if p.pin]
    assert len(pinned) == 1
    assert_inert(pinned[0].text)
    assert "> We speak from our own experience" not in pinned[0].text  # the old wording is replaced
    assert "> Anyone can propose a change to one section." in pinned[0].text  # sections are quoted


async def test_an_approved_suggestion_is_posted_as_an_inert_quotation(harness):
    h = harness
    await meet(h, "alex", "sam")
    await say(h, "sam", "questions suggest What does **care** look like @everyone <@123>?")
    await say(h, "alex", "questions approve 1 worldview")
    await say(h, "alex", "questions focus worldview")
    h.sink.take()
    for _ in range(200):
        await say(h, "alex", "questions now", private=False)
        found = [p for p in posts(h) if "look like" in p.text]
        if found:
            break
    [post] = found
    assert "suggested by one of its members" in post.text
    assert "> What does \\*\\*care\\*\\* look like" in post.text
    assert "@everyone" not in post.text and "<@123>" not in post.text


async def test_a_shared_check_in_answer_is_posted_to_the_pair_as_an_inert_quotation(harness):
    """Not public, but a pair's space is shared (on Discord a private thread, where a mention of
    someone outside the pair could even add them to it): the member's words are made inert."""
    from bot.replies import PairSpacePost
    from tests.core.pairing.helpers import join

    h = harness
    await join(h, "sam", "jo")
    await h.say("alex", "pair schedule weekly mon 10:00")
    await h.advance(timedelta(days=3, hours=13))
    h.sink.take()
    await h.say("sam", "checkin 4", channel=None)
    out = await h.say("sam", "checkin share **walks** helped <@123> @everyone", channel=None)
    assert "shared in your pair's space" in out
    [post] = [i for i in h.sink.take() if isinstance(i, PairSpacePost)]
    assert "> \\*\\*walks\\*\\* helped" in post.text
    assert "<@123>" not in post.text and "@everyone" not in post.text
