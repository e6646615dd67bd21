"""Opt-in pairing: the commands members use, and the wiring of the feature (the facilitators'
commands are mixed in from facilitators.py).

Joining is consent: `pair join` shows what is kept, who sees what, how to pause, leave or erase,
and the space's duty-of-care statement; nothing is stored until the member says yes through the
core's confirmation step. The consent record keeps a hash of that text; when the text changes,
members are asked again before their next round and are not paired until they confirm.

Every bad input ends in a Refusal inside the transaction, so it changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.commands.registry import Registry
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.feature import Feature
from bot.features.pairing.checkins import CheckinFeature, PairCheckins
from bot.features.pairing.commands import COMMANDS
from bot.features.pairing.facilitators import FacilitatorCommands
from bot.features.pairing.grouping import grouping_text
from bot.features.pairing.prefs_commands import PreferenceCommands
from bot.features.pairing.repo import Pair, PairingRepo, Participant
from bot.features.pairing.rounds import Rounds
from bot.features.pairing.rounds_base import JOIN_ACTION
from bot.replies import Answer, Intent
from bot.services import Services
from bot.storage.db import Tx


def _in_circle(ctx: Ctx, pair: Pair) -> bool:
    """Whether words about this group speak of a circle: in a space that meets in circles, a
    group of three or more (a circle down to two reads as the pair it now is)."""
    return ctx.community.pair_size > 2 and len(pair.member_ids) > 2


class PairingFeature(FacilitatorCommands, PreferenceCommands, Feature):
    commands = COMMANDS

    def __init__(self, services: Services, checkins: CheckinFeature) -> None:
        self.services = services
        self.repo = PairingRepo(services.cipher)
        self.rounds = Rounds(services, self.repo)
        self.checkins = checkins
        checkins.register_provider(PairCheckins(services, self.repo))
        services.confirmations.on(JOIN_ACTION, self._on_join_answer)

    def bind(self, registry: Registry) -> None:
        for name, handler in {
            "pair join": self.join,
            "pair leave": self.leave,
            "pair pause": self.pause,
            "pair resume": self.resume,
            "pair not-with": self.not_with,
            "pair prefs": self.prefs,
            "pair again": self.again,
            "pair status": self.status,
            "pair end": self.end,
            "pair schedule": self.schedule,
            "pair now": self.now,
            "pair cancel": self.cancel,
            "pair stats": self.stats,
        }.items():
            registry.bind(name, handler)

    async def start(self) -> None:
        """Rebuild one job per community that uses pairing, and catch up on what fell due."""
        for community_id in await self.repo.scheduled_communities(self.services.db):
            if not await self.services.owns_community(self.services.db, community_id):
                continue  # another process runs its rounds (bot/ownership.py)
            await self.rounds.refresh(self.services.db, community_id)
            self.rounds.put_job(community_id)
            # Claimed like any run: another process sharing the store may be running it now.
            await self.services.timeline.run_key(f"pairing:{community_id}", self.services.clock.now())

    async def resync(self) -> None:
        """Take in what another process sharing the store changed (a schedule set there, a round
        it started): the job's timing read again, and a job for a community new to pairing."""
        for community_id in await self.repo.scheduled_communities(self.services.db):
            if not await self.services.owns_community(self.services.db, community_id):
                continue  # its rounds are the serving process's
            before = self.rounds._timing.get(community_id)
            after = await self.rounds.refresh(self.services.db, community_id)
            if before != after:
                self.rounds.put_job(community_id)

    # -- shared steps --------------------------------------------------------------------------

    async def _begin(self, tx: Tx, ctx: Ctx) -> Participant | None:
        """Remember how this platform writes commands (for scheduled messages) and return the
        member's participation, if any."""
        await self.repo.remember_prefix(tx, ctx.community.id, ctx.prefix, ctx.now)
        return await self.repo.participant(tx, ctx.community.id, ctx.member.id)

    async def _settle(self, community_id: int) -> None:
        """After a change that moves the community's timings: refresh the cache, re-put the job."""
        await self.rounds.refresh(self.services.db, community_id)
        self.rounds.put_job(community_id)

    def _next(self, ctx: Ctx) -> str:
        return self.rounds.next_round_text(ctx.community, ctx.prefix, ctx.now, ctx.locale)

    async def _place(self, tx: Tx, ctx: Ctx) -> str | None:
        """Someone just came in (joined, agreed again, resumed): during a running round they are
        placed straight away when the usual rules allow. The words that say so, or None."""
        placed = await self.rounds.place_late(tx, ctx.community, ctx.prefix, ctx.member.id, ctx.now)
        return None if placed is None else ctx.t("pairing.placed_late", number=placed.number)

    def _consent_prompt_text(self, ctx: Ctx, again: bool) -> str:
        consent = self.rounds.consent_text(ctx.community, ctx.prefix, ctx.locale)
        return ctx.t("pairing.reconsent", consent=consent) if again else consent

    async def _ask_consent(self, tx: Tx, ctx: Ctx, again: bool, lead: str = "") -> Intent:
        text = self._consent_prompt_text(ctx, again)
        return await self.services.confirmations.request(
            tx,
            ctx.community.id,
            ctx.member.id,
            ctx.member.platform_user_id,
            JOIN_ACTION,
            {"version": self.rounds.consent_version(ctx.community)},
            f"{lead}\n\n{text}" if lead else text,
            ctx.t("pairing.consent_yes"),
            ctx.t("pairing.consent_no"),
        )

    # -- joining and leaving -------------------------------------------------------------------

    async def join(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.services.db.transaction() as tx:
            participant = await self._begin(tx, ctx)
            version = self.rounds.consent_version(ctx.community)
            if participant is not None and participant.consent_version == version:
                raise Refusal("pairing.already_in")
            if participant is not None:
                await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
            prompt = await self._ask_consent(tx, ctx, again=participant is not None)
        return [prompt]

    async def _on_join_answer(
        self, tx: Tx, ctx: Ctx, payload: dict[str, Any], yes: bool
    ) -> list[Intent]:
        participant = await self.repo.participant(tx, ctx.community.id, ctx.member.id)
        version = self.rounds.consent_version(ctx.community)
        if not yes:
            if participant is not None:
                await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
                return [Answer(ctx.t("pairing.reconsent_declined"))]
            return [Answer(ctx.t("pairing.declined"))]
        if payload.get("version") != version:
            lead = ctx.t("pairing.consent_changed_meanwhile")
            return [await self._ask_consent(tx, ctx, again=participant is not None, lead=lead)]
        if participant is None:
            await self.repo.add_participant(tx, ctx.community.id, ctx.member.id, version, ctx.now)
            placed = await self._place(tx, ctx)
            return [Answer(ctx.t("pairing.joined", next=placed or self._next(ctx)))]
        if participant.consent_version == version:
            return [Answer(ctx.t("pairing.already_in"))]
        await self.repo.record_consent(tx, ctx.community.id, ctx.member.id, version, ctx.now)
        await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
        placed = await self._place(tx, ctx)
        return [Answer(ctx.t("pairing.reconsented", next=placed or self._next(ctx)))]

    async def leave(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.services.db.transaction() as tx:
            participant = await self._begin(tx, ctx)
            if participant is None:
                raise Refusal("pairing.not_in_leave")
            pair = await self.repo.active_pair_of(tx, ctx.community.id, ctx.member.id)
            if pair is not None:
                await self.rounds.end_pairs_of(
                    tx, ctx.community, ctx.prefix, pair, ctx.member.id, ctx.now
                )
            await self.repo.remove_participant(tx, ctx.community.id, ctx.member.id)
            await self.repo.withdraw_consent(tx, ctx.member.id, ctx.now)
        await self._settle(ctx.community.id)
        text = ctx.t("pairing.left", days=self.services.settings.pairing.retention_days)
        if pair is not None:
            text += "\n" + ctx.t(
                "pairing.circle_left_and_ended" if _in_circle(ctx, pair) else "pairing.left_and_ended"
            )
        return [Answer(text)]

    # -- pausing -------------------------------------------------------------------------------

    async def pause(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        days = args.get("days")
        async with self.services.db.transaction() as tx:
            participant = await self._begin(tx, ctx)
            if participant is None:
                raise Refusal("pairing.not_in_pause")
            until = ctx.now + timedelta(days=days) if days else None
            await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
            await self.repo.set_paused(tx, participant.id, until)
            pair = await self.repo.active_pair_of(tx, ctx.community.id, ctx.member.id)
        await self._settle(ctx.community.id)
        if until is None:
            text = ctx.t("pairing.paused_open")
        else:
            text = ctx.t("pairing.paused_until", until=self.rounds.when(ctx.community, until, ctx.locale))
        if pair is not None:
            text += "\n" + ctx.t(
                "pairing.circle_keeps" if _in_circle(ctx, pair) else "pairing.paused_keeps_pair"
            )
        return [Answer(text)]

    async def resume(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.services.db.transaction() as tx:
            participant = await self._begin(tx, ctx)
            if participant is None:
                raise Refusal("pairing.not_in_resume")
            if not participant.paused:
                raise Refusal("pairing.not_paused")
            await self.repo.set_active(tx, participant.id)
            await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
            placed = await self._place(tx, ctx)
        await self._settle(ctx.community.id)
        text = ctx.t("pairing.resumed", next=placed or self._next(ctx))
        if participant.consent_version != self.rounds.consent_version(ctx.community):
            text += "\n" + ctx.t("pairing.status_reconsent")
        return [Answer(text)]

    # -- not-with ------------------------------------------------------------------------------

    async def not_with(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        try:
            return await self._not_with(ctx, args)
        except Refusal as refusal:
            # Refused or not, the line was typed where others can read it: the note belongs
            # with every answer to it (nothing changed: the transaction has rolled back).
            note = await self.services.typed_lines.note(ctx, "pairing.typed_in_channel")
            if not note:
                raise
            return [Answer(ctx.t(refusal.key, **refusal.params)), *note]

    async def _not_with(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        target: str = args["member"]
        removing = args.get("remove") == "remove"
        if target == ctx.member.platform_user_id:
            raise Refusal("pairing.not_with_self")
        async with self.services.db.transaction() as tx:
            participant = await self._begin(tx, ctx)
            if participant is None:
                raise Refusal("pairing.not_in_not_with")
            other = await self.services.members.find(tx, ctx.community.id, target)
            # The entry names the person by their platform id, so it can be found (and removed)
            # even while they are unknown here, e.g. after they erased their data.
            blind = await self.repo.blinder(tx, ctx.now)
            other_hash = blind(ctx.community.id, target)
            entries = [
                entry
                for entry, entry_hash in await self.repo.not_with_of(
                    tx, ctx.community.id, ctx.member.id, ctx.now
                )
                if entry_hash == other_hash
            ]
            if other is None and not (removing and entries):
                raise Refusal(
                    "pairing.not_with_unknown", given=self.rounds.mention(ctx.community, target)
                )
            label = other.label if other is not None else self.rounds.mention(ctx.community, target)
            if removing:
                if not entries:
                    raise Refusal("pairing.not_with_absent", name=label)
                for entry in entries:
                    await self.repo.remove_not_with(tx, entry)
            else:
                if entries:
                    raise Refusal("pairing.not_with_already", name=other.label)
                await self.repo.add_not_with(
                    tx, ctx.community.id, ctx.member.id, other_hash, ctx.now
                )
            await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
            pair = await self.repo.active_pair_of(tx, ctx.community.id, ctx.member.id)
        # The answer goes privately, but the line itself was typed where others can read it.
        note = await self.services.typed_lines.note(ctx, "pairing.typed_in_channel")
        if removing:
            return [Answer(ctx.t("pairing.not_with_removed", name=label)), *note]
        assert other is not None
        text = ctx.t(
            "pairing.not_with_added",
            name=other.label,
            mention=self.rounds.mention(ctx.community, target),
        )
        if pair is not None and other.id in pair.member_ids:
            text += "\n" + ctx.t(
                "pairing.not_with_current_circle" if _in_circle(ctx, pair) else "pairing.not_with_current",
                name=other.label,
            )
        return [Answer(text), *note]

    # -- status and ending a pair --------------------------------------------------------------

    async def status(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.services.db.transaction() as tx:
            participant = await self._begin(tx, ctx)
            if participant is None:
                return [Answer(ctx.t("pairing.status_not_in"))]
            await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
            pair = await self.repo.active_pair_of(tx, ctx.community.id, ctx.member.id)
            round_ = await self.repo.round_of(tx, pair.round_id) if pair is not None else None
            info = await self.rounds.members_info(tx, ctx.community.id)
            open_checkin = await self.repo.open_checkin_of(tx, ctx.community.id, ctx.member.id)
        lines = []
        if not participant.paused:
            lines.append(ctx.t("pairing.status_in"))
        elif participant.paused_until is not None:
            lines.append(
                ctx.t(
                    "pairing.status_paused_until",
                    until=self.rounds.when(ctx.community, participant.paused_until, ctx.locale),
                )
            )
        else:
            lines.append(ctx.t("pairing.status_paused_open"))
        if participant.consent_version != self.rounds.consent_version(ctx.community):
            lines.append(ctx.t("pairing.status_reconsent"))
        if ctx.community.pair_size > 2:
            lines.append(grouping_text(ctx.t, ctx.community.pair_size, ctx.community.pair_together))
        if pair is not None and round_ is not None:
            others = [info[m].label for m in pair.member_ids if m != ctx.member.id and m in info]
            lines.append(
                ctx.t(
                    "pairing.status_circle" if _in_circle(ctx, pair) else "pairing.status_pair",
                    names=self.rounds.names(ctx.community, ctx.prefix, others, ctx.locale),
                    until=self.rounds.when(ctx.community, round_.ends_at, ctx.locale),
                    # As the space was titled when it opened (its room's or thread's name, in
                    # the space's language); the key is internal and no platform shows it.
                    space=ctx.t_in(
                        shared := self.rounds.lang(ctx.community, *(info.get(m) for m in pair.member_ids)),
                        "pairing.space_title",
                        number=round_.number,
                        names=self.rounds.names(
                            ctx.community, ctx.prefix, [info[m].label for m in pair.member_ids if m in info], shared
                        ),
                    ),
                )
            )
        else:
            lines.append(
                ctx.t("pairing.status_no_circle" if ctx.community.pair_size > 2 else "pairing.status_no_pair")
            )
        slot = self.rounds.next_slot(ctx.community.id, ctx.now)
        if slot is None:
            lines.append(ctx.t("pairing.status_next_none"))
        else:
            lines.append(ctx.t("pairing.status_next", when=self.rounds.when(ctx.community, slot, ctx.locale)))
        if open_checkin is not None:
            lines.append(ctx.t("pairing.status_checkin"))
        return [Answer("\n".join(lines))]

    async def end(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.services.db.transaction() as tx:
            participant = await self._begin(tx, ctx)
            if participant is None:
                raise Refusal("pairing.not_in_end")
            pair = await self.repo.active_pair_of(tx, ctx.community.id, ctx.member.id)
            if pair is None:
                raise Refusal(
                    "pairing.no_current_circle" if ctx.community.pair_size > 2 else "pairing.no_current_pair"
                )
            await self.rounds.end_pairs_of(
                tx, ctx.community, ctx.prefix, pair, ctx.member.id, ctx.now
            )
            await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
        return [Answer(ctx.t("pairing.circle_ended" if _in_circle(ctx, pair) else "pairing.ended"))]

    # -- for other features (mydata, agreements) -----------------------------------------------

    async def current_partners(self, community_id: int, member_id: int) -> list[int]:
        """Member ids of the member's current pair (without them); empty when not in one."""
        pair = await self.repo.active_pair_of(self.services.db, community_id, member_id)
        return [] if pair is None else [m for m in pair.member_ids if m != member_id]

    async def forget_member(self, tx: Tx, ctx: Ctx) -> None:
        """For `mydata forget`: end the current pair (neutral notice), then delete everything of
        the member's pairing at once, history and consent records included."""
        pair = await self.repo.active_pair_of(tx, ctx.community.id, ctx.member.id)
        if pair is not None:
            await self.rounds.end_pairs_of(
                tx, ctx.community, ctx.prefix, pair, ctx.member.id, ctx.now
            )
        await self.repo.remove_participant(tx, ctx.community.id, ctx.member.id)
        await self.repo.forget_records(tx, ctx.community.id, ctx.member.id)

    async def export_member(self, ctx: Ctx) -> dict[str, Any]:
        """For `mydata export`: everything pairing keeps about the member, in plain words."""
        db = self.services.db
        participant = await self.repo.participant(db, ctx.community.id, ctx.member.id)
        info = await self.rounds.members_info(db, ctx.community.id)
        consents = await self.repo.consents_of(db, ctx.member.id)
        history = await self.repo.pair_history(db, ctx.community.id, ctx.member.id)
        pairs = []
        for number, starts_at, pair_id in history:
            pair = await self.repo.pair(db, pair_id)
            others = [
                info[m].label
                for m in (pair.member_ids if pair else ())
                if m != ctx.member.id and m in info
            ]
            pairs.append({"round": number, "started": starts_at, "with": others})
        answers = []
        for checkin_id in await self.repo.checkin_ids_of(db, ctx.community.id, ctx.member.id):
            found = await self.repo.checkin(db, checkin_id)
            if found is not None:
                answers.append({"kind": found.kind, "answers": found.answers})
        not_with = await self.repo.not_with_count(db, ctx.community.id, ctx.member.id)
        return {
            "joined": participant is not None,
            "status": None if participant is None else participant.status,
            "paused_until": None
            if participant is None or participant.paused_until is None
            else participant.paused_until.isoformat(),
            "consents": [{"version": c[0], "given": c[1], "withdrawn": c[2]} for c in consents],
            # How many, never who: an entry holds only a keyed hash, and naming whoever it
            # matches today could reveal someone else's return after erasing their data.
            "not_with": {"entries": not_with} if not_with else {},
            "pairs": pairs,
            "checkins": answers,
        }
