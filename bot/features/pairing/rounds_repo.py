"""Storage for pairing's rounds, pairs and check-ins (a part of `PairingRepo`, see `repo.py`).

Split out of `repo.py` only to keep each file readable; `PairingRepo` inherits these methods, so
callers use one repository. Check-in answers are encrypted here with the repository's cipher.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import Any

from bot.storage.communities import Reader
from bot.storage.crypto import FieldCipher
from bot.storage.db import Tx
from bot.storage.sql_dialect import POSTGRESQL, SQLITE

ANSWERS_PURPOSE = "pairing.checkin_answers"
# A pair's member ids as one "1,2" text per row: the two engines name the aggregate differently.
_MEMBER_IDS = {SQLITE: "group_concat(m.member_id)", POSTGRESQL: "string_agg(m.member_id::text, ',')"}


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class Round:
    id: int
    community_id: int
    number: int
    slot_key: str
    state: str
    starts_at: datetime
    midpoint_at: datetime
    ends_at: datetime
    heads_up_at: datetime | None
    mid_sent: bool


_ROUND = "id, community_id, number, slot_key, state, starts_at, midpoint_at, ends_at, heads_up_at, mid_sent"


def _round(row: Any) -> Round:
    return Round(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        datetime.fromisoformat(row[5]),
        datetime.fromisoformat(row[6]),
        datetime.fromisoformat(row[7]),
        _dt(row[8]),
        bool(row[9]),
    )


@dataclass(frozen=True)
class Pair:
    id: int
    round_id: int
    space_key: str
    size: int
    state: str  # active | ended | closed
    member_ids: tuple[int, ...]


@dataclass(frozen=True)
class Checkin:
    id: int
    community_id: int
    pair_id: int
    member_id: int
    kind: str  # mid | end
    step: int
    answers: list[dict[str, Any]]
    closed: bool
    opened_at: str = ""  # ISO time it was sent (which check-in is newest across features)


class RoundsRepo:
    _cipher: FieldCipher  # set by PairingRepo

    # -- rounds --------------------------------------------------------------------------------

    async def round_by_slot(self, db: Reader, slot_key: str) -> Round | None:
        row = await db.fetchone(f"SELECT {_ROUND} FROM pair_rounds WHERE slot_key = ?", (slot_key,))
        return None if row is None else _round(row)

    async def active_round(self, db: Reader, community_id: int) -> Round | None:
        row = await db.fetchone(
            f"SELECT {_ROUND} FROM pair_rounds WHERE community_id = ? AND state = 'active'"
            " ORDER BY number DESC LIMIT 1",
            (community_id,),
        )
        return None if row is None else _round(row)

    async def next_number(self, db: Reader, community_id: int) -> int:
        row = await db.fetchone(
            # A round that never ran gives its number back (see cancel_round): only numbers above
            # zero are taken.
            "SELECT COALESCE(MAX(number), 0) + 1 FROM pair_rounds WHERE community_id = ? AND number > 0",
            (community_id,),
        )
        return int(row[0]) if row is not None else 1

    async def cancel_round(
        self, tx: Tx, round_: Round, now: datetime, *, ran: bool, free_slot: bool
    ) -> None:
        """Cancel a round. One that never ran gives its number back (it becomes minus its id, so
        it stays unique), so the next round that does run takes it. `free_slot` renames its slot
        key so the scheduled start it stood for can still run; otherwise that start is skipped."""
        await tx.execute(
            "UPDATE pair_rounds SET state = 'cancelled', closed_at = ?, number = ?, slot_key = ?"
            " WHERE id = ?",
            (
                now.isoformat(),
                round_.number if ran else -round_.id,
                f"{round_.slot_key}:cancelled:{round_.id}" if free_slot else round_.slot_key,
                round_.id,
            ),
        )

    async def announced_rounds(self, db: Reader, community_id: int) -> list[Round]:
        rows = await db.fetchall(
            f"SELECT {_ROUND} FROM pair_rounds WHERE community_id = ? AND state = 'announced'"
            " ORDER BY starts_at",
            (community_id,),
        )
        return [_round(row) for row in rows]

    async def skipped_slots(self, db: Reader, community_id: int, after: datetime) -> frozenset[str]:
        """Slot keys of scheduled starts a facilitator cancelled before they ran."""
        rows = await db.fetchall(
            "SELECT slot_key, starts_at FROM pair_rounds WHERE community_id = ? AND state = 'cancelled'"
            " AND slot_key NOT LIKE '%:cancelled:%'",
            (community_id,),
        )
        # Compared as instants, not as text: starts are written with their own UTC offsets.
        return frozenset(row[0] for row in rows if datetime.fromisoformat(row[1]) >= after)

    async def create_round(
        self,
        tx: Tx,
        community_id: int,
        slot_key: str,
        state: str,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
        heads_up: bool,
    ) -> Round:
        number = await self.next_number(tx, community_id)
        midpoint = starts_at + (ends_at - starts_at) / 2
        await tx.execute(
            "INSERT INTO pair_rounds (community_id, number, slot_key, state, starts_at, midpoint_at, ends_at,"
            " heads_up_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                community_id,
                number,
                slot_key,
                state,
                starts_at.isoformat(),
                midpoint.isoformat(),
                ends_at.isoformat(),
                now.isoformat() if heads_up else None,
                now.isoformat(),
            ),
        )
        found = await self.round_by_slot(tx, slot_key)
        assert found is not None
        return found

    async def set_round_times(
        self, tx: Tx, round_id: int, starts_at: datetime, ends_at: datetime
    ) -> None:
        midpoint = starts_at + (ends_at - starts_at) / 2
        await tx.execute(
            "UPDATE pair_rounds SET starts_at = ?, midpoint_at = ?, ends_at = ? WHERE id = ?",
            (starts_at.isoformat(), midpoint.isoformat(), ends_at.isoformat(), round_id),
        )

    async def set_round_state(
        self, tx: Tx, round_id: int, state: str, now: datetime | None = None
    ) -> None:
        await tx.execute(
            "UPDATE pair_rounds SET state = ?, closed_at = COALESCE(?, closed_at) WHERE id = ?",
            (
                state,
                None if now is None or state not in ("closed", "cancelled") else now.isoformat(),
                round_id,
            ),
        )

    async def set_round_counts(self, tx: Tx, round_id: int, pairs: int, members: int) -> None:
        await tx.execute(
            "UPDATE pair_rounds SET pairs_made = ?, members_matched = ? WHERE id = ?",
            (pairs, members, round_id),
        )

    async def add_round_counts(self, tx: Tx, round_id: int, pairs: int, members: int) -> None:
        """For people placed during a running round."""
        await tx.execute(
            "UPDATE pair_rounds SET pairs_made = pairs_made + ?, members_matched = members_matched + ?"
            " WHERE id = ?",
            (pairs, members, round_id),
        )

    async def set_run_round(self, tx: Tx, round_id: int, run_round: int) -> None:
        await tx.execute("UPDATE pair_rounds SET run_round = ? WHERE id = ?", (run_round, round_id))

    async def previous_circles(
        self, db: Reader, community_id: int, before_number: int
    ) -> tuple[int, list[tuple[int, ...]]]:
        """The most recent round before `before_number` that grouped people: (its run_round, its
        groups as they stood at its end). A group someone stepped out of, or that someone late
        grew, counts as the group that carried on from it; a pair ended outright is gone."""
        row = await db.fetchone(
            "SELECT id, run_round FROM pair_rounds WHERE community_id = ? AND number > 0 AND number < ?"
            " AND pairs_made > 0 ORDER BY number DESC LIMIT 1",
            (community_id, before_number),
        )
        if row is None:
            return 0, []
        found = await self._pairs(
            db,
            "p.round_id = ? AND p.state != 'ended' AND p.id NOT IN"
            " (SELECT origin FROM pairs WHERE round_id = ? AND origin IS NOT NULL)",
            (row[0], row[0]),
        )
        return int(row[1]), [pair.member_ids for pair in found]

    async def set_mid_sent(self, tx: Tx, round_id: int) -> None:
        await tx.execute("UPDATE pair_rounds SET mid_sent = 1 WHERE id = ?", (round_id,))

    async def history(self, db: Reader, community_id: int) -> list[tuple[int, int, int]]:
        """(member, member, round number) for every two members who were in one group."""
        rows = await db.fetchall(
            "SELECT a.member_id, b.member_id, MAX(r.number) FROM pairs p"
            " JOIN pair_rounds r ON r.id = p.round_id"
            " JOIN pair_members a ON a.pair_id = p.id"
            " JOIN pair_members b ON b.pair_id = p.id AND a.member_id < b.member_id"
            " WHERE p.community_id = ? GROUP BY a.member_id, b.member_id",
            (community_id,),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def met_before(
        self, db: Reader, community_id: int, member_ids: tuple[int, ...], before_number: int
    ) -> tuple[int, frozenset[str]]:
        """For a group about to open: the fewest earlier rounds any two of them were grouped
        together in (what their opening question deepens with), and the opening questions any
        of them has had before (so a fresh one comes first)."""
        marks = ", ".join("?" for _ in member_ids)
        rows = await db.fetchall(
            "SELECT a.member_id, b.member_id, COUNT(DISTINCT r.id) FROM pairs p"
            " JOIN pair_rounds r ON r.id = p.round_id"
            " JOIN pair_members a ON a.pair_id = p.id"
            " JOIN pair_members b ON b.pair_id = p.id AND a.member_id < b.member_id"
            f" WHERE p.community_id = ? AND r.number < ? AND a.member_id IN ({marks})"
            f" AND b.member_id IN ({marks}) GROUP BY a.member_id, b.member_id",
            (community_id, before_number, *member_ids, *member_ids),
        )
        together = {frozenset((row[0], row[1])): row[2] for row in rows}
        pairs = [frozenset(two) for two in combinations(sorted(set(member_ids)), 2)]
        fewest = min((together.get(two, 0) for two in pairs), default=0)
        seen = await db.fetchall(
            "SELECT DISTINCT p.question_id FROM pairs p JOIN pair_members m ON m.pair_id = p.id"
            f" WHERE p.community_id = ? AND m.member_id IN ({marks}) AND p.question_id != ''",
            (community_id, *member_ids),
        )
        return fewest, frozenset(row[0] for row in seen)

    async def last_triad(self, db: Reader, community_id: int, before: int | None = None) -> list[int]:
        """Everyone in a group of three in the most recent round (before round number `before`)
        that had one, whether matched so or grown by someone placed late: "not in two triads in
        a row" holds for both."""
        row = await db.fetchone(
            "SELECT r.id FROM pairs p JOIN pair_rounds r ON r.id = p.round_id"
            " WHERE p.community_id = ? AND p.size = 3 AND r.number < ?"
            " ORDER BY r.number DESC LIMIT 1",
            (community_id, before if before is not None else 2**62),
        )
        if row is None:
            return []
        rows = await db.fetchall(
            "SELECT DISTINCT m.member_id FROM pair_members m JOIN pairs p ON p.id = m.pair_id"
            " WHERE p.round_id = ? AND p.size = 3 ORDER BY m.member_id",
            (row[0],),
        )
        return [r[0] for r in rows]

    async def purge_before(self, tx: Tx, community_id: int, before: datetime) -> int:
        """Retention: who-met-whom (and the check-ins of those pairs) of rounds that ended before
        `before` are deleted; the round rows stay as plain counts."""
        return await tx.execute(
            "DELETE FROM pairs WHERE community_id = ? AND round_id IN"
            " (SELECT id FROM pair_rounds WHERE community_id = ? AND ends_at < ?"
            " AND state IN ('closed', 'cancelled'))",
            (community_id, community_id, before.isoformat()),
        )

    # -- pairs ---------------------------------------------------------------------------------

    async def create_pair(
        self,
        tx: Tx,
        community_id: int,
        round_id: int,
        space_key: str,
        member_ids: tuple[int, ...],
        question_id: str,
        now: datetime,
        origin: int | None = None,
    ) -> int:
        pair_id = await tx.execute(
            "INSERT INTO pairs (community_id, round_id, space_key, size, state, question_id, origin, created_at)"
            " VALUES (?, ?, ?, ?, 'active', ?, ?, ?)",
            (
                community_id,
                round_id,
                space_key,
                len(member_ids),
                question_id,
                origin,
                now.isoformat(),
            ),
        )
        await tx.executemany(
            "INSERT INTO pair_members (pair_id, member_id) VALUES (?, ?)",
            [(pair_id, member_id) for member_id in member_ids],
        )
        return pair_id

    async def _pairs(self, db: Reader, where: str, params: tuple[Any, ...]) -> list[Pair]:
        rows = await db.fetchall(
            f"SELECT p.id, p.round_id, p.space_key, p.size, p.state, {_MEMBER_IDS[db.dialect.name]}"
            f" FROM pairs p JOIN pair_members m ON m.pair_id = p.id WHERE {where}"
            " GROUP BY p.id ORDER BY p.id",
            params,
        )
        return [
            Pair(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                tuple(sorted(int(x) for x in row[5].split(","))),
            )
            for row in rows
        ]

    async def pairs_of_round(
        self, db: Reader, round_id: int, state: str | None = None
    ) -> list[Pair]:
        if state is None:
            return await self._pairs(db, "p.round_id = ?", (round_id,))
        return await self._pairs(db, "p.round_id = ? AND p.state = ?", (round_id, state))

    async def active_pair_of(self, db: Reader, community_id: int, member_id: int) -> Pair | None:
        found = await self._pairs(
            db,
            "p.community_id = ? AND p.state = 'active' AND p.id IN"
            " (SELECT pair_id FROM pair_members WHERE member_id = ?)",
            (community_id, member_id),
        )
        return found[-1] if found else None

    async def pair_history(self, db: Reader, community_id: int, member_id: int) -> list[tuple[int, str, int]]:
        """(round number, round start, pair id) of every pair the member was in, oldest first."""
        rows = await db.fetchall(
            "SELECT r.number, r.starts_at, p.id FROM pairs p JOIN pair_rounds r ON r.id = p.round_id"
            " JOIN pair_members m ON m.pair_id = p.id WHERE m.member_id = ? AND p.community_id = ? ORDER BY p.id",
            (member_id, community_id),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def pair(self, db: Reader, pair_id: int) -> Pair | None:
        found = await self._pairs(db, "p.id = ?", (pair_id,))
        return found[0] if found else None

    async def set_pair_state(self, tx: Tx, pair_id: int, state: str, now: datetime) -> None:
        await tx.execute(
            "UPDATE pairs SET state = ?, ended_at = ? WHERE id = ?",
            (state, now.isoformat(), pair_id),
        )

    async def pair_count(self, db: Reader, round_id: int) -> int:
        row = await db.fetchone("SELECT COUNT(*) FROM pairs WHERE round_id = ?", (round_id,))
        return int(row[0]) if row is not None else 0

    async def round_of(self, db: Reader, round_id: int) -> Round | None:
        row = await db.fetchone(f"SELECT {_ROUND} FROM pair_rounds WHERE id = ?", (round_id,))
        return None if row is None else _round(row)

    # -- check-ins -----------------------------------------------------------------------------

    async def open_checkin(
        self, tx: Tx, community_id: int, pair_id: int, member_id: int, kind: str, now: datetime
    ) -> int | None:
        """Open a check-in (closing the member's older open ones); None if it already exists."""
        exists = await tx.fetchone(
            "SELECT 1 FROM pair_checkins WHERE pair_id = ? AND member_id = ? AND kind = ?",
            (pair_id, member_id, kind),
        )
        if exists is not None:
            return None
        await tx.execute(
            "UPDATE pair_checkins SET closed_at = ? WHERE member_id = ? AND closed_at IS NULL",
            (now.isoformat(), member_id),
        )
        return await tx.execute(
            "INSERT INTO pair_checkins (community_id, pair_id, member_id, kind, opened_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (community_id, pair_id, member_id, kind, now.isoformat()),
        )

    def _checkin(self, row: Any) -> Checkin:
        answers = json.loads(self._cipher.decrypt(row[6], ANSWERS_PURPOSE)) if row[6] else []
        return Checkin(
            row[0], row[1], row[2], row[3], row[4], row[5], answers, row[7] is not None, row[8]
        )

    _CHECKIN = "id, community_id, pair_id, member_id, kind, step, answers_enc, closed_at, opened_at"

    async def open_checkin_of(
        self, db: Reader, community_id: int, member_id: int
    ) -> Checkin | None:
        row = await db.fetchone(
            f"SELECT {self._CHECKIN} FROM pair_checkins WHERE community_id = ? AND member_id = ?"
            " AND closed_at IS NULL ORDER BY id LIMIT 1",
            (community_id, member_id),
        )
        return None if row is None else self._checkin(row)

    async def checkin_ids_of(self, db: Reader, community_id: int, member_id: int) -> list[int]:
        rows = await db.fetchall(
            "SELECT id FROM pair_checkins WHERE member_id = ? AND community_id = ? ORDER BY id",
            (member_id, community_id),
        )
        return [row[0] for row in rows]

    async def checkin(self, db: Reader, checkin_id: int) -> Checkin | None:
        row = await db.fetchone(
            f"SELECT {self._CHECKIN} FROM pair_checkins WHERE id = ?", (checkin_id,)
        )
        return None if row is None else self._checkin(row)

    async def save_checkin(
        self,
        tx: Tx,
        checkin_id: int,
        step: int,
        answers: list[dict[str, Any]],
        closed_at: datetime | None,
    ) -> None:
        answered = int(any(entry.get("answer") is not None for entry in answers))
        await tx.execute(
            "UPDATE pair_checkins SET step = ?, answers_enc = ?, answered = ?, closed_at = ? WHERE id = ?",
            (
                step,
                self._cipher.encrypt(json.dumps(answers), ANSWERS_PURPOSE),
                answered,
                None if closed_at is None else closed_at.isoformat(),
                checkin_id,
            ),
        )

    # -- stats (aggregates only) ---------------------------------------------------------------

    async def stats(self, db: Reader, community_id: int) -> dict[str, int]:
        members = await db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'paused' THEN 1 ELSE 0 END), 0)"
            " FROM pair_participants WHERE community_id = ?",
            (community_id,),
        )
        rounds = await db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(pairs_made), 0), COALESCE(SUM(members_matched), 0)"
            " FROM pair_rounds WHERE community_id = ? AND pairs_made > 0",
            (community_id,),
        )
        # How many different people the pairs were made of: the rounds' own counts add the
        # same person up once per round. Pairs kept for retention answer it; once they are
        # deleted, the rounds' sum is all there is.
        people = await db.fetchone(
            "SELECT COUNT(DISTINCT pm.member_id) FROM pairs p JOIN pair_members pm ON pm.pair_id = p.id"
            " WHERE p.community_id = ?",
            (community_id,),
        )
        checkins = await db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(answered), 0), COUNT(DISTINCT member_id) FROM pair_checkins"
            " WHERE community_id = ?",
            (community_id,),
        )
        assert members is not None and rounds is not None and checkins is not None and people is not None
        # int(): PostgreSQL's SUM of a BIGINT is NUMERIC (a Decimal in Python).
        return {
            "members": int(members[0]),
            "paused": int(members[1]),
            "rounds": int(rounds[0]),
            "pairs": int(rounds[1]),
            "members_matched": int(people[0] or rounds[2]),
            "checkins": int(checkins[0]),
            "checkins_answered": int(checkins[1]),
            "checkin_members": int(checkins[2]),
        }
