"""Storage for pairing: every SQL statement of the feature lives here and in `rounds_repo.py`
(rounds, pairs and check-ins), whose methods `PairingRepo` inherits.

Check-in answers are sensitive, so they are stored encrypted; this module takes and returns them
in the clear and does the encryption itself. A not-with entry holds a keyed hash of the other
person's identity, so it names nobody in readable form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Preferences and meet-again wishes (issue 17), and rounds, pairs and check-ins, are stored by
# the other parts of the repository.
from bot.features.pairing.preferences_repo import PreferencesRepo
from bot.features.pairing.rounds_repo import ANSWERS_PURPOSE, Checkin, Pair, Round, RoundsRepo  # noqa: F401
from bot.storage.blinding import IdentityBlinder
from bot.storage.communities import Reader
from bot.storage.crypto import FieldCipher
from bot.storage.db import Tx

NOT_WITH_PURPOSE = "pairing.not_with"  # entries made before migration 0008 only
NOT_WITH_HASH_PURPOSE = "pairing.not_with.identity"  # the keyed hash's label


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class Participant:
    id: int
    member_id: int
    status: str  # active | paused
    paused_until: datetime | None
    consent_version: str
    joined_at: datetime
    last_active_at: datetime
    silent_rounds: int
    asked_at: datetime | None

    @property
    def paused(self) -> bool:
        return self.status == "paused"


_PARTICIPANT = (
    "id, member_id, status, paused_until, consent_version, joined_at, last_active_at,"
    " silent_rounds, asked_at"
)


def _participant(row: Any) -> Participant:
    return Participant(
        row[0],
        row[1],
        row[2],
        _dt(row[3]),
        row[4],
        datetime.fromisoformat(row[5]),
        datetime.fromisoformat(row[6]),
        row[7],
        _dt(row[8]),
    )


@dataclass(frozen=True)
class ScheduleRow:
    community_id: int
    prefix: str
    channel: str
    recurrence: str | None
    timezone: str | None
    anchor: str | None
    not_before: datetime | None
    checked_until: datetime | None


class PairingRepo(RoundsRepo, PreferencesRepo):
    def __init__(self, cipher: FieldCipher) -> None:
        self._cipher = cipher

    # -- per-community settings ----------------------------------------------------------------

    async def schedule(self, db: Reader, community_id: int) -> ScheduleRow | None:
        row = await db.fetchone(
            "SELECT community_id, prefix, channel, recurrence, timezone, anchor, not_before,"
            " checked_until FROM pair_communities WHERE community_id = ?",
            (community_id,),
        )
        if row is None:
            return None
        return ScheduleRow(row[0], row[1], row[2], row[3], row[4], row[5], _dt(row[6]), _dt(row[7]))

    async def scheduled_communities(self, db: Reader) -> list[int]:
        rows = await db.fetchall("SELECT community_id FROM pair_communities ORDER BY community_id")
        return [row[0] for row in rows]

    async def remember_prefix(self, tx: Tx, community_id: int, prefix: str, now: datetime) -> None:
        await tx.execute(
            "INSERT INTO pair_communities (community_id, prefix, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (community_id) DO UPDATE SET prefix = excluded.prefix"
            " WHERE pair_communities.prefix != excluded.prefix",
            (community_id, prefix, now.isoformat()),
        )

    async def set_schedule(
        self,
        tx: Tx,
        community_id: int,
        *,
        channel: str,
        recurrence: str,
        timezone: str,
        anchor: str,
        not_before: datetime,
        now: datetime,
    ) -> None:
        await tx.execute(
            "UPDATE pair_communities SET channel = ?, recurrence = ?, timezone = ?, anchor = ?,"
            " not_before = ?, checked_until = ?, updated_at = ? WHERE community_id = ?",
            (
                channel,
                recurrence,
                timezone,
                anchor,
                not_before.isoformat(),
                now.isoformat(),
                now.isoformat(),
                community_id,
            ),
        )

    async def set_not_before(self, tx: Tx, community_id: int, not_before: datetime) -> None:
        await tx.execute(
            "UPDATE pair_communities SET not_before = ? WHERE community_id = ?",
            (not_before.isoformat(), community_id),
        )

    async def set_checked(self, tx: Tx, community_id: int, until: datetime) -> None:
        await tx.execute(
            "UPDATE pair_communities SET checked_until = ? WHERE community_id = ?",
            (until.isoformat(), community_id),
        )

    # -- participants and consent --------------------------------------------------------------

    async def participant(
        self, db: Reader, community_id: int, member_id: int
    ) -> Participant | None:
        row = await db.fetchone(
            f"SELECT {_PARTICIPANT} FROM pair_participants WHERE community_id = ? AND member_id = ?",
            (community_id, member_id),
        )
        return None if row is None else _participant(row)

    async def participants(self, db: Reader, community_id: int) -> list[Participant]:
        rows = await db.fetchall(
            f"SELECT {_PARTICIPANT} FROM pair_participants WHERE community_id = ? ORDER BY member_id",
            (community_id,),
        )
        return [_participant(row) for row in rows]

    async def add_participant(
        self, tx: Tx, community_id: int, member_id: int, version: str, now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO pair_participants (community_id, member_id, status, consent_version, joined_at,"
            " last_active_at) VALUES (?, ?, 'active', ?, ?, ?)",
            (community_id, member_id, version, now.isoformat(), now.isoformat()),
        )
        await self.record_consent(tx, community_id, member_id, version, now)

    async def record_consent(
        self, tx: Tx, community_id: int, member_id: int, version: str, now: datetime
    ) -> None:
        await tx.execute(
            "UPDATE pair_consents SET withdrawn_at = ? WHERE member_id = ? AND feature = 'pairing'"
            " AND withdrawn_at IS NULL",
            (now.isoformat(), member_id),
        )
        await tx.execute(
            "INSERT INTO pair_consents (community_id, member_id, feature, text_version, given_at)"
            " VALUES (?, ?, 'pairing', ?, ?)",
            (community_id, member_id, version, now.isoformat()),
        )
        await tx.execute(
            "UPDATE pair_participants SET consent_version = ? WHERE community_id = ? AND member_id = ?",
            (version, community_id, member_id),
        )

    async def withdraw_consent(self, tx: Tx, member_id: int, now: datetime) -> None:
        await tx.execute(
            "UPDATE pair_consents SET withdrawn_at = ? WHERE member_id = ? AND feature = 'pairing'"
            " AND withdrawn_at IS NULL",
            (now.isoformat(), member_id),
        )

    async def remove_participant(self, tx: Tx, community_id: int, member_id: int) -> None:
        """`pair leave`: the participant row (choices), their preferences, their meet-again
        wishes and their not-with list go; their check-in answers go too (their own words, not
        needed to avoid repeats)."""
        await self.forget_preferences(tx, community_id, member_id)
        await tx.execute(
            "DELETE FROM pair_participants WHERE community_id = ? AND member_id = ?",
            (community_id, member_id),
        )
        await tx.execute(
            "DELETE FROM pair_not_with WHERE community_id = ? AND member_id = ?",
            (community_id, member_id),
        )
        await tx.execute(
            "DELETE FROM pair_checkins WHERE community_id = ? AND member_id = ?",
            (community_id, member_id),
        )

    async def set_paused(self, tx: Tx, participant_id: int, until: datetime | None) -> None:
        await tx.execute(
            "UPDATE pair_participants SET status = 'paused', paused_until = ?, silent_rounds = 0,"
            " asked_at = NULL WHERE id = ?",
            (None if until is None else until.isoformat(), participant_id),
        )

    async def set_active(self, tx: Tx, participant_id: int) -> None:
        await tx.execute(
            "UPDATE pair_participants SET status = 'active', paused_until = NULL WHERE id = ?",
            (participant_id,),
        )

    async def touch(self, tx: Tx, community_id: int, member_id: int, now: datetime) -> None:
        """The member did something: they are not silent, and any stay-or-pause question is answered."""
        await tx.execute(
            "UPDATE pair_participants SET last_active_at = ?, silent_rounds = 0, asked_at = NULL"
            " WHERE community_id = ? AND member_id = ?",
            (now.isoformat(), community_id, member_id),
        )

    async def set_silence(
        self, tx: Tx, participant_id: int, rounds: int, asked_at: datetime | None
    ) -> None:
        await tx.execute(
            "UPDATE pair_participants SET silent_rounds = ?, asked_at = ? WHERE id = ?",
            (rounds, None if asked_at is None else asked_at.isoformat(), participant_id),
        )

    async def pauses_ending(
        self, db: Reader, community_id: int, until: datetime
    ) -> list[Participant]:
        rows = await db.fetchall(
            f"SELECT {_PARTICIPANT} FROM pair_participants WHERE community_id = ? AND status = 'paused'"
            " AND paused_until IS NOT NULL AND paused_until <= ? ORDER BY paused_until, member_id",
            (community_id, until.isoformat()),
        )
        return [_participant(row) for row in rows]

    async def next_pause_end(self, db: Reader, community_id: int) -> datetime | None:
        row = await db.fetchone(
            "SELECT MIN(paused_until) FROM pair_participants WHERE community_id = ? AND status = 'paused'"
            " AND paused_until IS NOT NULL",
            (community_id,),
        )
        return _dt(row[0]) if row is not None else None

    # -- not-with lists ------------------------------------------------------------------------
    # An entry holds a keyed hash of the other person's identity in the community (see
    # bot/storage/blinding.py), never a member row id: it keeps working after they erase their
    # data and come back, and it can never land on someone else.

    async def blinder(self, tx: Tx, now: datetime) -> IdentityBlinder:
        return await IdentityBlinder.open(tx, self._cipher, NOT_WITH_HASH_PURPOSE, now)

    async def not_with_of(
        self, tx: Tx, community_id: int, member_id: int, now: datetime
    ) -> list[tuple[int, str]]:
        """(entry id, other person's hash) for one member's list."""
        await self._convert_legacy(tx, community_id, now)
        rows = await tx.fetchall(
            "SELECT id, other_hash FROM pair_not_with WHERE community_id = ? AND member_id = ?"
            " ORDER BY id",
            (community_id, member_id),
        )
        return [(row[0], row[1]) for row in rows]

    async def not_with_count(self, db: Reader, community_id: int, member_id: int) -> int:
        row = await db.fetchone(
            "SELECT COUNT(*) FROM pair_not_with WHERE community_id = ? AND member_id = ?",
            (community_id, member_id),
        )
        return int(row[0]) if row is not None else 0

    async def add_not_with(
        self, tx: Tx, community_id: int, member_id: int, other_hash: str, now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO pair_not_with (community_id, member_id, other_hash, created_at)"
            " VALUES (?, ?, ?, ?)",
            (community_id, member_id, other_hash, now.isoformat()),
        )

    async def remove_not_with(self, tx: Tx, entry_id: int) -> None:
        await tx.execute("DELETE FROM pair_not_with WHERE id = ?", (entry_id,))

    async def all_not_with(self, tx: Tx, community_id: int, now: datetime) -> list[tuple[int, str]]:
        """(member who made the entry, other person's hash) for the whole community."""
        await self._convert_legacy(tx, community_id, now)
        rows = await tx.fetchall(
            "SELECT member_id, other_hash FROM pair_not_with WHERE community_id = ?",
            (community_id,),
        )
        return [(row[0], row[1]) for row in rows]

    async def _convert_legacy(self, tx: Tx, community_id: int, now: datetime) -> None:
        """Entries made before migration 0008 name a member row id (encrypted). Each becomes a
        hash of that member's identity, if the row is still theirs: a member row created after
        the entry is a newcomer who was given an erased member's id, and the person the entry
        meant is gone beyond recognition, so the entry is dropped rather than block a stranger."""
        rows = await tx.fetchall(
            "SELECT id, other_enc, created_at FROM pair_not_with"
            " WHERE community_id = ? AND other_hash IS NULL",
            (community_id,),
        )
        if not rows:
            return
        blind = await self.blinder(tx, now)
        for entry_id, other_enc, created_at in rows:
            other_id = int(self._cipher.decrypt(other_enc, NOT_WITH_PURPOSE))
            member = await tx.fetchone(
                "SELECT platform_user_id, created_at FROM members WHERE id = ? AND community_id = ?",
                (other_id, community_id),
            )
            if member is None or datetime.fromisoformat(member[1]) > datetime.fromisoformat(created_at):
                await tx.execute("DELETE FROM pair_not_with WHERE id = ?", (entry_id,))
                continue
            await tx.execute(
                "UPDATE pair_not_with SET other_hash = ?, other_enc = NULL WHERE id = ?",
                (blind(community_id, member[0]), entry_id),
            )

    async def community_ids(self, db: Reader) -> list[int]:
        """Every community's id (the retention purge walks them all)."""
        rows = await db.fetchall("SELECT id FROM communities")
        return [row[0] for row in rows]

    # -- one member's records (mydata export and forget) ---------------------------------------

    async def member_labels(self, db: Reader, community_id: int) -> list[tuple[int, str, str | None, str, str]]:
        """(member id, platform user id, display name, chosen language, client language) of
        every known member of the community."""
        rows = await db.fetchall(
            "SELECT id, platform_user_id, display_name, language, client_language FROM members"
            " WHERE community_id = ?",
            (community_id,),
        )
        return [(row[0], row[1], row[2], row[3], row[4]) for row in rows]

    async def consents_of(self, db: Reader, member_id: int) -> list[tuple[str, str, str | None]]:
        """(text version, given at, withdrawn at) of each consent the member gave, oldest first."""
        rows = await db.fetchall(
            "SELECT text_version, given_at, withdrawn_at FROM pair_consents WHERE member_id = ? ORDER BY id",
            (member_id,),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def forget_records(self, tx: Tx, community_id: int, member_id: int) -> None:
        """Delete the member's consent records and pair memberships in this community."""
        await tx.execute("DELETE FROM pair_consents WHERE member_id = ?", (member_id,))
        await tx.execute(
            "DELETE FROM pair_members WHERE member_id = ? AND pair_id IN (SELECT id FROM pairs WHERE community_id = ?)",
            (member_id, community_id),
        )
