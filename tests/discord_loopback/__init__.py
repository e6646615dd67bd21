"""A loopback Discord (REST v10 + gateway) for testing the Discord adapter with unmodified discord.py."""

from .gateway import GatewaySession, ResumeRecord
from .interactions import InteractionHandle
from .payloads import SimChannel, SimGuild, SimMember, SimRole, SimUser
from .rest import ApiError, Recorded, RecordedFile, Rule
from .server import LoopbackDiscord

__all__ = [
    "ApiError",
    "GatewaySession",
    "InteractionHandle",
    "LoopbackDiscord",
    "Recorded",
    "RecordedFile",
    "ResumeRecord",
    "Rule",
    "SimChannel",
    "SimGuild",
    "SimMember",
    "SimRole",
    "SimUser",
]
