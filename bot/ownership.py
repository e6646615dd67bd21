"""Which communities this process serves: the one thing the core knows about running as several
processes side by side (issue 19).

A runner that shares the store with other processes (Discord shard ranges, a Matrix process
beside Discord ones) passes App an `Owns` predicate: given a community's platform and external
id, does this process hold its connection? Scheduled work that posts somewhere (question slots,
round steps, review reminders, consent rounds) is then done only for owned communities, and
delivery can ask the same question of a destination. The core never learns why a process owns
a community (a shard, a bot account): platforms stay the adapters' business.
"""

from __future__ import annotations

from collections.abc import Callable

# (platform, community external id) -> does this process serve that community?
Owns = Callable[[str, str], bool]


def owns_everything(platform: str, external_id: str) -> bool:
    """One process serving the whole store: the default, as it always was."""
    return True
