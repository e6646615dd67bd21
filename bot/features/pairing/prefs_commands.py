"""`pair prefs` and `pair again`: part of `PairingFeature` (service.py), mixed in like the
facilitators' commands; they share its dependencies.

Both are private. Setting or clearing a preference, and making or taking back a wish, typed where
others can read it is refused (nothing is stored) with the offer to take the line down: a wish
read by its person is no longer one-sided and private, whatever the bot does afterwards.

`pair again` answers the same whether or not the other person asked too, and does the same work
either way: it never reads anyone's wishes but the member's own.
"""

from __future__ import annotations

from typing import Any

from bot.context import Ctx
from bot.errors import Refusal
from bot.features.pairing import prefs_values as values
from bot.features.pairing.prefs_values import StoredPrefs
from bot.features.typed_lines import typed_in_channel
from bot.replies import Answer, Intent


class PreferenceCommands:
    """`pair prefs` and `pair again`; mixed into `PairingFeature`, whose attributes it uses."""

    # -- preferences ---------------------------------------------------------------------------

    async def _refused_in_channel(self, ctx: Ctx, key: str) -> list[Intent]:
        note = await self.services.typed_lines.note(ctx, key)
        return note or [Answer(ctx.t(key))]

    def _prefs_text(self, ctx: Ctx, prefs: StoredPrefs) -> str:
        unset = ctx.t("pairing.prefs_not_set")

        def word(value: str) -> str:  # a stored value ("weekday evenings") in the reader's words
            key = "prefs_words." + value.replace(" ", "_")
            return ctx.t(key) if ctx.catalog.has(key) else value

        shown = {
            "languages": ", ".join(prefs.languages) or unset,
            "timezone": prefs.timezone or unset,
            "free": ctx.formats.and_list(word(slot) for slot in prefs.free) or unset,
            "style": word(prefs.style) if prefs.style else unset,
        }
        lines = [ctx.t("pairing.prefs_title")]
        lines += [ctx.t(f"pairing.prefs_{field}", value=shown[field]) for field in values.FIELDS]
        lines.append(ctx.t("pairing.prefs_how"))
        return "\n".join(lines)

    def _changed(self, ctx: Ctx, prefs: StoredPrefs, setting: str, value: str) -> tuple[StoredPrefs, str]:
        """The preferences after `setting value`, and the words that say what changed."""
        if setting == "clear":
            if value.strip().lower() in ("", "all"):
                return StoredPrefs(), ctx.t("pairing.prefs_cleared_all")
            field = values.read_field(value)
            return prefs.cleared(field), ctx.t("pairing.prefs_cleared", field=field)
        match setting:
            case "languages":
                prefs = StoredPrefs(values.read_languages(value), prefs.timezone, prefs.free, prefs.style)
            case "timezone":
                prefs = StoredPrefs(prefs.languages, values.read_timezone(value, ctx.now), prefs.free, prefs.style)
            case "free":
                prefs = StoredPrefs(prefs.languages, prefs.timezone, values.read_free(value), prefs.style)
            case _:
                prefs = StoredPrefs(prefs.languages, prefs.timezone, prefs.free, values.read_style(value))
        return prefs, ctx.t("pairing.prefs_saved")

    async def prefs(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        setting: str | None = args.get("setting")
        value: str = args.get("value") or ""
        if setting is None and value:
            # Discord can deliver a value without a setting; the text parser never does.
            raise Refusal("pairing.prefs_bad_field", given=value[:40])
        # Only looking (a setting with no value shows them too) changes nothing, so it is fine
        # anywhere: the answer goes privately.
        changing = setting == "clear" or (setting is not None and bool(value))
        if changing and typed_in_channel(ctx):
            return await self._refused_in_channel(ctx, "pairing.prefs_in_channel")
        async with self.services.db.transaction() as tx:
            participant = await self._begin(tx, ctx)
            if participant is None:
                raise Refusal("pairing.not_in_prefs")
            prefs = await self.repo.preferences_of(tx, ctx.community.id, ctx.member.id)
            lead = ""
            if changing:
                assert setting is not None
                prefs, lead = self._changed(ctx, prefs, setting, value)
                await self.repo.save_preferences(tx, ctx.community.id, ctx.member.id, prefs, ctx.now)
            await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
        text = self._prefs_text(ctx, prefs)
        return [Answer(f"{lead}\n{text}" if lead else text)]

    # -- meeting again -------------------------------------------------------------------------

    async def again(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        target: str | None = args.get("member")
        removing = args.get("remove") == "remove"
        if target is None:
            if removing:
                raise Refusal("pairing.again_remove_whom")
            return await self._again_list(ctx)
        if target == ctx.member.platform_user_id:
            raise Refusal("pairing.again_self")
        if typed_in_channel(ctx):
            return await self._refused_in_channel(ctx, "pairing.again_in_channel")
        async with self.services.db.transaction() as tx:
            participant = await self._begin(tx, ctx)
            if participant is None:
                raise Refusal("pairing.not_in_again")
            other = await self.services.members.find(tx, ctx.community.id, target)
            blind = await self.repo.again_blinder(tx, ctx.now)
            other_hash = blind(ctx.community.id, target)
            mine = [
                wish
                for wish in await self.repo.wishes_of(tx, ctx.community.id, ctx.member.id)
                if wish.other_hash == other_hash
            ]
            mention = self.rounds.mention(ctx.community, target)
            if other is None and not (removing and mine):
                raise Refusal("pairing.again_unknown", given=mention)
            label = other.label if other is not None else mention
            if removing:
                if not mine:
                    raise Refusal("pairing.again_absent", name=label)
                for wish in mine:
                    await self.repo.remove_wish(tx, wish.id)
                key = "pairing.again_removed"
            elif mine:
                # Asking again renews the wish: it holds for the person who has this id now.
                await self.repo.renew_wish(tx, mine[0].id, ctx.now)
                key = "pairing.again_already"
            else:
                await self.repo.add_wish(tx, ctx.community.id, ctx.member.id, other_hash, target, ctx.now)
                key = "pairing.again_added"
            await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
        return [Answer(ctx.t(key, name=label, mention=mention))]

    async def _again_list(self, ctx: Ctx) -> list[Intent]:
        async with self.services.db.transaction() as tx:
            participant = await self._begin(tx, ctx)
            if participant is None:
                raise Refusal("pairing.not_in_again")
            wishes = await self.repo.wishes_of(tx, ctx.community.id, ctx.member.id)
            await self.repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
        if not wishes:
            return [Answer(ctx.t("pairing.again_none"))]
        # Named as the member gave them (their own words), not as whoever holds the id today.
        mentions = [self.rounds.mention(ctx.community, wish.other_user_id) for wish in wishes]
        return [
            Answer(
                ctx.t(
                    "pairing.again_list",
                    names=self.rounds.names(ctx.community, ctx.prefix, mentions, ctx.locale),
                    mention=mentions[0],
                )
            )
        ]
