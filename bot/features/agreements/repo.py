"""Storage for pair agreements (every word encrypted): SQL lives here; decisions live in
`state.py` and the feature modules, the content document's rules in `content.py`, and the space
agreement's storage in `space_repo.py`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.features.agreements.content import content_hash, empty_content, normalised
from bot.features.agreements.state import PairState, Status
from bot.ids import IdSource, SecretIds
from bot.storage.communities import Reader
from bot.storage.crypto import FieldCipher
from bot.storage.db import Tx

DRAFT_PURPOSE = "agreement.draft"
VERSION_PURPOSE = "agreement.version"

# Crockford's base32 without I, L, O, U: ids are easy to read aloud and never spell a section name.
ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 5


# -- pair agreements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    member_id: int
    joined: bool
    position: int
    prompted: bool


@dataclass(frozen=True)
class AgreementRow:
    id: int
    community_id: int
    short_id: str
    status: Status
    started_by: int | None
    draft: dict[str, Any]
    proposal_version: int | None
    proposal_hash: str | None
    proposed_by: int | None
    in_force_version: int | None
    in_force_hash: str | None
    review_date: str | None
    created_at: str
    withdrawn_at: str | None
    purge_after: str | None
    parties: tuple[Party, ...]
    accepted: frozenset[int]

    @property
    def joined(self) -> frozenset[int]:
        return frozenset(p.member_id for p in self.parties if p.joined)

    @property
    def invited(self) -> frozenset[int]:
        return frozenset(p.member_id for p in self.parties if not p.joined)

    @property
    def ordered_ids(self) -> list[int]:
        return [p.member_id for p in sorted(self.parties, key=lambda p: p.position)]

    @property
    def ordered_joined(self) -> list[int]:
        return [p.member_id for p in sorted(self.parties, key=lambda p: p.position) if p.joined]

    def state(self) -> PairState:
        return PairState(
            status=self.status,
            parties=self.joined,
            invited=self.invited,
            proposal=self.proposal_hash,
            proposer=self.proposed_by,
            accepted=self.accepted,
            in_force=self.in_force_hash,
        )

    def draft_hash(self) -> str:
        return content_hash(self.draft, self.joined)


_AGREEMENT_COLUMNS = (
    "id, community_id, short_id, status, started_by, draft_enc, proposal_version, proposal_hash,"
    " proposed_by, in_force_version, in_force_hash, review_date, created_at, withdrawn_at, purge_after"
)


@dataclass(frozen=True)
class Version:
    number: int
    hash: str
    content: dict[str, Any]
    created_by: int | None
    created_at: str


@dataclass(frozen=True)
class Event:
    at: str
    member_id: int | None
    kind: str
    version: int | None
    detail: dict[str, Any]


def normalise_short_id(token: str) -> str | None:
    """"#k7m2q" -> "K7M2Q"; None if it cannot be an agreement id."""
    text = token.strip().removeprefix("#").upper()
    if len(text) != ID_LENGTH or any(ch not in ID_ALPHABET for ch in text):
        return None
    return text


class AgreementRepo:
    def __init__(self, cipher: FieldCipher, ids: IdSource | None = None) -> None:
        self._cipher = cipher
        # Unguessable on real platforms; seeded in the console so transcripts repeat.
        self._ids: IdSource = ids or SecretIds()

    # reading --------------------------------------------------------------------------------

    async def _row(self, db: Reader, row: Any) -> AgreementRow | None:
        if row is None:
            return None
        parties = await db.fetchall(
            "SELECT member_id, status, position, prompted FROM agreement_parties WHERE agreement_id = ?"
            " ORDER BY position",
            (row[0],),
        )
        accepted: frozenset[int] = frozenset()
        if row[6] is not None:
            rows = await db.fetchall(
                "SELECT member_id FROM agreement_acceptances WHERE agreement_id = ? AND version = ?",
                (row[0], row[6]),
            )
            accepted = frozenset(r[0] for r in rows)
        return AgreementRow(
            id=row[0],
            community_id=row[1],
            short_id=row[2],
            status=Status(row[3]),
            started_by=row[4],
            draft=json.loads(self._cipher.decrypt(row[5], DRAFT_PURPOSE)),
            proposal_version=row[6],
            proposal_hash=row[7],
            proposed_by=row[8],
            in_force_version=row[9],
            in_force_hash=row[10],
            review_date=row[11],
            created_at=row[12],
            withdrawn_at=row[13],
            purge_after=row[14],
            parties=tuple(Party(p[0], p[1] == "joined", p[2], bool(p[3])) for p in parties),
            accepted=accepted,
        )

    async def get(self, db: Reader, agreement_id: int) -> AgreementRow | None:
        row = await db.fetchone(f"SELECT {_AGREEMENT_COLUMNS} FROM agreements WHERE id = ?", (agreement_id,))
        return await self._row(db, row)

    async def by_short_id(self, db: Reader, community_id: int, short_id: str) -> AgreementRow | None:
        row = await db.fetchone(
            f"SELECT {_AGREEMENT_COLUMNS} FROM agreements WHERE community_id = ? AND short_id = ?",
            (community_id, short_id),
        )
        return await self._row(db, row)

    async def for_member(
        self, db: Reader, member_id: int, *, joined_only: bool = True, include_withdrawn: bool = False
    ) -> list[AgreementRow]:
        sql = (
            "SELECT a.id FROM agreements a JOIN agreement_parties p ON p.agreement_id = a.id"
            " WHERE p.member_id = ?"
        )
        if joined_only:
            sql += " AND p.status = 'joined'"
        if not include_withdrawn:
            sql += " AND a.status != 'withdrawn'"
        rows = await db.fetchall(sql + " ORDER BY a.id", (member_id,))
        found = []
        for row in rows:
            agreement = await self.get(db, row[0])
            if agreement is not None:
                found.append(agreement)
        return found

    async def versions(self, db: Reader, agreement_id: int) -> list[Version]:
        rows = await db.fetchall(
            "SELECT number, hash, content_enc, created_by, created_at FROM agreement_versions"
            " WHERE agreement_id = ? ORDER BY number",
            (agreement_id,),
        )
        return [self._version(row) for row in rows]

    async def version(self, db: Reader, agreement_id: int, number: int) -> Version | None:
        row = await db.fetchone(
            "SELECT number, hash, content_enc, created_by, created_at FROM agreement_versions"
            " WHERE agreement_id = ? AND number = ?",
            (agreement_id, number),
        )
        return None if row is None else self._version(row)

    def _version(self, row: Any) -> Version:
        content = json.loads(self._cipher.decrypt(row[2], VERSION_PURPOSE))
        return Version(row[0], row[1], content, row[3], row[4])

    async def events(self, db: Reader, agreement_id: int) -> list[Event]:
        rows = await db.fetchall(
            "SELECT at, member_id, kind, version, detail FROM agreement_events WHERE agreement_id = ?"
            " ORDER BY id",
            (agreement_id,),
        )
        return [Event(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    # writing --------------------------------------------------------------------------------

    async def create(
        self, tx: Tx, community_id: int, starter: int, invitees: list[int], now: datetime
    ) -> int:
        while True:
            short_id = "".join(self._ids.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
            taken = await tx.fetchone(
                "SELECT 1 FROM agreements WHERE community_id = ? AND short_id = ?", (community_id, short_id)
            )
            if taken is None:
                break
        agreement_id = await tx.execute(
            "INSERT INTO agreements (community_id, short_id, status, started_by, draft_enc, created_at,"
            " updated_at) VALUES (?, ?, 'draft', ?, ?, ?, ?)",
            (
                community_id,
                short_id,
                starter,
                self._cipher.encrypt(json.dumps(empty_content()), DRAFT_PURPOSE),
                now.isoformat(),
                now.isoformat(),
            ),
        )
        await tx.execute(
            "INSERT INTO agreement_parties (agreement_id, member_id, status, position, prompted, joined_at)"
            " VALUES (?, ?, 'joined', 0, 1, ?)",
            (agreement_id, starter, now.isoformat()),
        )
        for position, member in enumerate(invitees, start=1):
            await tx.execute(
                "INSERT INTO agreement_parties (agreement_id, member_id, status, position) VALUES (?, ?, 'invited', ?)",
                (agreement_id, member, position),
            )
        return agreement_id

    async def update(self, tx: Tx, agreement_id: int, now: datetime, **columns: Any) -> None:
        allowed = {
            "status",
            "proposal_version",
            "proposal_hash",
            "proposed_by",
            "in_force_version",
            "in_force_hash",
            "review_date",
            "withdrawn_at",
            "purge_after",
        }
        assignments = []
        values: list[Any] = []
        for column, value in columns.items():
            if column not in allowed:
                raise ValueError(f"{column} is not an agreement column")
            assignments.append(f"{column} = ?")
            values.append(value.value if isinstance(value, Status) else value)
        assignments.append("updated_at = ?")
        values.append(now.isoformat())
        await tx.execute(f"UPDATE agreements SET {', '.join(assignments)} WHERE id = ?", (*values, agreement_id))

    async def save_draft(self, tx: Tx, agreement_id: int, content: dict[str, Any]) -> None:
        await tx.execute(
            "UPDATE agreements SET draft_enc = ? WHERE id = ?",
            (self._cipher.encrypt(json.dumps(normalised(content)), DRAFT_PURPOSE), agreement_id),
        )

    async def join(self, tx: Tx, agreement_id: int, member_id: int, now: datetime) -> None:
        await tx.execute(
            "UPDATE agreement_parties SET status = 'joined', joined_at = ? WHERE agreement_id = ? AND member_id = ?",
            (now.isoformat(), agreement_id, member_id),
        )

    async def remove_party(self, tx: Tx, agreement_id: int, member_id: int) -> None:
        await tx.execute(
            "DELETE FROM agreement_parties WHERE agreement_id = ? AND member_id = ?", (agreement_id, member_id)
        )

    async def set_prompted(self, tx: Tx, agreement_id: int, member_id: int, prompted: bool) -> None:
        await tx.execute(
            "UPDATE agreement_parties SET prompted = ? WHERE agreement_id = ? AND member_id = ?",
            (int(prompted), agreement_id, member_id),
        )

    async def queued_invitations(self, db: Reader, member_id: int) -> list[int]:
        rows = await db.fetchall(
            "SELECT p.agreement_id FROM agreement_parties p JOIN agreements a ON a.id = p.agreement_id"
            " WHERE p.member_id = ? AND p.status = 'invited' AND p.prompted = 0 AND a.status != 'withdrawn'"
            " ORDER BY a.id",
            (member_id,),
        )
        return [r[0] for r in rows]

    async def add_version(
        self, tx: Tx, agreement_id: int, content: dict[str, Any], digest: str, by: int, now: datetime
    ) -> int:
        row = await tx.fetchone(
            "SELECT COALESCE(MAX(number), 0) FROM agreement_versions WHERE agreement_id = ?", (agreement_id,)
        )
        number = int(row[0]) + 1
        await tx.execute(
            "INSERT INTO agreement_versions (agreement_id, number, hash, content_enc, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                agreement_id,
                number,
                digest,
                self._cipher.encrypt(json.dumps(normalised(content)), VERSION_PURPOSE),
                by,
                now.isoformat(),
            ),
        )
        return number

    async def accept(
        self, tx: Tx, agreement_id: int, member_id: int, version: int, digest: str, now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO agreement_acceptances (agreement_id, member_id, version, hash, accepted_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (agreement_id, member_id, version, digest, now.isoformat()),
        )

    async def event(
        self,
        tx: Tx,
        agreement_id: int,
        now: datetime,
        member_id: int | None,
        kind: str,
        version: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await tx.execute(
            "INSERT INTO agreement_events (agreement_id, at, member_id, kind, version, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (agreement_id, now.isoformat(), member_id, kind, version, json.dumps(detail or {})),
        )

    async def withdrawn_due(self, db: Reader, now: datetime) -> list[int]:
        """Withdrawn agreements whose keeping time is over (the retention purge deletes them)."""
        rows = await db.fetchall(
            "SELECT id FROM agreements WHERE status = 'withdrawn' AND purge_after IS NOT NULL AND purge_after <= ?",
            (now.isoformat(),),
        )
        return [row[0] for row in rows]

    async def purge(self, tx: Tx, agreement_id: int) -> None:
        """Delete an agreement and everything in it (versions, answers, history, check-ins)."""
        await tx.execute("DELETE FROM agreements WHERE id = ?", (agreement_id,))

    # invitations ----------------------------------------------------------------------------

    async def invitations_off_since(self, db: Reader, member_id: int) -> str | None:
        """When the member turned agreement invitations off, or None while they are on."""
        row = await db.fetchone("SELECT off_since FROM agreement_invitation_settings WHERE member_id = ?", (member_id,))
        return row[0] if row is not None else None

    async def set_invitations(self, tx: Tx, member_id: int, off: bool, now: datetime) -> None:
        if off:
            await tx.execute(
                "INSERT INTO agreement_invitation_settings (member_id, off_since) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (member_id, now.isoformat()),
            )
        else:
            await tx.execute("DELETE FROM agreement_invitation_settings WHERE member_id = ?", (member_id,))

    async def record_decline(self, tx: Tx, inviter_id: int, invitee_id: int, now: datetime) -> None:
        await tx.execute(
            "INSERT INTO agreement_invitation_declines (inviter_id, invitee_id, declined_at) VALUES (?, ?, ?)"
            " ON CONFLICT (inviter_id, invitee_id) DO UPDATE SET declined_at = excluded.declined_at",
            (inviter_id, invitee_id, now.isoformat()),
        )

    async def declined_since(self, db: Reader, inviter_id: int, invitee_id: int, since: datetime) -> bool:
        """Whether `invitee` declined an invitation from `inviter` after `since`."""
        row = await db.fetchone(
            "SELECT 1 FROM agreement_invitation_declines WHERE inviter_id = ? AND invitee_id = ? AND declined_at > ?",
            (inviter_id, invitee_id, since.isoformat()),
        )
        return row is not None

    async def declines_of(self, db: Reader, member_id: int) -> list[tuple[str, str, str, bool]]:
        """(who invited, who declined, when, whether the member declined) for every decline the
        member is part of, people named by their labels."""
        rows = await db.fetchall(
            "SELECT CASE WHEN i.display_name != '' THEN i.display_name ELSE i.platform_user_id END,"
            " CASE WHEN e.display_name != '' THEN e.display_name ELSE e.platform_user_id END, d.declined_at,"
            " d.invitee_id = ?"
            " FROM agreement_invitation_declines d JOIN members i ON i.id = d.inviter_id"
            " JOIN members e ON e.id = d.invitee_id WHERE d.inviter_id = ? OR d.invitee_id = ?"
            " ORDER BY d.declined_at",
            (member_id, member_id, member_id),
        )
        return [(r[0], r[1], r[2], bool(r[3])) for r in rows]

    async def purge_declines(self, tx: Tx, before: datetime) -> int:
        """Declines older than the re-invite wait hold nothing off any more: delete them."""
        rows = await tx.fetchall(
            "SELECT inviter_id, invitee_id FROM agreement_invitation_declines WHERE declined_at <= ?",
            (before.isoformat(),),
        )
        await tx.execute("DELETE FROM agreement_invitation_declines WHERE declined_at <= ?", (before.isoformat(),))
        return len(rows)

    # check-ins and reminders ------------------------------------------------------------------

    async def with_dates(self, db: Reader) -> list[int]:
        """Agreements the reminder job watches: withdrawn ones (to purge) and agreed or
        revisiting ones with a review date."""
        rows = await db.fetchall(
            "SELECT id FROM agreements WHERE status = 'withdrawn'"
            " OR (status IN ('agreed', 'revisiting') AND review_date IS NOT NULL)"
        )
        return [row[0] for row in rows]

    async def dates(self, db: Reader, agreement_id: int) -> tuple[str, str | None, str | None, str] | None:
        """(status, review date, purge after, community timezone) of one agreement."""
        row = await db.fetchone(
            "SELECT a.status, a.review_date, a.purge_after, c.timezone FROM agreements a"
            " JOIN communities c ON c.id = a.community_id WHERE a.id = ?",
            (agreement_id,),
        )
        return None if row is None else (row[0], row[1], row[2], row[3])

    async def reminded(self, db: Reader, slot_key: str) -> bool:
        return await db.fetchone("SELECT 1 FROM agreement_reminders WHERE slot_key = ?", (slot_key,)) is not None

    async def claim_reminder(self, tx: Tx, slot_key: str, agreement_id: int, now: datetime) -> bool:
        done = await tx.fetchone("SELECT 1 FROM agreement_reminders WHERE slot_key = ?", (slot_key,))
        if done is not None:
            return False
        await tx.execute(
            "INSERT INTO agreement_reminders (slot_key, agreement_id, sent_at) VALUES (?, ?, ?)",
            (slot_key, agreement_id, now.isoformat()),
        )
        return True

    async def open_checkin(self, tx: Tx, agreement_id: int, member_id: int, reason: str, now: datetime) -> int:
        await tx.execute(
            "UPDATE agreement_checkins SET answered_at = ? WHERE agreement_id = ? AND member_id = ?"
            " AND answered_at IS NULL",
            (now.isoformat(), agreement_id, member_id),
        )
        return await tx.execute(
            "INSERT INTO agreement_checkins (agreement_id, member_id, reason, opened_at) VALUES (?, ?, ?, ?)",
            (agreement_id, member_id, reason, now.isoformat()),
        )

    async def pending_checkin(self, db: Reader, member_id: int) -> tuple[int, int, str] | None:
        """The member's oldest unanswered check-in: its id, its agreement's, when it was sent."""
        row = await db.fetchone(
            "SELECT c.id, c.agreement_id, c.opened_at FROM agreement_checkins c"
            " JOIN agreements a ON a.id = c.agreement_id"
            " WHERE c.member_id = ? AND c.answered_at IS NULL AND a.status IN ('agreed', 'revisiting')"
            " ORDER BY c.id LIMIT 1",
            (member_id,),
        )
        return None if row is None else (row[0], row[1], row[2])

    async def checked_in_since(self, db: Reader, agreement_id: int, member_id: int, version: int | None) -> bool:
        """Whether the member has answered a check-in on this version of the agreement (an
        answered check-in is done: `checkin` does not offer it again until a new version)."""
        row = await db.fetchone(
            "SELECT 1 FROM agreement_events WHERE agreement_id = ? AND member_id = ? AND kind = 'checked_in'"
            # Null-safe equality both engines read (versions are positive; -1 stands for none).
            " AND COALESCE(version, -1) = COALESCE(?, -1)",
            (agreement_id, member_id, version),
        )
        return row is not None

    async def checkin(self, db: Reader, checkin_id: int, member_id: int) -> int | None:
        row = await db.fetchone(
            "SELECT agreement_id FROM agreement_checkins WHERE id = ? AND member_id = ? AND answered_at IS NULL",
            (checkin_id, member_id),
        )
        return None if row is None else row[0]

    async def answer_checkin(self, tx: Tx, checkin_id: int, now: datetime) -> None:
        await tx.execute(
            "UPDATE agreement_checkins SET answered_at = ? WHERE id = ?", (now.isoformat(), checkin_id)
        )
