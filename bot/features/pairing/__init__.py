"""Opt-in pairing: rounds, fair matching without repeats, private pair spaces and relational
check-ins (PRODUCT.md §1, §4, §5). `PairingFeature` holds the commands; `CheckinFeature` owns the
`checkin` command that other features offer their check-ins through."""

from bot.features.pairing.checkins import CheckinFeature
from bot.features.pairing.service import PairingFeature

__all__ = ["CheckinFeature", "PairingFeature"]
