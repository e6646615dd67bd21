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
    """One process serving the whole store: the default (tests, the console's rehearsals)."""
    return True


def owns_platform(own: str) -> Owns:
    """A platform's runner: it serves that platform's communities only. Another platform's
    community could not be reached from here (its deliveries would be skipped), so its scheduled
    posts are left to that platform's own process, which catches up when it starts."""

    def owns(platform: str, external_id: str) -> bool:
        return platform == own

    return owns
