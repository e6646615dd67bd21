"""The pure state machines: every transition of a pair agreement and of a consent round, allowed
and refused, and hypothesis-generated sequences from parties and outsiders checking the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.features.agreements import state
from bot.features.agreements.state import ConsentRound, ConsentStatus, PairState, Refused, Status

A, B, C, OUT = 1, 2, 3, 9
H1, H2, H3 = "h1", "h2", "h3"


def refused(reason: str, fn, *args) -> None:
    with pytest.raises(Refused) as caught:
        fn(*args)
    assert caught.value.reason == reason


def joined(*members: int) -> PairState:
    return PairState(Status.DRAFT, frozenset(members))


def proposed(by: int = A, digest: str = H1, *members: int) -> PairState:
    return state.propose(joined(*(members or (A, B))), by, digest, False)


def agreed(digest: str = H1) -> PairState:
    return state.accept(proposed(A, digest), B)


# -- start, join, decline ----------------------------------------------------------------------


def test_start_invites_one_or_two_others_and_nobody_else():
    s = state.start(A, frozenset({B, C}))
    assert s.status is Status.DRAFT and s.parties == {A} and s.invited == {B, C}
    for bad in (frozenset(), frozenset({A}), frozenset({A, B}), frozenset({B, C, 4})):
        with pytest.raises(ValueError):
            state.start(A, bad)


def test_join_and_decline_only_by_the_invited():
    s = state.start(A, frozenset({B, C}))
    s = state.join(s, B)
    assert s.parties == {A, B} and s.invited == {C}
    refused(state.NO_SUCH, state.join, s, B)  # already joined
    refused(state.NO_SUCH, state.join, s, OUT)
    refused(state.NO_SUCH, state.decline, s, OUT)
    s = state.decline(s, C)
    assert s.status is Status.DRAFT and s.parties == {A, B} and not s.invited


def test_declining_leaves_nobody_to_negotiate_with_so_it_closes():
    s = state.decline(state.start(A, frozenset({B})), B)
    assert s.status is Status.WITHDRAWN
    s = state.start(A, frozenset({B, C}))
    s = state.decline(state.decline(s, B), C)
    assert s.status is Status.WITHDRAWN
    refused(state.WITHDRAWN, state.join, PairState(Status.WITHDRAWN, frozenset({A}), frozenset({B})), B)


# -- editing and proposing ---------------------------------------------------------------------


def test_editing_a_draft_changes_only_the_working_copy():
    s = joined(A, B)
    assert state.change(s, A, H1, H2) == s
    refused(state.NO_CHANGE, state.change, s, A, H1, H1)
    refused(state.NO_SUCH, state.change, s, OUT, H1, H2)


def test_propose_needs_everyone_joined_and_something_written():
    refused(state.WAITING_FOR_INVITEES, state.propose, state.start(A, frozenset({B})), A, H1, False)
    refused(state.EMPTY, state.propose, joined(A, B), A, H1, True)
    s = state.propose(joined(A, B), A, H1, False)
    assert (s.status, s.proposal, s.proposer, s.accepted) == (Status.PROPOSED, H1, A, {A})
    refused(state.ALREADY_PROPOSED, state.propose, s, B, H1, False)
    refused(state.NO_SUCH, state.propose, joined(A, B), OUT, H1, False)


def test_an_amendment_is_a_new_proposal_accepted_by_its_author_only():
    s = state.accept(proposed(A, H1, A, B, C), B)
    assert s.accepted == {A, B}
    s = state.change(s, C, H1, H2)
    assert (s.status, s.proposal, s.proposer, s.accepted) == (Status.PROPOSED, H2, C, {C})


# -- accepting ---------------------------------------------------------------------------------


def test_agreed_only_when_every_party_accepted_the_same_version():
    s = proposed(A, H1, A, B, C)
    s = state.accept(s, B)
    assert s.status is Status.PROPOSED and s.in_force is None
    s = state.accept(s, C)
    assert (s.status, s.in_force, s.proposal, s.accepted) == (Status.AGREED, H1, None, frozenset())


def test_accept_refusals():
    s = proposed(A, H1)
    refused(state.PROPOSER_ACCEPTED, state.accept, s, A)
    refused(state.STALE, state.accept, s, B, H2)
    refused(state.NOTHING_TO_ACCEPT, state.accept, joined(A, B), A)
    refused(state.IS_AGREED, state.accept, agreed(), A)
    refused(state.NO_SUCH, state.accept, s, OUT)
    s3 = state.accept(proposed(A, H1, A, B, C), B)
    refused(state.ALREADY_ACCEPTED, state.accept, s3, B)


# -- revisiting and withdrawing ----------------------------------------------------------------


def test_revisiting_keeps_the_version_in_force_until_a_new_one_is_agreed():
    s = state.revisit(agreed(H1), B)
    assert s.status is Status.REVISITING and s.in_force == H1
    s = state.change(s, A, H1, H2)  # no proposal out: working copy only
    assert s.in_force == H1 and s.proposal is None
    s = state.propose(s, A, H2, False)
    assert s.status is Status.REVISITING and s.in_force == H1 and s.proposal == H2
    s = state.change(s, B, H2, H3)
    assert s.in_force == H1 and s.proposal == H3
    s = state.accept(s, A)
    assert (s.status, s.in_force) == (Status.AGREED, H3)


def test_revisit_refusals():
    refused(state.NOT_AGREED_YET, state.revisit, joined(A, B), A)
    refused(state.NOT_AGREED_YET, state.revisit, proposed(), B)
    refused(state.ALREADY_REVISITING, state.revisit, state.revisit(agreed(), A), B)
    refused(state.NO_SUCH, state.revisit, agreed(), OUT)
    refused(state.IS_AGREED, state.change, agreed(), A, H1, H2)
    refused(state.IS_AGREED, state.propose, agreed(), A, H2, False)


@pytest.mark.parametrize(
    "make",
    [
        lambda: state.start(A, frozenset({B})),
        lambda: joined(A, B),
        proposed,
        agreed,
        lambda: state.revisit(agreed(), B),
        lambda: state.propose(state.revisit(agreed(), B), B, H2, False),
    ],
)
def test_any_party_can_withdraw_from_any_state_alone(make):
    s = make()
    for member in s.parties:
        gone = state.withdraw(s, member)
        assert gone.status is Status.WITHDRAWN and gone.proposal is None
    refused(state.NO_SUCH, state.withdraw, s, OUT)


def test_nothing_changes_a_withdrawn_agreement():
    s = state.withdraw(proposed(), B)
    for fn, args in (
        (state.change, (A, H1, H2)),
        (state.propose, (A, H2, False)),
        (state.accept, (B,)),
        (state.revisit, (A,)),
        (state.withdraw, (A,)),
    ):
        refused(state.WITHDRAWN, fn, s, *args)
        refused(state.NO_SUCH, fn, s, OUT, *args[1:])


def test_a_missing_agreement_refuses_exactly_like_an_outsider():
    for fn, args in (
        (state.change, (A, H1, H2)),
        (state.propose, (A, H1, False)),
        (state.accept, (A,)),
        (state.revisit, (A,)),
        (state.withdraw, (A,)),
        (state.join, (A,)),
        (state.decline, (A,)),
    ):
        refused(state.NO_SUCH, fn, None, *args)


# -- hypothesis: sequences of steps from parties and outsiders --------------------------------

MEMBERS = st.sampled_from([A, B, C, OUT])
HASHES = st.sampled_from(["x1", "x2", "x3", "x4"])


class PairMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.s = state.start(A, frozenset({B, C}))
        self.content = "x0"
        self.agreed_by: dict[str, frozenset[int]] = {}  # proposal hash -> who accepted it
        self.in_force_while_revisiting: str | None = None

    def step(self, fn, *args) -> PairState | None:
        before = self.s
        try:
            after = fn(self.s, *args)
        except Refused as refusal:
            member = args[0]
            if member not in before.parties and fn not in (state.join, state.decline):
                assert refusal.reason == state.NO_SUCH  # outsiders learn nothing
            assert self.s == before
            return None
        self.s = after
        return after

    @rule(member=MEMBERS)
    def join(self, member):
        self.step(state.join, member)

    @rule(member=MEMBERS)
    def decline(self, member):
        self.step(state.decline, member)

    @rule(member=MEMBERS, new=HASHES)
    def change(self, member, new):
        before = self.s
        if self.step(state.change, member, self.content, new) is not None:
            self.content = new
            if before.proposal is not None:
                assert self.s.proposal == new and self.s.accepted == {member}

    @rule(member=MEMBERS, empty=st.booleans())
    def propose(self, member, empty):
        self.step(state.propose, member, self.content, empty)

    @rule(member=MEMBERS, stale=st.booleans())
    def accept(self, member, stale):
        before = self.s
        seen = "other" if stale else None
        after = self.step(state.accept, member, seen)
        if after is not None:
            assert not stale
            if after.status is Status.AGREED and before.status is not Status.AGREED:
                # Agreed only on one hash, accepted by every party.
                assert after.in_force == before.proposal
                assert before.accepted | {member} == before.parties

    @rule(member=MEMBERS)
    def revisit(self, member):
        if self.step(state.revisit, member) is not None:
            self.in_force_while_revisiting = self.s.in_force

    @precondition(lambda self: self.s.status is not Status.WITHDRAWN)
    @rule(data=st.data())
    def withdrawal_is_always_possible(self, data):
        member = data.draw(st.sampled_from(sorted(self.s.parties)))
        assert state.withdraw(self.s, member).status is Status.WITHDRAWN  # (not applied)

    @rule(member=MEMBERS)
    def withdraw(self, member):
        self.step(state.withdraw, member)

    @invariant()
    def rules_hold(self):
        s = self.s
        assert s.accepted <= s.parties
        if s.status is Status.AGREED:
            assert s.in_force is not None and s.proposal is None
        if s.status is Status.REVISITING:
            assert s.in_force is not None and s.in_force == self.in_force_while_revisiting
        if s.status in (Status.DRAFT, Status.PROPOSED):
            assert s.in_force is None
        if s.proposal is not None:
            assert s.proposer in s.accepted and s.status in (Status.PROPOSED, Status.REVISITING)
        if s.status is not Status.WITHDRAWN:
            assert len(s.parties) + len(s.invited) >= 2


TestPairMachine = PairMachine.TestCase
TestPairMachine.settings = settings(
    max_examples=200, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# -- consent rounds ----------------------------------------------------------------------------

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
CLOSE = T0 + timedelta(days=7)


def test_a_round_is_adopted_after_its_time_with_enough_agreement_and_no_objection():
    r = state.open_round(A, CLOSE, 3)
    r = state.round_agree(r, B, T0)
    r = state.round_agree(r, C, T0)
    assert r.status is ConsentStatus.OPEN  # still inside its days
    assert state.settle(r, CLOSE).status is ConsentStatus.ADOPTED


def test_a_round_without_enough_agreement_is_not_adopted():
    r = state.round_agree(state.open_round(A, CLOSE, 3), B, T0)
    assert state.settle(r, CLOSE).status is ConsentStatus.NOT_ADOPTED


def test_an_objection_keeps_it_open_past_its_time_until_lifted():
    r = state.round_agree(state.round_agree(state.open_round(A, CLOSE, 3), B, T0), C, T0)
    r = state.round_object(r, 4)
    assert state.settle(r, CLOSE + timedelta(days=30)).status is ConsentStatus.OPEN
    refused(state.ROUND_OBJECTION_OPEN, state.round_adopt, r)
    lifted = state.round_agree(r, 4, CLOSE + timedelta(days=30))
    assert lifted.status is ConsentStatus.ADOPTED
    assert state.round_agree(r, 4, T0).status is ConsentStatus.OPEN  # before the deadline: still open


def test_round_refusals():
    r = state.open_round(A, CLOSE, 3)
    refused(state.ROUND_PROPOSER, state.round_agree, r, A, T0)
    refused(state.ROUND_PROPOSER, state.round_object, r, A)
    r = state.round_agree(r, B, T0)
    refused(state.ROUND_ALREADY_AGREED, state.round_agree, r, B, T0)
    r = state.round_object(r, C)
    refused(state.ROUND_ALREADY_OBJECTED, state.round_object, r, C)
    assert B in state.round_object(r, B).objections  # changing one's mind is allowed
    closed = ConsentRound(ConsentStatus.ADOPTED, A, CLOSE, 3)
    for fn, args in ((state.round_agree, (B, T0)), (state.round_object, (B,)), (state.round_adopt, ())):
        refused(state.ROUND_CLOSED, fn, closed, *args)


def test_a_facilitator_adopts_early_only_without_objection():
    r = state.open_round(A, CLOSE, 3)
    assert state.round_adopt(r).status is ConsentStatus.ADOPTED
    refused(state.ROUND_OBJECTION_OPEN, state.round_adopt, state.round_object(r, B))


class RoundMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.r = state.open_round(A, CLOSE, 2)
        self.now = T0
        self.by_facilitator = False

    def step(self, fn, *args) -> None:
        try:
            self.r = fn(self.r, *args)
        except Refused:
            pass

    @rule(member=MEMBERS)
    def agree(self, member):
        self.step(state.round_agree, member, self.now)

    @rule(member=MEMBERS)
    def object(self, member):
        self.step(state.round_object, member)

    @rule()
    def adopt(self):
        before = self.r
        self.step(state.round_adopt)
        if self.r is not before:
            self.by_facilitator = True

    @rule(days=st.integers(0, 10))
    def time_passes(self, days):
        self.now += timedelta(days=days)
        self.r = state.settle(self.r, self.now)

    @invariant()
    def rules_hold(self):
        r = self.r
        assert not (r.agreed & r.objections)
        if r.status is ConsentStatus.ADOPTED:
            assert not r.objections
            assert self.by_facilitator or (len(r.agreed) >= r.min_agree and self.now >= r.closes_at)
        if r.status is ConsentStatus.NOT_ADOPTED:
            assert not r.objections and len(r.agreed) < r.min_agree and self.now >= r.closes_at
        if r.status is ConsentStatus.OPEN and self.now >= r.closes_at:
            assert r.objections  # only an objection keeps a round open past its time


TestRoundMachine = RoundMachine.TestCase
TestRoundMachine.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
