"""A loopback Discord (REST v10 + gateway) for testing the Discord adapter with unmodified discord.py.

Exports are resolved lazily, so importing the package costs nothing until a name is used.
discord.py (and aiohttp with it) is a project dependency: these tests always run, never skip.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ApiError": ".restkit",
    "Recorded": ".restkit",
    "RecordedFile": ".restkit",
    "Rule": ".restkit",
    "GatewaySession": ".gateway",
    "ResumeRecord": ".gateway",
    "InteractionHandle": ".interactions",
    "LoopbackDiscord": ".server",
    "SimChannel": ".payloads",
    "SimGuild": ".payloads",
    "SimMember": ".payloads",
    "SimRole": ".payloads",
    "SimUser": ".payloads",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
