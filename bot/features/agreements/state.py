"""The pure state machines behind agreements: no storage, no clock, no words.

A pair agreement moves draft -> proposed -> (amended -> proposed)* -> agreed -> revisiting ->
agreed again, and any party may withdraw from any state. The feature loads a `PairState` from
storage, asks a transition here whether the step is allowed, and stores what comes back; a refused
step raises `Refused(reason)` and the feature turns the reason into a kind message.

Rules that live here (and are tested exhaustively):
* only joined parties act; anyone else (facilitators included) is refused exactly as for an
  agreement that does not exist (`NO_SUCH`);
* `agreed` only when every party accepted the same proposed version (its content hash);
* the version in force never changes while revisiting, only when a new version is agreed;
* withdrawal is always possible for a party of an agreement that is not already withdrawn.

A space-agreement change is decided by a consent round (`ConsentRound`): open for N days, adopted when
nobody objects and at least K members agreed; an open objection keeps it open; a facilitator may
adopt early only while no objection is open.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    PROPOSED = "proposed"
    AGREED = "agreed"
    REVISITING = "revisiting"
    WITHDRAWN = "withdrawn"


# Reasons a step is refused (each maps to a message key `agreement.refused_<reason>`).
NO_SUCH = "no_such"
WITHDRAWN = "withdrawn"
IS_AGREED = "is_agreed"
WAITING_FOR_INVITEES = "waiting_for_invitees"
EMPTY = "empty"
ALREADY_PROPOSED = "already_proposed"
NOTHING_TO_ACCEPT = "nothing_to_accept"
STALE = "stale"
ALREADY_ACCEPTED = "already_accepted"
PROPOSER_ACCEPTED = "proposer_accepted"
NOT_AGREED_YET = "not_agreed_yet"
ALREADY_REVISITING = "already_revisiting"
NO_CHANGE = "no_change"


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PairState:
    status: Status
    parties: frozenset[int]  # members who joined (the starter joins at once)
    invited: frozenset[int] = frozenset()  # asked, not answered yet
    proposal: str | None = None  # content hash of the version out for acceptance
    proposer: int | None = None  # who made that version (their proposal is their acceptance)
    accepted: frozenset[int] = frozenset()  # who accepted `proposal`
    in_force: str | None = None  # content hash of the last agreed version

    @property
    def editable(self) -> bool:
        return self.status in (Status.DRAFT, Status.PROPOSED, Status.REVISITING)


def _party(state: PairState | None, member: int) -> PairState:
    """The state, if `member` is a party; otherwise the same refusal as for no agreement."""
    if state is None or member not in state.parties:
        raise Refused(NO_SUCH)
    return state


def _open(state: PairState | None, member: int) -> PairState:
    state = _party(state, member)
    if state.status is Status.WITHDRAWN:
        raise Refused(WITHDRAWN)
    return state


def start(starter: int, invitees: frozenset[int]) -> PairState:
    if starter in invitees or not invitees or len(invitees) > 2:
        raise ValueError("an agreement is between the starter and one or two others")
    return PairState(Status.DRAFT, frozenset({starter}), frozenset(invitees))


def join(state: PairState | None, member: int) -> PairState:
    if state is None or member not in state.invited:
        raise Refused(NO_SUCH)
    if state.status is Status.WITHDRAWN:
        raise Refused(WITHDRAWN)
    return replace(state, parties=state.parties | {member}, invited=state.invited - {member})


def decline(state: PairState | None, member: int) -> PairState:
    """An invited member says no. With nobody left to negotiate with, the draft closes."""
    if state is None or member not in state.invited:
        raise Refused(NO_SUCH)
    if state.status is Status.WITHDRAWN:
        raise Refused(WITHDRAWN)
    left = replace(state, invited=state.invited - {member})
    if len(left.parties) + len(left.invited) < 2:
        return replace(left, status=Status.WITHDRAWN, proposal=None, proposer=None, accepted=frozenset())
    return left


def change(state: PairState | None, member: int, before: str, after: str) -> PairState:
    """A party changed the working copy (hash `before` -> `after`). With a version out for
    acceptance, the change is an amendment: it becomes the new proposal, accepted by its author."""
    state = _open(state, member)
    if state.status is Status.AGREED:
        raise Refused(IS_AGREED)
    if before == after:
        raise Refused(NO_CHANGE)
    if state.proposal is None:
        return state
    return replace(state, proposal=after, proposer=member, accepted=frozenset({member}))


def propose(state: PairState | None, member: int, content: str, empty: bool) -> PairState:
    state = _open(state, member)
    if state.status is Status.AGREED:
        raise Refused(IS_AGREED)
    if state.invited:
        raise Refused(WAITING_FOR_INVITEES)
    if state.proposal is not None:
        raise Refused(ALREADY_PROPOSED)
    if empty:
        raise Refused(EMPTY)
    status = Status.REVISITING if state.status is Status.REVISITING else Status.PROPOSED
    return replace(state, status=status, proposal=content, proposer=member, accepted=frozenset({member}))


def accept(state: PairState | None, member: int, seen: str | None = None) -> PairState:
    """Accept the version out for acceptance (`seen`: the hash the member was shown, if known)."""
    state = _open(state, member)
    if state.proposal is None:
        raise Refused(IS_AGREED if state.status is Status.AGREED else NOTHING_TO_ACCEPT)
    if seen is not None and seen != state.proposal:
        raise Refused(STALE)
    if member in state.accepted:
        raise Refused(PROPOSER_ACCEPTED if member == state.proposer else ALREADY_ACCEPTED)
    accepted = state.accepted | {member}
    if accepted == state.parties:
        return replace(
            state,
            status=Status.AGREED,
            in_force=state.proposal,
            proposal=None,
            proposer=None,
            accepted=frozenset(),
        )
    return replace(state, accepted=accepted)


def revisit(state: PairState | None, member: int) -> PairState:
    state = _open(state, member)
    if state.status is Status.REVISITING:
        raise Refused(ALREADY_REVISITING)
    if state.status is not Status.AGREED:
        raise Refused(NOT_AGREED_YET)
    return replace(state, status=Status.REVISITING)


def withdraw(state: PairState | None, member: int) -> PairState:
    state = _open(state, member)
    return replace(state, status=Status.WITHDRAWN, proposal=None, proposer=None, accepted=frozenset())


# -- the space agreement's consent rounds -------------------------------------------------------


class ConsentStatus(StrEnum):
    OPEN = "open"
    ADOPTED = "adopted"
    NOT_ADOPTED = "not_adopted"
    WITHDRAWN = "withdrawn"  # by its proposer, while open


ROUND_CLOSED = "closed"
ROUND_PROPOSER = "proposer"
ROUND_ALREADY_AGREED = "already_agreed"
ROUND_ALREADY_OBJECTED = "already_objected"
ROUND_OBJECTION_OPEN = "objection_open"


@dataclass(frozen=True)
class ConsentRound:
    status: ConsentStatus
    proposer: int | None
    closes_at: datetime
    min_agree: int
    agreed: frozenset[int] = frozenset()  # the proposer's proposal counts as agreeing
    objections: frozenset[int] = frozenset()


def open_round(proposer: int, closes_at: datetime, min_agree: int) -> ConsentRound:
    return ConsentRound(ConsentStatus.OPEN, proposer, closes_at, min_agree, frozenset({proposer}))


def settle(round_: ConsentRound, now: datetime) -> ConsentRound:
    """After the deadline a round with no open objection is decided; an objection keeps it open."""
    if round_.status is not ConsentStatus.OPEN or now < round_.closes_at or round_.objections:
        return round_
    adopted = len(round_.agreed) >= round_.min_agree
    return replace(round_, status=ConsentStatus.ADOPTED if adopted else ConsentStatus.NOT_ADOPTED)


def round_agree(round_: ConsentRound, member: int, now: datetime) -> ConsentRound:
    """Agree (withdrawing an objection if the member had one)."""
    if round_.status is not ConsentStatus.OPEN:
        raise Refused(ROUND_CLOSED)
    if member in round_.agreed:
        raise Refused(ROUND_PROPOSER if member == round_.proposer else ROUND_ALREADY_AGREED)
    return settle(
        replace(round_, agreed=round_.agreed | {member}, objections=round_.objections - {member}), now
    )


def round_object(round_: ConsentRound, member: int) -> ConsentRound:
    if round_.status is not ConsentStatus.OPEN:
        raise Refused(ROUND_CLOSED)
    if member == round_.proposer:
        raise Refused(ROUND_PROPOSER)
    if member in round_.objections:
        raise Refused(ROUND_ALREADY_OBJECTED)
    return replace(round_, agreed=round_.agreed - {member}, objections=round_.objections | {member})


def round_adopt(round_: ConsentRound) -> ConsentRound:
    """A facilitator adopts a change before its deadline: only with no objection open."""
    if round_.status is not ConsentStatus.OPEN:
        raise Refused(ROUND_CLOSED)
    if round_.objections:
        raise Refused(ROUND_OBJECTION_OPEN)
    return replace(round_, status=ConsentStatus.ADOPTED)
