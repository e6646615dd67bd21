"""Private words typed in a shared channel where the adapter can take the line down: the gentle
note offers to remove it, and only its author's yes does (issue 12, defect 8). The core names no
platform: the adapter says per invocation whether the line is removable and what it is called."""

from __future__ import annotations

from dataclasses import replace

from bot.replies import Answer, ConfirmPrompt, RemoveMessage
from tests.core.agreements.helpers import say, start_pair
from tests.core.test_flows_fit import paired_round
from tests.harness import Harness, mention

OFFER = "I can remove the line you typed from the channel"


async def typed(h: Harness, user: str, line: str, ref: str, removable: bool = True) -> list:
    inv = replace(h.inv(user, "circle"), message_ref=ref, removable=removable)
    intents = await h.app.handle_text(inv, line, mention)
    await h.app.deliver_pending()
    return intents


def removals(intents: list) -> list[RemoveMessage]:
    return [i for i in intents if isinstance(i, RemoveMessage)]


async def test_a_checkin_answer_in_a_channel_is_removed_only_on_its_authors_yes(harness):
    h = harness
    await paired_round(h)
    out = await typed(h, "sam", "checkin 4", "$sam-line")
    prompts = [i for i in out if isinstance(i, ConfirmPrompt)]
    assert len(prompts) == 1 and "can be read there" in prompts[0].text and OFFER in prompts[0].text
    assert prompts[0].user_id == "sam" and not removals(out)
    # jo's yes (bare, or with the number of sam's question) answers nothing of sam's.
    assert "nothing waiting" in await h.say("jo", "yes", channel=None)
    assert "nothing waiting" in await h.say("jo", f"yes {prompts[0].confirmation_id}", channel=None)
    assert not removals(h.sink.take())
    out = await h.run("sam", "yes", channel=None)
    assert removals(out) == [RemoveMessage("sam", "circle", "$sam-line")]
    assert any(isinstance(i, Answer) and "Removing your line" in i.text for i in out)
    # Answered once: a second yes removes nothing more.
    assert not removals(await h.run("sam", "yes", channel=None))


async def test_no_leaves_the_line_and_an_unremovable_line_gets_the_plain_note(harness):
    h = harness
    short_id = await start_pair(h, "alex", "sam")
    out = await typed(h, "alex", f"agreement edit #{short_id} 1 We meet on Sundays.", "$alex-line")
    assert any(isinstance(i, ConfirmPrompt) and OFFER in i.text for i in out), out
    out = await h.run("alex", "no", channel=None)
    assert not removals(out) and any("Nothing was removed" in i.text for i in out if isinstance(i, Answer))
    # Where the adapter cannot remove it (console, or no power), the note alone, no question.
    out = await typed(h, "alex", f"agreement edit #{short_id} 1 We meet on Mondays.", "$x", removable=False)
    assert not [i for i in out if isinstance(i, ConfirmPrompt)]
    assert any("can be read there" in i.text and OFFER not in i.text for i in out if isinstance(i, Answer))
    # Typed in private, nothing to note or remove.
    assert "can be read there" not in await say(h, "alex", f"agreement edit #{short_id} 1 Sundays again.")


async def test_a_yes_removes_every_line_typed_since_the_offer_opened(harness):
    h = harness
    short_id = await start_pair(h, "alex", "sam")
    await typed(h, "alex", f"agreement edit #{short_id} 1 We meet on Sundays.", "$one")
    await typed(h, "alex", f"agreement edit #{short_id} 2 We listen first.", "$two")
    out = await h.run("alex", "yes", channel=None)
    assert removals(out) == [RemoveMessage("alex", "circle", "$one"), RemoveMessage("alex", "circle", "$two")]
