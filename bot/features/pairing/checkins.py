"""The `checkin` command, and pairing's relational check-ins as its first provider.

`checkin` asks each registered provider (bot/features/checkin_port.py), in registration order,
for the member's open check-in and hands the answer to the first that has one. Pairing registers
itself first; other features (agreements) add theirs with `CheckinFeature.register_provider`.

A pair check-in steps through the questions in prompts/<locale>/checkins.toml, one answer per
`checkin <answer>`. Every answer is optional (`checkin skip`), `checkin done` stops early, and
answers are private to their author (stored encrypted) unless given as `checkin share <answer>`,
which also posts that one answer in the pair's space while it is open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.commands.registry import Registry
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.checkin_port import CheckinProvider, OpenCheckin
from bot.features.feature import Feature
from bot.features.pairing.commands import CHECKIN_COMMANDS
from bot.features.pairing.repo import Pair, PairingRepo
from bot.features.typed_lines import TypedLines
from bot.languages import shared_locale
from bot.replies import Answer, Intent, PairSpacePost
from bot.services import Services
from bot.storage.db import Tx
from bot.texts.catalog import Catalog
from bot.texts.quote import inline, quote

SKIP_WORDS = ("skip", "pass")
DONE_WORDS = ("done", "stop")
SHARE_WORD = "share"

Teller = Callable[..., str]


def checkin_steps(catalog: Catalog, locale: str) -> list[dict[str, Any]]:
    return list(catalog.data(locale, "checkins").get("pair", {}).get("step", []))


def _scale_text(t: Teller, step: dict[str, Any]) -> str:
    items = [
        t("checkin.scale_item", number=i + 1, label=label)
        for i, label in enumerate(step.get("scale", []))
    ]
    return ", ".join(items)


def question_text(t: Teller, steps: list[dict[str, Any]], index: int) -> str:
    step = steps[index]
    lines = [t("checkin.question", step=index + 1, total=len(steps), question=step["text"])]
    if step.get("kind") == "scale":
        lines.append(t("checkin.scale", scale=_scale_text(t, step)))
    return "\n".join(lines)


def checkin_opening(
    catalog: Catalog, locale: str, t: Teller, kind: str, *, number: int, names: str
) -> str:
    """The private message that opens a pair check-in: intro, first question, how to answer."""
    data = catalog.data(locale, "checkins").get("pair", {})
    intro = str(data.get(f"{kind}_intro", "")).format(number=number, names=names)
    steps = checkin_steps(catalog, locale)
    return "\n".join([intro, "", question_text(t, steps, 0), t("checkin.how")])


class CheckinFeature(Feature):
    """Owns the `checkin` command; features offer their check-ins through providers."""

    commands = CHECKIN_COMMANDS

    def __init__(self, typed_lines: TypedLines | None = None) -> None:
        self._providers: list[CheckinProvider] = []
        self._typed_lines = typed_lines

    def register_provider(self, provider: CheckinProvider) -> None:
        if any(existing.name == provider.name for existing in self._providers):
            raise ValueError(f"a check-in provider called {provider.name} is already registered")
        self._providers.append(provider)

    @property
    def providers(self) -> tuple[CheckinProvider, ...]:
        return tuple(self._providers)

    def bind(self, registry: Registry) -> None:
        registry.bind("checkin", self.checkin)

    async def has_open(self, ctx: Ctx) -> bool:
        """Whether any provider has asked the member a check-in that is still waiting (a plain line
        in private answers it)."""
        for provider in self._providers:
            if await provider.open_checkin(ctx, asked_only=True) is not None:
                return True
        return False

    async def checkin(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        answer = args.get("answer")
        # The check-in sent most recently goes first: it is the one the member was just told
        # `checkin` answers (an agreement's review reminder must not be queued behind a pair
        # check-in left open from an earlier round). Ties keep registration order.
        newest: tuple[CheckinProvider, OpenCheckin] | None = None
        for provider in self._providers:
            found = await provider.open_checkin(ctx)
            if found is not None and (newest is None or found.opened_at > newest[1].opened_at):
                newest = (provider, found)
        if newest is None:
            return [Answer(ctx.t("checkin.none_open"))]
        provider, found = newest
        intents = await provider.answer_checkin(ctx, found.checkin_id, answer)
        if answer and self._typed_lines is not None:
            # Typed in a shared channel, the answer was visible there; say so, gently.
            intents = [*intents, *await self._typed_lines.note(ctx, "checkin.typed_in_channel")]
        return intents


class PairCheckins:
    """Relational check-ins of pairing rounds, as a check-in provider."""

    name = "pairing"

    def __init__(self, services: Services, repo: PairingRepo) -> None:
        self.services = services
        self._repo = repo

    async def open_checkin(self, ctx: Ctx, *, asked_only: bool = False) -> OpenCheckin | None:
        # Every pair check-in is one the bot asked (halfway through a round, at its end).
        found = await self._repo.open_checkin_of(self.services.db, ctx.community.id, ctx.member.id)
        if found is None:
            return None
        steps = checkin_steps(self.services.catalog, ctx.locale)
        if found.step >= len(steps):
            return None
        return OpenCheckin(
            self.name, found.id, question_text(ctx.t, steps, found.step), found.opened_at
        )

    async def _share(self, tx: Tx, ctx: Ctx, pair_id: int, step: dict[str, Any], value: str, shown: str) -> None:
        """Post a shared answer into the pair's space, if that space is still open: in the
        space's language (its members' if they all share one, else the community's), the
        question and a scale's words included; a written answer is the member's own words."""
        pair = await self._repo.pair(tx, pair_id)
        if pair is None or pair.state != "active":
            raise Refusal("checkin.share_closed_circle" if _circle(ctx, pair) else "checkin.share_closed")
        members = [await self.services.members.get(tx, m) for m in pair.member_ids]
        lang = shared_locale(self.services.catalog, ctx.community, members)
        there = next(
            (s for s in checkin_steps(self.services.catalog, lang) if s.get("key") == step.get("key")), step
        )
        if there.get("kind") == "scale" and value.isdigit() and 1 <= int(value) <= len(there.get("scale", [])):
            shown = ctx.t_in(lang, "checkin.shared_scale", number=int(value), label=there["scale"][int(value) - 1])
        post = ctx.t_in(
            lang, "checkin.share_post", name=inline(ctx.member.label), question=there["text"], answer=shown
        )
        await self.services.outbox.add(tx, ctx.community.id, PairSpacePost(pair.space_key, post))

    async def answer_checkin(self, ctx: Ctx, checkin_id: int, answer: str | None) -> list[Intent]:
        steps = checkin_steps(self.services.catalog, ctx.locale)
        async with self.services.db.transaction() as tx:
            found = await self._repo.checkin(tx, checkin_id)
            if (
                found is None
                or found.member_id != ctx.member.id
                or found.community_id != ctx.community.id
                or found.closed
                or found.step >= len(steps)
            ):
                raise Refusal("checkin.gone")
            if answer is None:
                return [
                    Answer(question_text(ctx.t, steps, found.step) + "\n" + ctx.t("checkin.how"))
                ]
            text = answer.strip()
            lowered = text.lower()
            if lowered in DONE_WORDS:
                await self._repo.save_checkin(tx, found.id, found.step, found.answers, ctx.now)
                await self._repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
                return [Answer(ctx.t("checkin.stopped"))]
            share = False
            if lowered == SHARE_WORD:
                raise Refusal("checkin.share_needs_answer")
            if lowered.startswith(SHARE_WORD + " "):
                share = True
                text = text[len(SHARE_WORD) :].strip()
                lowered = text.lower()
            step = steps[found.step]
            value, shown = _read_answer(ctx, step, text, share)
            circle = False
            if share:
                circle = _circle(ctx, await self._repo.pair(tx, found.pair_id))
                await self._share(tx, ctx, found.pair_id, step, value or "", shown)
            answers = [
                *found.answers,
                {"key": step.get("key", str(found.step)), "answer": value, "shared": share},
            ]
            next_step = found.step + 1
            done = next_step >= len(steps)
            await self._repo.save_checkin(
                tx, found.id, next_step, answers, ctx.now if done else None
            )
            await self._repo.touch(tx, ctx.community.id, ctx.member.id, ctx.now)
        lines = [
            ctx.t(
                "checkin.skipped"
                if value is None
                else ("checkin.shared_circle" if circle else "checkin.shared")
                if share
                else "checkin.noted"
            )
        ]
        lines.append(ctx.t("checkin.finished") if done else question_text(ctx.t, steps, next_step))
        return [Answer("\n".join(lines))]


def _circle(ctx: Ctx, pair: Pair | None) -> bool:
    """Words for a circle: a group of three or more in a space that meets in circles."""
    return ctx.community.pair_size > 2 and pair is not None and len(pair.member_ids) > 2


def _read_answer(ctx: Ctx, step: dict[str, Any], text: str, share: bool) -> tuple[str | None, str]:
    """(the value stored, None when skipped; how it reads when shared) of one check-in answer."""
    lowered = text.lower()
    if lowered in SKIP_WORDS:
        if share:
            raise Refusal("checkin.share_needs_answer")
        return None, ""
    if step.get("kind") == "scale":
        scale = step.get("scale", [])
        number = int(lowered) if lowered.isascii() and lowered.isdigit() else 0
        if not 1 <= number <= len(scale):
            raise Refusal("checkin.bad_scale", max=len(scale), scale=_scale_text(ctx.t, step))
        return str(number), ctx.t("checkin.shared_scale", number=number, label=scale[number - 1])
    # Shared into the pair's space in the bot's voice: an inert quotation.
    return text, quote(text)
