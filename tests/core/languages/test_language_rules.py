"""Which language each text takes (issue 18), with a throwaway second locale ("xx", every
sentence marked): consent and check-ins in the member's own; a pair's shared space in its
members' language when they share one, else the community's; channel posts in the community's;
each party to an agreement reads its prompts in their own; notices to one member in theirs."""

from __future__ import annotations

from datetime import timedelta

from bot.replies import (
    ActionButtons,
    ChannelPost,
    ConfirmPrompt,
    PairSpaceOpen,
    PairSpacePost,
    PrivateMessage,
)
from tests.core.languages.kit import marked, toy_harness
from tests.harness import Harness


async def _join(h: Harness, *names: str) -> None:
    for name in names:
        prompt = [i for i in await h.run(name, "pair join", channel=None) if isinstance(i, ConfirmPrompt)]
        assert prompt
        await h.run(name, f"yes {prompt[0].confirmation_id}", channel=None)


def _to(intents: list, user: str) -> list[str]:
    return [i.text for i in intents if isinstance(i, PrivateMessage | ConfirmPrompt | ActionButtons) and i.user_id == user]


async def test_consent_is_in_the_members_language(tmp_path):
    h = await toy_harness(tmp_path)
    try:
        await h.say("sam", "mydata language xx", channel=None)
        sam = [i for i in await h.run("sam", "pair join", channel=None) if isinstance(i, ConfirmPrompt)][0]
        jo = [i for i in await h.run("jo", "pair join", channel=None) if isinstance(i, ConfirmPrompt)][0]
        assert marked(sam.text) and marked(sam.yes_label) and not marked(jo.text)
        # The version agreed to names the terms, whichever language they were read in.
        await h.run("sam", f"yes {sam.confirmation_id}", channel=None)
        await h.run("jo", f"yes {jo.confirmation_id}", channel=None)
        rows = await h.db.fetchall("SELECT DISTINCT text_version FROM pair_consents")
        assert len(rows) == 1
    finally:
        await h.close()


async def _round(h: Harness, *, xx: tuple[str, ...], en: tuple[str, ...]) -> list:
    for name in xx:
        await h.say(name, "mydata language xx", channel=None)
    for name in en:
        await h.say(name, "mydata language en", channel=None)
    await _join(h, *xx, *en)
    assert "Pairing rounds will start" in await h.say("alex", "pair schedule weekly mon 10:00")
    h.sink.take()
    await h.advance(timedelta(hours=1))
    return h.sink.take()


async def test_a_pair_sharing_a_language_gets_its_space_in_it(tmp_path):
    h = await toy_harness(tmp_path)
    try:
        out = await _round(h, xx=("sam", "jo"), en=())
        spaces = [i for i in out if isinstance(i, PairSpaceOpen)]
        assert len(spaces) == 1 and marked(spaces[0].text) and marked(spaces[0].title)
        # The round's post in the channel stays in the community's language.
        assert [p for p in out if isinstance(p, ChannelPost)] and not any(
            marked(p.text) for p in out if isinstance(p, ChannelPost)
        )
    finally:
        await h.close()


async def test_a_mixed_pair_gets_the_community_language_and_each_their_own_check_in(tmp_path):
    h = await toy_harness(tmp_path)
    try:
        out = await _round(h, xx=("sam",), en=("jo",))
        spaces = [i for i in out if isinstance(i, PairSpaceOpen)]
        assert len(spaces) == 1 and not marked(spaces[0].text) and not marked(spaces[0].title)
        await h.advance(timedelta(days=3, hours=12))
        out = h.sink.take()
        sam, jo = _to(out, "sam"), _to(out, "jo")
        assert len(sam) == 1 and marked(sam[0]) and len(jo) == 1 and not marked(jo[0])
        # A shared answer goes into the shared space in its language, the scale's words too.
        assert marked(await h.say("sam", "checkin share 4", channel=None))
        shared = [i for i in h.sink.take() if isinstance(i, PairSpacePost)]
        assert len(shared) == 1 and not marked(shared[0].text) and "fairly connected" in shared[0].text
        # jo's words to sam's check-in stay private; the end-of-round check-in is each their own.
        await h.advance(timedelta(days=4))
        out = h.sink.take()
        assert all(marked(t) for t in _to(out, "sam")) and _to(out, "sam")
        assert not any(marked(t) for t in _to(out, "jo")) and _to(out, "jo")
    finally:
        await h.close()


async def test_in_a_space_that_speaks_xx_a_mixed_pair_gets_xx_and_english_check_ins_stay_english(tmp_path):
    h = await toy_harness(tmp_path)
    try:
        await h.say("alex", "setup locale xx")
        out = await _round(h, xx=(), en=("jo",))  # sam chose nothing: the space's xx
        await _join(h, "sam")
        h.sink.take()
        assert "«xx»" in await h.say("alex", "pair now")
        out = h.sink.take()
        spaces = [i for i in out if isinstance(i, PairSpaceOpen)]
        assert len(spaces) == 1 and marked(spaces[0].text)
        await h.advance(timedelta(days=3, hours=12))
        out = h.sink.take()
        assert [marked(t) for t in _to(out, "sam")] == [True]
        assert [marked(t) for t in _to(out, "jo")] == [False]
    finally:
        await h.close()


async def test_each_party_reads_the_agreement_in_their_own_language(tmp_path):
    h = await toy_harness(tmp_path)
    try:
        await h.say("sam", "mydata language xx", channel=None)
        await h.say("jo", "help", channel=None)  # jo is known here, and reads the space's English
        h.sink.take()
        started = await h.run("jo", "agreement start @sam", channel=None)
        assert not marked("\n".join(getattr(i, "text", "") for i in started))
        invite = [i for i in h.sink.take() if isinstance(i, ConfirmPrompt) and i.user_id == "sam"]
        assert len(invite) == 1 and marked(invite[0].text) and marked(invite[0].yes_label)
        await h.run("sam", f"yes {invite[0].confirmation_id}", channel=None)
        joined = _to(h.sink.take(), "jo")
        assert joined and not any(marked(t) for t in joined)
        await h.say("jo", "agreement edit 1 Walks, and time to think.", channel=None)
        await h.say("sam", "agreement edit 6 Ask me straight out how I am.", channel=None)
        h.sink.take()
        await h.say("jo", "agreement propose", channel=None)
        notice = [i for i in h.sink.take() if isinstance(i, ActionButtons) and i.user_id == "sam"]
        assert len(notice) == 1
        text = notice[0].text
        # sam's copy: titles, prompts and buttons in xx; the answers as the parties wrote them.
        assert marked(text) and "«xx» What matters to me" in text and "Walks, and time to think." in text
        assert "What matters to me" not in text.replace("«xx» What matters to me", "")
        assert all(marked(label) for _, label in notice[0].buttons)
        # Viewing it, each reads the headings in their own language.
        assert "«xx» What matters to me" in await h.say("sam", "agreement view", channel=None)
        view = await h.say("jo", "agreement view", channel=None)
        assert "What matters to me" in view and not marked(view)
        assert marked(await h.say("sam", "agreement accept v1", channel=None))
        agreed = _to(h.sink.take(), "jo")
        assert agreed and not any(marked(t) for t in agreed)
        # Withdrawing: the answer is jo's (English), the notice sam's (xx).
        withdrawn = await h.say("jo", "agreement withdraw", channel=None)
        assert "withdrawn" in withdrawn and not marked(withdrawn)
        gone = _to(h.sink.take(), "sam")
        assert gone and all(marked(t) for t in gone)
    finally:
        await h.close()


async def test_a_space_agreement_objection_reaches_the_proposer_in_their_language(tmp_path):
    h = await toy_harness(tmp_path)
    try:
        await h.say("sam", "mydata language xx", channel=None)
        await h.say("alex", "space-agreement draft")
        h.sink.take()
        await h.say("sam", "space-agreement propose purpose We meet to listen, and to be heard.")
        posts = [i for i in h.sink.take() if isinstance(i, ChannelPost)]
        assert posts and not any(marked(p.text) for p in posts)
        assert marked(await h.say("sam", "space-agreement show", channel=None))
        await h.say("jo", "space-agreement object 1 I'd like us to talk about this first.")
        notice = _to(h.sink.take(), "sam")
        assert len(notice) == 1 and marked(notice[0]) and "I'd like us to talk about this first." in notice[0]
    finally:
        await h.close()


async def test_nobody_learns_another_members_choice(tmp_path):
    h = await toy_harness(tmp_path)
    try:
        out = await _round(h, xx=("sam",), en=())  # jo chose nothing: a mixed pair
        await h.say("jo", "help", channel=None)
        seen_by_others = [
            *(i.text for i in out if not (getattr(i, "user_id", "") == "sam")),
            await h.say("jo", "pair status", channel=None),
            await h.say("alex", "pair stats"),
            await h.say("alex", "pair status", channel=None),
        ]
        exported = [i for i in await h.run("jo", "mydata export", channel=None) if hasattr(i, "content")]
        seen_by_others.append(exported[0].content)
        for text in seen_by_others:
            assert "Xish" not in text and "«xx»" not in text and '"xx"' not in text, text
    finally:
        await h.close()
