"""Storage for reflective questions: every SQL statement of the feature lives here.

Tables: question_schedules, question_postings, question_suggestions, community_questions.
A suggestion's text is stored encrypted while pending; callers pass and receive the ciphertext
(the feature holds the cipher), so this module never sees a member's words in the clear.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.communities import Reader
from bot.storage.db import Database, Tx
from bot.texts.catalog import Question


@dataclass(frozen=True)
class ScheduleRow:
    """A stored question schedule, its recurrence still as text."""

    channel: str
    recurrence: str
    timezone: str
    anchor: str
    paused: bool
    checked_until: datetime


@dataclass(frozen=True)
class PendingSuggestion:
    id: int
    member_id: int | None
    text_enc: bytes
    task: str | None


class QuestionsRepo:
    # -- schedules -----------------------------------------------------------------------------

    async def scheduled_communities(self, db: Reader) -> list[int]:
        rows = await db.fetchall("SELECT community_id FROM question_schedules ORDER BY id")
        return [row[0] for row in rows]

    async def schedule(self, db: Reader, community_id: int) -> ScheduleRow | None:
        row = await db.fetchone(
            "SELECT channel, recurrence, timezone, anchor, paused, checked_until"
            " FROM question_schedules WHERE community_id = ?",
            (community_id,),
        )
        if row is None:
            return None
        return ScheduleRow(row[0], row[1], row[2], row[3], bool(row[4]), datetime.fromisoformat(row[5]))

    async def set_checked(self, db: Database | Tx, community_id: int, until: datetime) -> None:
        await db.execute(
            "UPDATE question_schedules SET checked_until = ? WHERE community_id = ?",
            (until.isoformat(), community_id),
        )

    async def replace_schedule(
        self,
        tx: Tx,
        community_id: int,
        channel: str,
        recurrence: str,
        timezone: str,
        anchor: str,
        now: datetime,
    ) -> None:
        await tx.execute("DELETE FROM question_schedules WHERE community_id = ?", (community_id,))
        await tx.execute(
            "INSERT INTO question_schedules (community_id, channel, recurrence, timezone, anchor,"
            " paused, checked_until, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            (community_id, channel, recurrence, timezone, anchor, now.isoformat(), now.isoformat()),
        )

    async def set_paused(self, tx: Tx, community_id: int, paused: bool, now: datetime) -> None:
        await tx.execute(
            "UPDATE question_schedules SET paused = ?, checked_until = ? WHERE community_id = ?",
            (int(paused), now.isoformat(), community_id),
        )

    # -- postings ------------------------------------------------------------------------------

    async def last_scheduled_slot(self, db: Reader, community_id: int) -> str | None:
        """The greatest slot key posted by the schedule (manual posts left out)."""
        row = await db.fetchone(
            "SELECT MAX(slot_key) FROM question_postings WHERE community_id = ? AND slot_key NOT LIKE ?",
            (community_id, "%:manual:%"),
        )
        return row[0]

    async def current_cycle(self, db: Reader, community_id: int) -> tuple[int | None, frozenset[str]]:
        """(the latest cycle or None, the question ids asked in it)."""
        rows = await db.fetchall(
            "SELECT cycle, prompt_id FROM question_postings WHERE community_id = ?1 AND cycle ="
            " (SELECT MAX(cycle) FROM question_postings WHERE community_id = ?1)",
            (community_id,),
        )
        return (rows[0][0] if rows else None), frozenset(row[1] for row in rows)

    async def claim_slot(
        self,
        tx: Tx,
        community_id: int,
        slot_key: str,
        question_id: str,
        cycle: int,
        channel: str,
        now: datetime,
    ) -> int:
        """The new posting's id, or 0 when the slot was already claimed."""
        return await tx.execute(
            "INSERT INTO question_postings"
            " (community_id, slot_key, prompt_id, cycle, channel, posted_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (community_id, slot_key, question_id, cycle, channel, now.isoformat()),
        )

    async def posting_count(self, db: Reader, community_id: int) -> int:
        row = await db.fetchone("SELECT COUNT(*) FROM question_postings WHERE community_id = ?", (community_id,))
        return row[0]

    async def asked_in_cycle(self, db: Reader, community_id: int, cycle: int) -> int:
        row = await db.fetchone(
            "SELECT COUNT(DISTINCT prompt_id) FROM question_postings WHERE community_id = ? AND cycle = ?",
            (community_id, cycle),
        )
        return row[0]

    # -- the community's own questions ---------------------------------------------------------

    async def community_questions(self, db: Reader, community_id: int) -> list[Question]:
        rows = await db.fetchall(
            "SELECT id, text, tasks, audience, depth FROM community_questions WHERE community_id = ?"
            " ORDER BY created_at, id",
            (community_id,),
        )
        return [Question(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4]) for r in rows]

    async def add_community_question(
        self, tx: Tx, question_id: str, community_id: int, text: str, task: str, now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO community_questions (id, community_id, text, tasks, audience, depth, created_at)"
            " VALUES (?, ?, ?, ?, 'group', 'medium', ?)",
            (question_id, community_id, text, json.dumps([task]), now.isoformat()),
        )

    # -- suggestions ---------------------------------------------------------------------------

    async def pending_count_of(self, db: Reader, member_id: int) -> int:
        row = await db.fetchone(
            "SELECT COUNT(*) FROM question_suggestions WHERE member_id = ? AND status = 'pending'",
            (member_id,),
        )
        return row[0]

    async def add_suggestion(
        self, tx: Tx, community_id: int, member_id: int, text_enc: bytes, task: str | None, now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO question_suggestions (community_id, member_id, text_enc, status, task,"
            " created_at) VALUES (?, ?, ?, 'pending', ?, ?)",
            (community_id, member_id, text_enc, task, now.isoformat()),
        )

    async def pending(self, db: Reader, community_id: int) -> list[PendingSuggestion]:
        rows = await db.fetchall(
            "SELECT id, member_id, text_enc, task FROM question_suggestions"
            " WHERE community_id = ? AND status = 'pending' ORDER BY id",
            (community_id,),
        )
        return [PendingSuggestion(*row) for row in rows]

    async def pending_one(self, db: Reader, community_id: int, suggestion_id: int) -> PendingSuggestion | None:
        row = await db.fetchone(
            "SELECT id, member_id, text_enc, task FROM question_suggestions"
            " WHERE id = ? AND community_id = ? AND status = 'pending'",
            (suggestion_id, community_id),
        )
        return None if row is None else PendingSuggestion(*row)

    async def mark_approved(self, tx: Tx, suggestion_id: int, question_id: str, now: datetime) -> None:
        await tx.execute(
            "UPDATE question_suggestions SET status = 'approved', text_enc = NULL, question_id = ?,"
            " decided_at = ? WHERE id = ?",
            (question_id, now.isoformat(), suggestion_id),
        )

    async def mark_declined(self, tx: Tx, suggestion_id: int, now: datetime) -> None:
        await tx.execute(
            "UPDATE question_suggestions SET status = 'declined', text_enc = NULL, decided_at = ?"
            " WHERE id = ?",
            (now.isoformat(), suggestion_id),
        )

    # -- one member's suggestions (mydata export and forget, retention) ------------------------

    async def suggestions_of(self, db: Reader, member_id: int) -> list[tuple[Any, ...]]:
        """(id, text_enc, status, question_id, created_at, decided_at) of the member's suggestions."""
        rows = await db.fetchall(
            "SELECT id, text_enc, status, question_id, created_at, decided_at FROM question_suggestions"
            " WHERE member_id = ? ORDER BY id",
            (member_id,),
        )
        return [tuple(row) for row in rows]

    async def published_text(self, db: Reader, question_id: str) -> str | None:
        row = await db.fetchone("SELECT text FROM community_questions WHERE id = ?", (question_id,))
        return row[0] if row else None

    async def forget_suggestions(self, tx: Tx, member_id: int) -> None:
        """Pending and declined suggestions go; an approved one is a published question and
        stays, unattributed."""
        await tx.execute(
            "DELETE FROM question_suggestions WHERE member_id = ? AND status != 'approved'", (member_id,)
        )
        await tx.execute("UPDATE question_suggestions SET member_id = NULL WHERE member_id = ?", (member_id,))

    async def purge_declined(self, tx: Tx, before: datetime) -> int:
        return await tx.execute(
            "DELETE FROM question_suggestions WHERE status = 'declined' AND decided_at < ?",
            (before.isoformat(),),
        )
