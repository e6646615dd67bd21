"""Discord sharding (docs/discord.md): which shards this process runs, and so which servers it
serves.

Discord sends each server's events (its commands, buttons and forms included) to one shard only,
shard `(guild_id >> 22) % shard_count`, and direct messages to shard 0. A bot in 2,500 servers or
more must shard. One process may run every shard (`AutoShardedClient`, the default) or a range
of them, beside other processes running the others against the same store; such a process
tells the core it owns only the servers on its shards (`ShardPlan.owns`), so each server's
scheduled posts are made by exactly one process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.discord.traits import PLATFORM

# Discord's own ceiling is far lower in practice; this only stops a typo from launching millions.
MAX_SHARDS = 65_536


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends this server's events to."""
    return (guild_id >> 22) % shard_count


def parse_shard_ids(text: str) -> list[int]:
    """`0-3`, `5`, `0-3,8,10-11` -> the shard ids, in order, each once. ValueError otherwise."""
    ids: list[int] = []
    for part in text.replace(" ", "").split(","):
        found = re.fullmatch(r"(\d{1,6})(?:-(\d{1,6}))?", part)
        if found is None:
            raise ValueError(f"'{part or text}' is not a shard id or a range like 0-3")
        first = int(found[1])
        last = int(found[2]) if found[2] is not None else first
        if last < first:
            raise ValueError(f"the range {part} runs backwards: write it as {last}-{first}")
        ids.extend(range(first, last + 1))
    if len(set(ids)) != len(ids):
        raise ValueError(f"'{text}' names a shard more than once")
    return ids


def shard_problems(shard_ids: list[int] | None, shard_count: int | None) -> list[str]:
    """What is wrong with a shard plan, as Discord would see it (empty when fine)."""
    if shard_ids is None:
        return []
    if shard_count is None:
        return ["shard_ids needs shard_count: say how many shards the bot has in all (e.g. --shard-count 8)"]
    if not shard_ids:
        return ["shard_ids is empty: name at least one shard, e.g. 0-3"]
    beyond = [shard for shard in shard_ids if shard >= shard_count]
    if beyond:
        return [
            f"shard id {beyond[0]} is not below shard_count {shard_count}:"
            f" with {shard_count} shards the ids are 0-{shard_count - 1}"
        ]
    return []


@dataclass(frozen=True)
class ShardPlan:
    """The shards this process runs: `ids` of `count` (None: every shard, one process)."""

    count: int
    ids: tuple[int, ...] | None = None

    @property
    def runs_every_shard(self) -> bool:
        return self.ids is None

    def owns(self, platform: str, external_id: str) -> bool:
        """For the core (bot/ownership.py): a process running every shard serves every Discord
        server in the store; one running a range, only the servers on it. Never another
        platform's communities: their deliveries could not be made from here."""
        if platform != PLATFORM:
            return False
        if self.ids is None:
            return True
        try:
            guild_id = int(external_id)
        except ValueError:
            return False
        return shard_of(guild_id, self.count) in self.ids

    def describe(self) -> str:
        if self.ids is None:
            return f"all {self.count} shard{'s' if self.count != 1 else ''}"
        return f"shard{'s' if len(self.ids) != 1 else ''} {format_shard_ids(self.ids)} of {self.count}"


def format_shard_ids(ids: tuple[int, ...] | list[int]) -> str:
    """[0, 1, 2, 3, 6] -> "0-3,6"."""
    parts: list[str] = []
    ordered = sorted(ids)
    start = prev = ordered[0]
    for shard in [*ordered[1:], None]:
        if shard is not None and shard == prev + 1:
            prev = shard
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if shard is not None:
            start = prev = shard
    return ",".join(parts)
