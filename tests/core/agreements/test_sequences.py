"""Hypothesis-generated sequences of real commands through the App, from the two parties of an
agreement and from outsiders (a member and a facilitator), with the rules checked against storage
after every step:

* `agreed` only when every party accepted the same version (its content hash);
* the version in force never changes while the agreement is being revisited;
* outsiders always get exactly the "no such agreement" answer, and nothing changes;
* withdrawal always works for a party while the agreement is not withdrawn.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.core.agreements.helpers import ID, dump, meet
from tests.harness import make_harness

PARTIES = st.sampled_from(["sam", "rin"])
OUTSIDERS = st.sampled_from(["jo", "alex"])  # alex is a facilitator
SECTIONS = st.sampled_from(["1", "3", "safe", "repair", "11"])
WORDS = st.sampled_from(["Walks help.", "Texting late doesn't.", "We pause with a word.", "-"])
OUTSIDER_COMMANDS = st.sampled_from(
    [
        "agreement view {id}",
        "agreement history {id}",
        "agreement edit {id} 3 outsider words",
        "agreement amend {id} 1 outsider words",
        "agreement propose {id}",
        "agreement accept {id}",
        "agreement revisit {id}",
        "agreement withdraw {id}",
    ]
)


class AgreementSequences(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = Path(tempfile.mkdtemp())
        self.h = self.run(make_harness(self.tmp))
        self.run(meet(self.h, "alex", "sam", "jo", "rin"))
        out = self.run(self.h.say("sam", "agreement start @rin", channel=None))
        self.short_id = ID.search(out).group(1)
        self.run(self.h.say("rin", "yes", channel=None))
        self.run(self.h.say("rin", "agreement edit 6 A thumbs-up means keep going.", channel=None))
        self.no_such = self.run(self.h.say("jo", "agreement view #ZZZZZ", channel=None))
        self.in_force_when_revisit_began: int | None = None

    def teardown(self) -> None:
        self.run(self.h.close())
        self.loop.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def say(self, user: str, line: str) -> str:
        return self.run(self.h.say(user, line, channel=None))

    def row(self):
        return self.run(
            self.h.db.fetchone(
                "SELECT id, status, proposal_version, proposal_hash, proposed_by, in_force_version, in_force_hash"
                " FROM agreements WHERE short_id = ?",
                (self.short_id,),
            )
        )

    @initialize(start=st.sampled_from(["draft", "agreed", "revisiting"]))
    def begin(self, start):
        """Start some sequences from an agreed (or revisiting) agreement, so those states get
        as much exercise as the early ones."""
        if start in ("agreed", "revisiting"):
            self.say("sam", f"agreement propose #{self.short_id}")
            self.say("rin", f"agreement accept #{self.short_id} v{self.row()['proposal_version']}")
        if start == "revisiting":
            self.say("rin", f"agreement revisit #{self.short_id}")
            self.in_force_when_revisit_began = self.row()["in_force_version"]

    # -- parties ------------------------------------------------------------------------------

    @rule(member=PARTIES, section=SECTIONS, words=WORDS)
    def edit(self, member, section, words):
        self.say(member, f"agreement edit #{self.short_id} {section} {words}")

    @rule(member=PARTIES, section=SECTIONS, words=WORDS)
    def amend(self, member, section, words):
        self.say(member, f"agreement amend #{self.short_id} {section} {words}")

    @rule(member=PARTIES, section=SECTIONS)
    def note(self, member, section):
        other = "rin" if member == "sam" else "sam"
        self.say(member, f"agreement amend #{self.short_id} {section} @{other} A note.")

    @rule(member=PARTIES, words=WORDS)
    def step_through(self, member, words):
        self.say(member, f"agreement edit #{self.short_id}")
        self.run(self.h.app.handle_plain(self.h.inv(member, channel=None), words))
        self.say(member, "done")

    @rule(member=PARTIES)
    def propose(self, member):
        self.say(member, f"agreement propose #{self.short_id}")

    @rule(member=PARTIES, which=st.sampled_from(["current", "earlier", "none"]))
    def accept(self, member, which):
        """Only the version out for acceptance, named, is accepted; a bare accept or an earlier
        version's number shows the current one and changes nothing."""
        before_row = self.row()
        current = before_row["proposal_version"] if before_row else None
        if which == "current" or current is None:
            self.say(member, f"agreement accept #{self.short_id} v{current or 1}")
            return
        before = self.run(dump(self.h))
        version = f" v{current - 1}" if which == "earlier" else ""
        out = self.say(member, f"agreement accept #{self.short_id}{version}")
        assert self.run(dump(self.h)) == before
        if "accept" in out and "already" not in out and "accepted it already" not in out:
            assert f"agreement accept #{self.short_id} v{current}" in out

    @rule(member=PARTIES)
    def propose_and_accept(self, member):
        """The common path: one proposes, the other accepts (each may be refused)."""
        other = "rin" if member == "sam" else "sam"
        self.say(member, f"agreement propose #{self.short_id}")
        current = (self.row() or {"proposal_version": None})["proposal_version"]
        self.say(other, f"agreement accept #{self.short_id} v{current or 1}")

    @rule(member=PARTIES)
    def revisit(self, member):
        before = self.row()
        self.say(member, f"agreement revisit #{self.short_id}")
        after = self.row()
        if before and before["status"] == "agreed" and after["status"] == "revisiting":
            self.in_force_when_revisit_began = after["in_force_version"]

    @rule(member=PARTIES)
    def read(self, member):
        before = self.run(dump(self.h))
        self.say(member, f"agreement view #{self.short_id}")
        self.say(member, f"agreement history #{self.short_id}")
        assert self.run(dump(self.h)) == before

    @rule(member=PARTIES, really=st.integers(0, 5))
    def withdraw(self, member, really):
        if really:  # withdraw only now and then, so that sequences go somewhere first
            return
        before = self.row()
        out = self.say(member, f"agreement withdraw #{self.short_id}")
        if before is not None and before["status"] != "withdrawn":
            assert "You've withdrawn" in out
            assert self.row()["status"] == "withdrawn"

    @rule(days=st.integers(1, 40))
    def time_passes(self, days):
        self.run(self.h.advance(timedelta(days=days)))

    # -- outsiders -----------------------------------------------------------------------------

    @rule(outsider=OUTSIDERS, command=OUTSIDER_COMMANDS, real=st.booleans())
    def outsider(self, outsider, command, real):
        before = self.run(dump(self.h))
        ident = f"#{self.short_id}" if real else "#ZZZZZ"
        out = self.say(outsider, command.format(id=ident))
        assert out == self.no_such
        assert self.run(dump(self.h)) == before

    # -- the rules -----------------------------------------------------------------------------

    @invariant()
    def rules_hold(self):
        row = self.row()
        event(f"status: {row['status'] if row else 'deleted'}")
        if row is None:  # deleted after the retention window
            return
        db = self.h.db
        parties = {
            r[0]
            for r in self.run(
                db.fetchall("SELECT member_id FROM agreement_parties WHERE agreement_id = ?", (row["id"],))
            )
        }
        status = row["status"]
        if status == "agreed":
            version = row["in_force_version"]
            accepted = self.run(
                db.fetchall(
                    "SELECT member_id, hash FROM agreement_acceptances WHERE agreement_id = ? AND version = ?",
                    (row["id"], version),
                )
            )
            assert {r[0] for r in accepted} == parties
            assert {r[1] for r in accepted} == {row["in_force_hash"]}
            stored = self.run(
                db.fetchone(
                    "SELECT hash FROM agreement_versions WHERE agreement_id = ? AND number = ?", (row["id"], version)
                )
            )
            assert stored[0] == row["in_force_hash"]
            assert row["proposal_version"] is None
        if status == "revisiting":
            assert row["in_force_version"] == self.in_force_when_revisit_began
        if status in ("draft", "proposed"):
            assert row["in_force_version"] is None
        if row["proposal_version"] is not None:
            assert status in ("proposed", "revisiting")
            accepted = {
                r[0]
                for r in self.run(
                    db.fetchall(
                        "SELECT member_id FROM agreement_acceptances WHERE agreement_id = ? AND version = ?",
                        (row["id"], row["proposal_version"]),
                    )
                )
            }
            assert row["proposed_by"] in accepted and accepted < parties


TestAgreementSequences = AgreementSequences.TestCase
TestAgreementSequences.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
