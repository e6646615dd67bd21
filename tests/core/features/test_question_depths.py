"""Every audience and depth of the bank is used (issue 14): group posts follow the space's depth
mix, pair openers deepen over the rounds the same people have been paired together, and
`questions reflect` gives a member a private `self` question. A content note always comes
before its question."""

from datetime import timedelta

from bot.replies import Answer, ChannelPost
from bot.texts.catalog import AUDIENCES, DEPTHS, Question
from tests.core.pairing.helpers import join, opened
from tests.harness import Harness

ALL_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    "postgresql": "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
}


def bank(h: Harness) -> list[Question]:
    return list(h.app.catalog.questions("en"))


def asked(h: Harness, text: str, audience: str) -> Question:
    """The bank question a message carries (the only one of that audience whose words it holds)."""
    (found,) = [q for q in bank(h) if q.audience == audience and q.text in text]
    return found


def note_comes_first(text: str, question: Question) -> bool:
    note = f"(Content note: {question.content_note}.)"
    return note in text and text.index(note) < text.index(question.text)


async def group_posts(h: Harness, count: int) -> list[tuple[Question, ChannelPost]]:
    found = []
    for _ in range(count):
        await h.say("alex", "/questions now")
        (post,) = [i for i in h.sink.take() if isinstance(i, ChannelPost)]
        found.append((asked(h, post.text, "group"), post))
    return found


async def table_counts(h: Harness) -> dict[str, int]:
    names = [row[0] for row in await h.db.fetchall(ALL_TABLES[h.engine])]
    return {name: (await h.db.fetchone(f"SELECT COUNT(*) FROM {name}"))[0] for name in names}


async def pair_openers(h: Harness, rounds: int) -> list[Question]:
    """The question opening each of `rounds` weekly rounds for sam and jo (always together)."""
    found = []
    for _ in range(rounds):
        for name in ("sam", "jo"):  # a command now and then keeps them from being asked if they're still in
            await h.say(name, "pair status", channel=None)
        await h.advance(timedelta(days=7))
        spaces = opened(h.sink.take())
        assert len(spaces) == 1, spaces
        question = asked(h, spaces[0].text, "pair")
        if question.content_note:
            assert note_comes_first(spaces[0].text, question), spaces[0].text
        found.append(question)
    return found


async def start_pairing(h: Harness) -> None:
    await join(h, "sam", "jo")
    assert "Pairing rounds will start" in await h.say("alex", "pair schedule weekly mon 10:00")
    await h.advance(timedelta(hours=1))  # round 1 opens at 10:00 on the first Monday
    h.sink.take()


async def test_group_posts_follow_the_depth_mix_with_the_note_first(harness):
    h = harness
    assert "stay light" in await h.say("alex", "/questions depth light")
    assert {q.depth for q, _ in await group_posts(h, 12)} == {"light"}
    assert "lean deeper" in await h.say("alex", "/questions depth deep")
    deeper = await group_posts(h, 25)
    assert {q.depth for q, _ in deeper} == {"medium", "deep"}
    for question, post in deeper:
        if question.content_note:
            # The note is the post's first line, and the thread's name never shows the question.
            assert post.text.startswith(f"(Content note: {question.content_note}.)\n"), post.text
            assert note_comes_first(post.text, question)
            assert post.thread_title == f"Question (content note: {question.content_note})"
        else:
            assert post.text.startswith("A question for the space: ")
    assert "Depth: deep" in await h.say("sam", "/questions status")


async def test_depth_is_for_facilitators_and_bad_input_changes_nothing(harness):
    h = harness
    assert "is for the space's facilitators" in await h.say("sam", "/questions depth light")
    answer = await h.say("alex", "/questions depth bottomless")
    assert "light" in answer and "mixed" in answer and "deep" in answer
    assert (await h.db.fetchone("SELECT question_depth FROM communities"))[0] == "mixed"


async def test_pair_openers_start_light_and_deepen_over_rounds_together(harness):
    h = harness
    await start_pairing(h)
    # Round 1 opened at the start: sam and jo had never been paired, so it was light.
    (first,) = [q for q in bank(h) if q.audience == "pair" and q.id == await opener_id(h, 1)]
    assert first.depth == "light"
    later = await pair_openers(h, 4)  # rounds 2 to 5: together 1, 2, 3, 4 times before
    # Medium the second time; then a mixed space alternates deep and medium rounds.
    assert [q.depth for q in later] == ["medium", "deep", "medium", "deep"]
    assert all(q.content_note for q in later if q.depth == "deep")
    # A fresh question each round while there are fresh ones.
    ids = [first.id, *(q.id for q in later)]
    assert len(set(ids)) == len(ids)
    # With the space leaning deep, people who have met before get a deep one, its note first.
    await h.say("alex", "/questions depth deep")
    (deep,) = await pair_openers(h, 1)
    assert deep.depth == "deep" and deep.content_note


async def test_a_light_space_keeps_pair_openers_light(harness):
    h = harness
    await h.say("alex", "/questions depth light")
    await start_pairing(h)
    assert {q.depth for q in await pair_openers(h, 3)} == {"light"}


async def opener_id(h: Harness, number: int) -> str:
    row = await h.db.fetchone(
        "SELECT p.question_id FROM pairs p JOIN pair_rounds r ON r.id = p.round_id WHERE r.number = ?",
        (number,),
    )
    return row[0]


async def test_reflect_answers_privately_and_keeps_nothing(harness):
    h = harness
    await h.say("sam", "/help")  # the space and sam are known before counting
    before = await table_counts(h)
    seen: list[Question] = []
    for _ in range(40):
        intents = await h.run("sam", "/questions reflect", channel="circle")
        (answer,) = intents
        assert isinstance(answer, Answer) and answer.private
        question = asked(h, answer.text, "self")
        if question.content_note:
            assert note_comes_first(answer.text, question), answer.text
        assert "No answer is needed, and nothing is kept" in answer.text
        seen.append(question)
        h.clock.set(h.clock.now() + timedelta(minutes=1))
    assert {q.depth for q in seen} == set(DEPTHS)
    assert all(a.id != b.id for a, b in zip(seen, seen[1:], strict=False))  # never the same twice running
    assert await table_counts(h) == before
    # A task narrows it; a task that isn't one gets a specific answer.
    answer = await h.say("jo", "/questions reflect worldview", channel=None)
    assert "worldview" in asked(h, answer, "self").tasks
    assert "moving_towards" in await h.say("jo", "/questions reflect hope", channel=None)


async def test_every_audience_and_depth_is_sent_somewhere(harness):
    h = harness
    sent: set[tuple[str, str]] = set()
    group = [q for q in bank(h) if q.audience == "group"]
    sent |= {(q.audience, q.depth) for q, _ in await group_posts(h, len(group))}
    for _ in range(30):
        answer = await h.say("sam", "/questions reflect", channel=None)
        sent.add(("self", asked(h, answer, "self").depth))
        h.clock.set(h.clock.now() + timedelta(minutes=1))
    await start_pairing(h)
    sent.add(("pair", "light"))  # round 1 (checked in the test above)
    sent |= {(q.audience, q.depth) for q in await pair_openers(h, 6)}
    assert sent == {(a, d) for a in AUDIENCES for d in DEPTHS}


async def test_help_explains_depth_and_reflect(harness):
    depth = await harness.say("sam", "/help questions depth")
    assert "/questions depth <light|mixed|deep>" in depth and "content note first" in depth
    reflect = await harness.say("sam", "/help questions reflect")
    assert "nothing is stored" in reflect and "/questions reflect worldview" in reflect
    listing = await harness.say("sam", "/help")
    assert "/questions reflect" in listing
