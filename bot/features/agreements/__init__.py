"""Safety agreements: pair agreements negotiated between two or three peers, and the space
agreement changed by consent (PRODUCT.md §4). `AgreementsFeature` wires both into the app."""

from __future__ import annotations

from bot.commands.registry import Registry
from bot.features.agreements.commands import COMMANDS
from bot.features.agreements.pair import PairAgreements
from bot.features.agreements.pair_agreements import PairDeps
from bot.features.agreements.repo import AgreementRepo
from bot.features.agreements.space_agreement import SpaceAgreement
from bot.features.agreements.space_repo import SpaceRepo
from bot.features.dialogs import Dialogs
from bot.features.feature import Feature
from bot.features.resources import ResourcesFeature
from bot.services import Services


class AgreementsFeature(Feature):
    commands = COMMANDS

    def __init__(self, services: Services, dialogs: Dialogs, resources: ResourcesFeature) -> None:
        self.pair = PairAgreements(PairDeps(services, dialogs, AgreementRepo(services.cipher, services.ids), resources))
        self.space = SpaceAgreement(services, SpaceRepo(services.cipher))

    @property
    def checkin_provider(self) -> PairAgreements:
        """Offers "how is our agreement working for you now?" to the `checkin` command."""
        return self.pair

    def bind(self, registry: Registry) -> None:
        self.pair.bind(registry)
        self.space.bind(registry)

    async def start(self) -> None:
        await self.pair.start()
        await self.space.start()

    async def resync(self) -> None:
        await self.pair.resync()
        await self.space.resync()
