"""A lived-in database built through real commands, with a value in every encrypted column: pending
and approved suggestions, pairs with check-in answers, a not-with entry, pairing preferences and a
meet-again wish, pair agreements drafted,
proposed and agreed, an open step-by-step dialog, the space agreement with an objection note,
pending confirmations, undelivered messages and a Discord message kept for a member with closed DMs.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from alongside.settings import load_settings
from bot.clock import FakeClock
from bot.replies import PrivateMessage
from bot.storage.adapter_state import AdapterState
from tests.harness import Harness, make_harness

# Words that must survive a rotation, each readable afterwards through the bot.
TEXTS = {
    "suggestion": "What small thing made you laugh this week, rq51?",
    "agreement": "Ask me before giving advice, tt83.",
    "checkin": "the bench by the river wq27 helped",
    "objection": "Let us wait a week on this, yy40.",
    "space": "A place where we listen first, mm63.",
    "missed": "A message kept while DMs were closed, kk12.",
}


async def build(tmp_path: Path) -> Harness:
    h = await make_harness(tmp_path, settings=load_settings(None))
    for user in ("alex", "sam", "jo", "kim", "lee"):
        await h.app.context(h.inv(user))
    await h.say("sam", f"/questions suggest {TEXTS['suggestion']}")
    await h.say("jo", "/questions suggest What is a place you go back to?")
    await h.say("alex", "/questions approve 2 connection")
    await h.say("alex", "/questions schedule daily 18:00")
    for user in ("sam", "jo", "kim", "lee"):
        await h.say(user, "/pair join", channel=None)
        await h.say(user, "/yes", channel=None)
    await h.say("lee", "/pair not-with @kim", channel=None)
    # Preferences and a one-sided meet-again wish (issue 17): neither changes who meets whom here.
    # The wish names kim, whom lee keeps apart, so no round groups them and spends it.
    await h.say("lee", "/pair prefs timezone Europe/Madrid", channel=None)
    await h.say("lee", "/pair again @kim", channel=None)
    await h.say("alex", "/pair now")
    await h.advance(timedelta(days=8))
    await h.say("sam", "/checkin", channel=None)
    await h.say("sam", "/checkin 3", channel=None)
    await h.say("sam", f"/checkin share {TEXTS['checkin']}", channel=None)
    out = await h.say("sam", "/agreement start @jo", channel=None)
    short_id = re.search(r"#([0-9A-Z]{5})", out).group(1)
    await h.say("jo", "/yes", channel=None)
    await h.say("sam", f"/agreement edit 2 {TEXTS['agreement']}", channel=None)
    await h.say("sam", "/agreement propose", channel=None)
    await h.say("jo", f"/agreement accept #{short_id}", channel=None)
    await h.say("kim", "/agreement start @lee", channel=None)  # a draft, invitation pending
    await h.say("jo", f"/agreement edit #{short_id}", channel=None)  # agreed: refused, nothing opened
    await h.say("alex", "/space-agreement draft")
    await h.say("jo", f"/space-agreement propose purpose {TEXTS['space']}")
    await h.say("sam", f"/space-agreement object 1 {TEXTS['objection']}")
    await h.say("kim", "/mydata forget", channel=None)  # asked, not answered: a pending confirmation
    # Step by step: an open dialog with an answer stashed.
    await h.say("lee", "/agreement start @sam", channel=None)
    await h.say("sam", "/yes", channel=None)
    await h.say("lee", "/agreement edit", channel=None)
    await h.app.handle_plain(h.inv("lee", None), "Taking turns to talk, dd19.")
    # Messages still waiting in the outbox: made with no sink attached, so nothing delivers them.
    h.app.attach_sink(None)  # type: ignore[arg-type]
    await h.app.handle_text(h.inv("jo"), "pair now", lambda token: None)
    await h.advance(timedelta(days=1))
    # Discord keeps a message for a member whose DMs are closed, encrypted, in adapter_state.
    from adapters.discord.outgoing import Outgoing

    outgoing = Outgoing(
        None,  # type: ignore[arg-type]
        AdapterState(h.db, "discord"),
        h.app.cipher,
        lambda *a, **k: "",
        lambda _: None,  # type: ignore[arg-type,return-value]
        lambda *a: None,  # type: ignore[arg-type,return-value]
        FakeClock(h.clock.now()),
    )
    await outgoing.keep_missed(111, "222", PrivateMessage("222", TEXTS["missed"]))
    return h
