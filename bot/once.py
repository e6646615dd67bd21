"""Exactly-once handling of one incoming event (see `Once`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Once:
    """Asks the core to handle one incoming event exactly once (for adapters whose platform can
    replay events after a crash and de-duplicate sends, e.g. Matrix).

    The event id is recorded in the same transaction as the command's effects, and the answers
    are written to the durable outbox in it too (an `Answer` becomes a `Reply` addressed with
    the fields below), so after a kill -9 at any point the command has happened once or not at
    all, and its answers are delivered from the outbox, once."""

    event_id: str
    channel: str = ""  # where the command was typed (a public answer goes there)
    thread: str = ""  # the thread it was typed in, if any
    here: bool = False  # typed in the member's own private space: private answers go back there
