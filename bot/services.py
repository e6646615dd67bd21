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
from bot.scheduling.timeline import Timeline
from bot.storage.communities import CommunityRepo, MemberRepo
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
