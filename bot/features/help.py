"""`help [command]`, generated from the registry: what this member may run, with usage."""

from __future__ import annotations

from typing import Any

from bot.commands.parser import ParseError, find_command
from bot.commands.registry import Registry
from bot.commands.spec import Arg, ArgType, CommandSpec, Who
from bot.commands.words import command_words
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.feature import Feature
from bot.replies import Answer, Intent

COMMANDS = (CommandSpec("help", "commands.help", (Arg("command", ArgType.TEXT, required=False, max=60),)),)


class HelpFeature(Feature):
    commands = COMMANDS

    def __init__(self) -> None:
        # Every feature's commands, given by `bind` once App has built the registry.
        self._registry = Registry(())
        # The overview depends only on these (the registry and the prompts never change while
        # running), and `help` is the command members run most: render it once per kind.
        self._overviews: dict[tuple[str, str, bool], str] = {}

    def bind(self, registry: Registry) -> None:
        self._registry = registry
        registry.bind("help", self.help)

    def visible(self, ctx: Ctx) -> list[CommandSpec]:
        return [
            spec
            for spec in self._registry.specs()
            if spec.who is not Who.FACILITATOR or ctx.is_facilitator
        ]

    async def help(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        wanted = args["command"]
        if wanted:
            words = wanted.removeprefix(ctx.prefix).split()
            try:
                spec, used = find_command(self._registry, words, command_words(ctx.catalog), ctx.locale)
            except ParseError:
                # `help pair`: a group, not one command, gets the group's commands.
                group = self._group(ctx, words)
                if group is None:
                    raise Refusal("help.unknown", given=wanted) from None
                return [Answer(group)]
            if used != len(words):
                raise Refusal("help.unknown", given=wanted)
            who = ctx.t(f"help.who_{spec.who.value}")
            text = ctx.t("help.detail", usage=ctx.usage(spec), summary=ctx.t(spec.summary_key), who=who)
            # Some commands take more than their usage line shows (`checkin skip`, a schedule's
            # timezone and `from` date): an optional help.more.<command> says how.
            more = f"help.more.{spec.key}"
            if ctx.catalog.has(more):
                text += "\n" + ctx.t(more)
            return [Answer(text)]
        key = (ctx.locale, ctx.prefix, ctx.is_facilitator)
        if key not in self._overviews:
            self._overviews[key] = self._overview(ctx)
        return [Answer(self._overviews[key])]

    def _group(self, ctx: Ctx, words: list[str]) -> str | None:
        if len(words) != 1:
            return None
        # `help parejas` is `help pair`
        name = command_words(ctx.catalog).canonical_path(words)[0].lower()
        visible = {spec.name for spec in self.visible(ctx)}
        specs = [spec for spec in self._registry.groups().get(name, []) if spec.name in visible]
        if not specs:
            return None
        lines = [ctx.t(f"help.group.{name.replace('-', '_')}")]
        lines.extend(
            ctx.t("help.line", usage=ctx.usage(spec), summary=ctx.t(spec.summary_key)) for spec in specs
        )
        # A group may say more than its commands' lines (the agreement's section names).
        more = f"help.more.{name.replace('-', '_')}"
        if ctx.catalog.has(more):
            lines.append(ctx.t(more))
        lines.append(ctx.t("help.outro"))
        return "\n".join(lines)

    def _overview(self, ctx: Ctx) -> str:
        lines = [ctx.t("help.intro")]
        visible = {spec.name for spec in self.visible(ctx)}  # a set: `in` on specs compares fields
        sections: dict[str, list[CommandSpec]] = {}
        for group, specs in self._registry.groups().items():
            # Groups may share a heading (yes and no are both "Answering me").
            heading = ctx.t(f"help.group.{group.replace('-', '_')}")
            sections.setdefault(heading, []).extend(spec for spec in specs if spec.name in visible)
        for heading, shown in sections.items():
            if not shown:
                continue
            lines.append("")
            lines.append(heading)
            lines.extend(
                ctx.t("help.line", usage=ctx.usage(spec), summary=ctx.t(spec.summary_key))
                for spec in shown
            )
        lines.append("")
        lines.append(ctx.t("help.outro"))
        return "\n".join(lines)
