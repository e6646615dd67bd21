"""Resources from chat: facilitators add, edit and remove them (every field PRODUCT.md names),
stored per community and shown by `resources` after those from the config file. Bad input gets a
specific answer and changes nothing; members cannot change the list."""

from __future__ import annotations

from alongside.settings import load_settings
from bot.context import CommunityRef
from tests.harness import make_harness

ADD = (
    "/resources add name: Samaritans; contact: call 116 123; hours: 24/7; region: UK; "
    "peer-run: no; policy: may-contact-emergency-services"
)


async def count(harness) -> int:
    return (await harness.db.fetchone("SELECT COUNT(*) FROM community_resources"))[0]


async def test_a_new_space_can_fill_its_resources_from_chat(harness):
    empty = await harness.say("sam", "/resources")
    assert "hasn't listed any resources yet" in empty and "/resources add" in empty
    assert "Added Samaritans as resource number 1" in await harness.say("alex", ADD)
    await harness.say(
        "alex",
        "/resources add name: Peer Line; contact: text 555 0100; peer-run: yes; policy: never-without-consent",
    )
    shown = await harness.say("sam", "/resources")
    assert "• Samaritans: call 116 123; 24/7; may contact emergency services." in shown
    assert "UK" in shown
    assert (
        "• Peer Line: text 555 0100; peer-run; never contacts emergency services without your consent."
        in shown
    )
    assert "number" not in shown  # members are not shown the numbers
    assert "(number 1)" in await harness.say("alex", "/resources")

    assert "Updated resource number 1 (Samaritans)" in await harness.say(
        "alex", "/resources edit 1 hours: weekdays 09:00 to 17:00"
    )
    assert "weekdays 09:00 to 17:00" in await harness.say("sam", "/resources")
    assert "Removed resource number 2 (Peer Line)" in await harness.say(
        "alex", "/resources remove 2"
    )
    assert "Peer Line" not in await harness.say("sam", "/resources")


async def test_resources_belong_to_their_community(harness):
    await harness.say("alex", ADD)
    other = CommunityRef("console", "elsewhere", "elsewhere")
    intents = await harness.run("alex", "/resources", community=other)
    assert "Samaritans" not in intents[0].text
    intents = await harness.run("alex", "/resources remove 1", community=other)
    assert "no added resource number 1" in intents[0].text
    assert await count(harness) == 1


async def test_members_cannot_change_the_list(harness):
    await harness.say("alex", ADD)
    for line in (ADD, "/resources edit 1 hours: never", "/resources remove 1"):
        assert "is for the space's facilitators" in await harness.say("sam", line)
    assert await count(harness) == 1
    assert "24/7" in await harness.say("sam", "/resources")


async def test_bad_input_gets_a_specific_answer_and_changes_nothing(harness):
    cases = {
        "/resources add name: Samaritans": "needs a contact",
        "/resources add contact: 116 123": "needs a name",
        "/resources add name: X; contact: Y; colour: blue": 'couldn\'t read "colour: blue"',
        "/resources add name: X; contact: Y; peer-run: maybe": 'peer-run takes yes or no, not "maybe"',
        "/resources add name: X; contact: Y; policy: sometimes": '"sometimes" isn\'t a policy',
        "/resources add name: X; name: Y; contact: Z": "name is given twice",
        "/resources add name: " + "x" * 81 + "; contact: Y": "up to 80 characters; this one has 81",
        "/resources edit 7 hours: 24/7": "no added resource number 7",
        "/resources edit hours: 24/7": "/resources edit 1 hours: 24/7",
        "/resources remove": "/resources remove 1",
        "/resources edit 1": "/resources edit 1 hours:",
        "/resources bogus": '"bogus" isn\'t something resources can do',
    }
    for line, expected in cases.items():
        answer = await harness.say("alex", line)
        assert expected in answer, (line, answer)
    assert await count(harness) == 0


async def test_config_resources_are_still_shown_first(tmp_path, store):
    settings = load_settings(
        None,
        resources=[{"name": "Config Line", "contact": "call 1", "region": "UK", "peer_run": True}],
    )
    harness = await make_harness(tmp_path, settings=settings)
    try:
        await harness.say("alex", ADD)
        shown = await harness.say("sam", "/resources")
        assert shown.index("Config Line") < shown.index("Samaritans")
    finally:
        await harness.close()


async def test_a_free_text_policy_is_refused_with_all_it_takes_and_its_words_in_full(harness):
    words = "they may call emergency services if they think you are in danger"
    answer = await harness.say("alex", f"/resources add name: X; contact: Y; policy: {words}")
    assert f'"{words}"' in answer, answer  # quoted whole, not cut off mid-sentence
    assert "never-without-consent, may-contact-emergency-services or unknown" in answer, answer
    assert "policy: unknown" in answer, answer  # an example that works
    assert len(answer) < 300, answer
    long = "x" * 300
    answer = await harness.say("alex", f"/resources add name: X; contact: Y; policy: {long}")
    assert "x" * 81 not in answer and "…" in answer, answer
    assert await count(harness) == 0
    # The accepted words, written with spaces or capitals, are the same choice, not free text.
    out = await harness.say(
        "alex", "/resources add name: X; contact: Y; policy: Never without consent"
    )
    assert "Added X" in out, out
    assert "never contacts emergency services without your consent" in await harness.say(
        "sam", "/resources"
    )


async def test_help_resources_says_how_to_add_edit_and_remove(harness):
    text = await harness.say("alex", "/help resources")
    for part in (
        "/resources add name:",
        "contact:",
        "hours:",
        "region:",
        "peer-run: yes or no",
        "/resources edit 1",
        "/resources remove 1",
    ):
        assert part in text, (part, text)
    assert "never-without-consent, may-contact-emergency-services or unknown" in text, text


async def test_help_resources_says_how_to_write_one(harness):
    # Found walking the first-month journey: `help resources` gave only the usage line, so a
    # facilitator setting up a space could not learn the labelled fields without a failed add.
    shown = await harness.say("alex", "/help resources")
    for label in ("name:", "contact:", "hours:", "region:", "peer-run:", "policy:"):
        assert label in shown, label
    assert "never-without-consent" in shown and "/resources edit 1" in shown
    # The example it gives works as written.
    example = shown[shown.index("/resources add") :].split(". ")[0]
    assert "Added" in await harness.say("alex", example)
