"""The Matrix adapter's part in `mydata export`, `mydata forget` and the retention purge.

What it keeps that names a member: which room is their private room with the bot in each
community, and which DM they opened with it. Forgetting deletes those links; the rooms stay
(they are the member's too), marked only by community, and a line typed there later links them
again. Event ids of handled commands name nobody and expire with the core's retention; pair
rooms belong to the pairing records. Registered with the core's mydata feature when the app has
one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.matrix import PLATFORM
from adapters.matrix.rooms import Rooms, private_key
from bot.app import Database, Tx
from bot.context import Ctx


class MatrixData:
    name = "matrix"

    def __init__(self, db: Database, rooms: Rooms) -> None:
        self._db = db
        self.rooms = rooms

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        if ctx.community.platform != PLATFORM:
            return {}
        user_id = ctx.member.platform_user_id
        row = await self._db.fetchone(
            "SELECT channel_id FROM private_channels WHERE platform = ? AND user_id = ?",
            (PLATFORM, private_key(ctx.community.external_id, user_id)),
        )
        opened = await self._db.fetchall(
            "SELECT key FROM adapter_state WHERE platform = ? AND key LIKE 'direct:%' AND value = ?",
            (PLATFORM, user_id),
        )
        return {
            "your_private_room_with_the_bot": row[0] if row and row[0] else None,
            "direct_rooms_you_opened_with_the_bot": [key.removeprefix("direct:") for (key,) in opened],
        }

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        if ctx.community.platform != PLATFORM:
            return
        community, user_id = ctx.community.external_id, ctx.member.platform_user_id
        key = private_key(community, user_id)
        await tx.execute("DELETE FROM private_channels WHERE platform = ? AND user_id = ?", (PLATFORM, key))
        await tx.execute(
            "DELETE FROM adapter_state WHERE platform = ? AND key LIKE 'private:%' AND value = ?",
            (PLATFORM, key),
        )
        await tx.execute(
            "UPDATE adapter_state SET value = '' WHERE platform = ? AND key LIKE 'direct:%' AND value = ?",
            (PLATFORM, user_id),
        )
        tx.after_commit(lambda: self.rooms.forgotten(community, user_id))

    async def purge(self, tx: Tx, now: datetime) -> int:
        return 0  # nothing here expires on its own: the links last as long as the rooms
