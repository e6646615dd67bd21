"""`resources`: the people and services this space lists, shown privately to whoever asks.

They come from the config (`[[resources]]`), grouped by region, each with what it says about
contacting emergency services in plain words, followed by the space's duty-of-care statement.
The bot never contacts any of them on anyone's behalf.
"""

from __future__ import annotations

from typing import Any

from bot.commands.registry import Registry
from bot.commands.spec import CommandSpec
from bot.config import DutyOfCare, Resource
from bot.context import Ctx
from bot.replies import Answer, Intent

COMMANDS = (CommandSpec("resources", "commands.resources"),)


class ResourcesFeature:
    def __init__(self, resources: list[Resource], duty_of_care: DutyOfCare) -> None:
        self._resources = list(resources)
        self._duty = duty_of_care

    def bind(self, registry: Registry) -> None:
        registry.bind("resources", self.resources)

    def text(self, ctx: Ctx) -> str:
        lines: list[str] = []
        if self._resources:
            lines.append(ctx.t("resources.intro"))
            regions: dict[str, list[Resource]] = {}
            for resource in self._resources:
                regions.setdefault(resource.region, []).append(resource)
            for region, items in regions.items():
                lines.append("")
                lines.append(ctx.t("resources.region", region=region))
                for item in items:
                    details = [item.contact]
                    if item.hours:
                        details.append(ctx.t("resources.hours", hours=item.hours))
                    if item.peer_run:
                        details.append(ctx.t("resources.peer_run"))
                    details.append(ctx.t(f"resources.policy_{item.intervention_policy.replace('-', '_')}"))
                    lines.append(ctx.t("resources.line", name=item.name, details="; ".join(details)))
        else:
            lines.append(ctx.t("resources.none"))
        lines.append("")
        lines.append(ctx.t("resources.duty", text=self._duty.text, version=self._duty.version))
        lines.append(ctx.t("resources.outro"))
        return "\n".join(lines)

    async def resources(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        return [Answer(self.text(ctx))]
