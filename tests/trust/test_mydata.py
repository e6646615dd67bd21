"""Members own their data: export gives them theirs (and nobody else's); forget erases it, and a
look at the raw SQLite file finds no trace of their id or their words."""

import json
import re
from datetime import timedelta

from bot.replies import PrivateFile, PrivateMessage
from tests.harness import make_harness

ME = "samwise-7f3a"  # distinctive, so a byte search of the file is meaningful
MY_WORDS = {
    "suggestion": "What is a small kindness zx81 you noticed this week?",
    "agreement": "Tell me plainly qv42 when you need a pause.",
    "checkin": "our walks helped kq77",
    "objection": "I would like us to talk about this first wj55.",
}
THEIR_WORDS = "I like to be asked before advice jo11."


async def build(tmp_path):
    h = await make_harness(tmp_path)
    for user in ("alex", ME, "jo", "rin"):
        await h.app.context(h.inv(user))
    await h.say(ME, f"/questions suggest {MY_WORDS['suggestion']}")
    # Pairing: both join, a round pairs us, a check-in is answered.
    for user in (ME, "jo"):
        await h.say(user, "/pair join", channel=None)
        await h.say(user, "/yes", channel=None)
    await h.say(ME, "/pair not-with @rin", channel=None)
    await h.say("alex", "/pair now")
    await h.advance(timedelta(days=8))
    await h.say(ME, "/checkin", channel=None)
    await h.say(ME, "/checkin 4", channel=None)
    await h.say(ME, f"/checkin {MY_WORDS['checkin']}", channel=None)
    await h.say(ME, "/checkin done", channel=None)
    # An agreement with jo, proposed and accepted.
    out = await h.say(ME, "/agreement start @jo", channel=None)
    short_id = re.search(r"#([0-9A-Z]{5})", out).group(1)
    await h.say("jo", "/yes", channel=None)
    await h.say(ME, f"/agreement edit 1 {MY_WORDS['agreement']}", channel=None)
    await h.say("jo", f"/agreement edit 1 {THEIR_WORDS}", channel=None)
    await h.say(ME, "/agreement propose", channel=None)
    await h.say("jo", "/agreement accept v1", channel=None)
    # The space agreement: a change proposed by alex, and an objection of mine.
    await h.say("alex", "/space-agreement draft")
    await h.say("alex", "/space-agreement propose purpose A place to think together.")
    await h.say(ME, f"/space-agreement object 1 {MY_WORDS['objection']}")
    h.sink.take()
    return h, short_id


async def test_export_holds_my_data_and_nobody_elses(tmp_path, store):
    h, _ = await build(tmp_path)
    intents = await h.run(ME, "/mydata export", channel=None)
    (export,) = [i for i in intents if isinstance(i, PrivateFile)]
    assert export.user_id == ME
    document = json.loads(export.content)
    text = export.content
    for words in (MY_WORDS["suggestion"], MY_WORDS["agreement"], MY_WORDS["checkin"], MY_WORDS["objection"]):
        assert words in text
    assert THEIR_WORDS not in text  # another party's answer is theirs
    assert document["pairing"]["joined"] is True
    assert document["pairing"]["not_with"] == {"entries": 1}  # how many, never who
    assert document["agreements"]["pair_agreements"][0]["status"] == "agreed"
    # jo's export never shows my not-with list or my answers.
    jo_export = [i for i in await h.run("jo", "/mydata export", channel=None) if isinstance(i, PrivateFile)][0]
    assert json.loads(jo_export.content)["pairing"]["not_with"] == {}
    assert MY_WORDS["agreement"] not in jo_export.content and MY_WORDS["checkin"] not in jo_export.content
    await h.close()


async def test_forget_leaves_no_trace_in_the_file(tmp_path, store):
    h, short_id = await build(tmp_path)
    prompt = await h.run(ME, "/mydata forget", channel=None)
    assert "can't be undone" in prompt[0].text
    assert "Nothing was erased" in await h.say(ME, "/no", channel=None)
    await h.say(ME, "/mydata forget", channel=None)
    assert "has been erased" in await h.say(ME, "/yes", channel=None)
    # The other party hears, neutrally, that the agreement ended.
    notices = [i.text for i in h.sink.take() if isinstance(i, PrivateMessage) and i.user_id == "jo"]
    assert any("its text is deleted" in n for n in notices), notices
    assert not any(word in n for n in notices for word in MY_WORDS.values())
    status = await h.db.fetchone("SELECT status FROM agreements WHERE short_id = ?", (short_id,))
    assert status is None or status[0] == "withdrawn"
    # An approved question would stay; the pending suggestion is gone. Others' data stays.
    assert (await h.db.fetchone("SELECT COUNT(*) FROM pair_participants"))[0] == 1
    await h.close()
    raw = b""
    for suffix in ("", "-wal", "-shm"):
        path = tmp_path / f"alongside.db{suffix}"
        if path.exists():
            raw += path.read_bytes()
    assert ME.encode() not in raw
    for words in MY_WORDS.values():
        assert words.encode() not in raw
        assert re.search(r"[a-z]{2}\d{2}", words).group().encode() not in raw  # the token alone


async def test_after_forget_the_export_summary_counts_nothing(tmp_path, store):
    # Found walking the late-member journey: after `mydata forget` the export still said
    # "agreements: 1 item", counting the empty invitation settings as something kept.
    h, _ = await build(tmp_path)
    try:
        await h.say(ME, "/mydata forget", channel=None)
        assert "has been erased" in await h.say(ME, "/yes", channel=None)
        intents = await h.run(ME, "/mydata export", channel=None)
        (file,) = [i for i in intents if isinstance(i, PrivateFile)]
        assert re.findall(r": (\d+) items?", file.text) == ["0"] * 3, file.text
    finally:
        await h.close()


async def test_forget_keeps_a_published_question_unattributed(tmp_path, store):
    h = await make_harness(tmp_path)
    await h.say(ME, f"/questions suggest {MY_WORDS['suggestion']}")
    await h.say("alex", "/questions approve 1 connection")
    await h.say(ME, "/mydata forget", channel=None)
    await h.say(ME, "/yes", channel=None)
    row = await h.db.fetchone("SELECT member_id, status FROM question_suggestions")
    assert tuple(row) == (None, "approved")
    assert (await h.db.fetchone("SELECT text FROM community_questions"))[0] == MY_WORDS["suggestion"]
    await h.close()


async def test_retention_purge_runs_daily(tmp_path, store):
    h = await make_harness(tmp_path)
    await h.say("sam", "/questions suggest What surprised you about yourself lately?")
    await h.say("alex", "/questions decline 1")
    h.sink.take()
    await h.advance(timedelta(days=200))
    assert (await h.db.fetchone("SELECT COUNT(*) FROM question_suggestions"))[0] == 0
    assert (await h.db.fetchone("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL"))[0] == 0
    await h.close()
