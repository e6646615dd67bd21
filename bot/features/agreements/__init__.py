"""Safety agreements: pair agreements negotiated between two or three peers, and the space
agreement changed by consent (PRODUCT.md §4). `AgreementsFeature` wires both into the app."""

from __future__ import annotations

from bot.clock import Clock
from bot.commands.registry import Registry
from bot.config import Settings
from bot.features.agreements.pair import PairAgreements
from bot.features.agreements.pair_agreements import PairDeps
from bot.features.agreements.repo import AgreementRepo
from bot.features.agreements.space_agreement import SpaceAgreement
from bot.features.agreements.space_repo import SpaceRepo
from bot.features.confirmations import Confirmations
from bot.features.dialogs import Dialogs
from bot.features.resources import ResourcesFeature
from bot.features.typed_lines import TypedLines
from bot.ids import IdSource
from bot.outbox import Outbox
from bot.scheduling.timeline import Timeline
from bot.storage.communities import CommunityRepo, MemberRepo
from bot.storage.crypto import FieldCipher
from bot.storage.db import Database
from bot.texts.catalog import Catalog


class AgreementsFeature:
    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        clock: Clock,
        catalog: Catalog,
        cipher: FieldCipher,
        outbox: Outbox,
        timeline: Timeline,
        communities: CommunityRepo,
        members: MemberRepo,
        confirmations: Confirmations,
        dialogs: Dialogs,
        typed_lines: TypedLines,
        ids: IdSource | None = None,
    ) -> None:
        self.pair = PairAgreements(
            PairDeps(
                db=db,
                clock=clock,
                catalog=catalog,
                outbox=outbox,
                timeline=timeline,
                communities=communities,
                members=members,
                confirmations=confirmations,
                dialogs=dialogs,
                typed_lines=typed_lines,
                repo=AgreementRepo(cipher, ids),
                settings=settings.agreements,
                # Section 4 shows the space's resources and section 12 its duty-of-care statement.
                resources=ResourcesFeature(settings.resources, settings.duty_of_care, db),
            )
        )
        self.space = SpaceAgreement(
            db=db,
            clock=clock,
            catalog=catalog,
            outbox=outbox,
            timeline=timeline,
            communities=communities,
            members=members,
            repo=SpaceRepo(cipher),
            settings=settings,
        )

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
