"""The dependencies every feature shares, built once by `App` and passed to each feature as one
value (issue 15): a feature's constructor takes `Services` plus only what is its own."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.features.confirmations import Confirmations
from bot.features.typed_lines import TypedLines
from bot.ids import IdSource
from bot.outbox import Outbox
from bot.ownership import Owns, owns_everything
from bot.scheduling.timeline import Timeline
from bot.storage.communities import CommunityRepo, MemberRepo, Reader
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.texts.catalog import Catalog


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    clock: Clock
    catalog: Catalog
    cipher: FieldCipher
    outbox: Outbox
    timeline: Timeline
    communities: CommunityRepo
    members: MemberRepo
    # The core's yes/no step, and the note for private words typed in a shared channel: both
    # are used by several features, so they are built with the rest.
    confirmations: Confirmations
    typed_lines: TypedLines
    seed: int = 0  # makes every random choice (rotation, matching) repeatable
    ids: IdSource | None = None  # where new ids come from (None: unguessable, `SecretIds`)
    # Which communities this process serves (bot/ownership.py): scheduled posts are made only
    # for those, so processes sharing one store never post for each other's communities.
    owns: Owns = owns_everything

    async def owns_community(self, db: Reader, community_id: int) -> bool:
        """Whether this process serves the community (a community gone from storage: no)."""
        community = await self.communities.get(db, community_id)
        return community is not None and self.owns(community.platform, community.external_id)
