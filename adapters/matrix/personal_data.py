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
from bot.app import AdapterState, Tx
from bot.context import Ctx


class MatrixData:
    name = "matrix"

    def __init__(self, state: AdapterState, rooms: Rooms) -> None:
        self._state = state
        self.rooms = rooms

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        if ctx.community.platform != PLATFORM:
            return {}
        user_id = ctx.member.platform_user_id
        room = await self._state.private_channel(private_key(ctx.community.external_id, user_id))
        opened = await self._state.keys_where("direct:", user_id)
        return {
            "your_private_room_with_the_bot": room or None,
            "direct_rooms_you_opened_with_the_bot": [key.removeprefix("direct:") for key in opened],
        }

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        if ctx.community.platform != PLATFORM:
            return
        community, user_id = ctx.community.external_id, ctx.member.platform_user_id
        key = private_key(community, user_id)
        await self._state.forget_private_channel(key, tx=tx)
        await self._state.delete_where("private:", key, tx=tx)
        # The DM stays known as one (a line typed there is not a new community), naming nobody.
        await self._state.clear_values_where("direct:", user_id, tx=tx)
        tx.after_commit(lambda: self.rooms.forgotten(community, user_id))

    async def purge(self, tx: Tx, now: datetime) -> int:
        return 0  # nothing here expires on its own: the links last as long as the rooms
