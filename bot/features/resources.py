"""`resources`: the people and services this space lists, shown privately to whoever asks.

They come from the config (`[[resources]]`) and from the space's facilitators
(`resources add|edit|remove`, stored per community), grouped by region, each with what it says
about contacting emergency services in plain words, followed by the space's duty-of-care
statement. The bot never contacts any of them on anyone's behalf.

A facilitator writes a resource as labelled fields separated by semicolons, so each part is
unambiguous and an edit can change one part only:

    resources add name: Samaritans; contact: call 116 123; hours: 24/7; region: UK;
                  peer-run: no; policy: may-contact-emergency-services
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.commands.registry import Registry
from bot.commands.spec import Arg, ArgType, CommandSpec
from bot.config import DutyOfCare, Resource
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.feature import Feature
from bot.features.resources_repo import ResourcesRepo
from bot.replies import Answer, Intent
from bot.storage.db import Database
from bot.texts.catalog import Catalog

ACTIONS = ("add", "edit", "remove")
POLICIES = ("never-without-consent", "may-contact-emergency-services", "unknown")
# field as typed -> (column, longest value)
FIELDS: dict[str, tuple[str, int]] = {
    "name": ("name", 80),
    "contact": ("contact", 200),
    "hours": ("hours", 80),
    "region": ("region", 60),
    "peer-run": ("peer_run", 3),
    "policy": ("intervention_policy", 40),
}
_YES, _NO = ("yes", "y", "true"), ("no", "n", "false")
_LIMIT = 50  # resources one community may add

COMMANDS = (
    CommandSpec(
        "resources",
        "commands.resources",
        (
            Arg("action", ArgType.CHOICE, required=False, choices=ACTIONS),
            Arg("details", ArgType.TEXT, required=False, max=600),
        ),
    ),
)


def duty_of_care_text(duty: DutyOfCare, catalog: Catalog, locale: str) -> str:
    """The space's duty-of-care statement, word for word: the config's own text, or else the
    default wording in prompts/<locale>/ (linted and translatable like every other word)."""
    return duty.text.strip() or catalog.text(locale, "duty_of_care.default")


@dataclass(frozen=True)
class Listed:
    resource: Resource
    id: int | None = None  # stored ones only: what `resources edit <id>` takes


class ResourcesFeature(Feature):
    commands = COMMANDS

    def __init__(self, resources: list[Resource], duty_of_care: DutyOfCare, db: Database) -> None:
        self._resources = list(resources)
        self._duty = duty_of_care
        self._db = db
        self._repo = ResourcesRepo()

    def bind(self, registry: Registry) -> None:
        registry.bind("resources", self.resources)

    async def listed(self, community_id: int) -> list[Listed]:
        found = [Listed(r) for r in self._resources]
        for row in await self._repo.of_community(self._db, community_id):
            resource = Resource.model_construct(
                name=row[1], contact=row[2], hours=row[3], region=row[4] or "Everywhere",
                peer_run=bool(row[5]), intervention_policy=row[6],
            )
            found.append(Listed(resource, row[0]))
        return found

    async def text(self, ctx: Ctx) -> str:
        lines: list[str] = []
        listed = await self.listed(ctx.community.id)
        if listed:
            lines.append(ctx.t("resources.intro"))
            regions: dict[str, list[Listed]] = {}
            for entry in listed:
                regions.setdefault(entry.resource.region, []).append(entry)
            for region, items in regions.items():
                lines.append("")
                lines.append(ctx.t("resources.region", region=region))
                lines.extend(self._line(ctx, entry) for entry in items)
        else:
            lines.append(ctx.t("resources.none"))
        lines.append("")
        lines.append(ctx.t("resources.duty", text=self.duty_text(ctx), version=self._duty.version))
        lines.append(ctx.t("resources.outro"))
        return "\n".join(lines)

    def duty_text(self, ctx: Ctx) -> str:
        return duty_of_care_text(self._duty, ctx.catalog, ctx.locale)

    @property
    def duty_version(self) -> str:
        return self._duty.version

    def _line(self, ctx: Ctx, entry: Listed) -> str:
        item = entry.resource
        details = [item.contact]
        if item.hours:
            details.append(ctx.t("resources.hours", hours=item.hours))
        if item.peer_run:
            details.append(ctx.t("resources.peer_run"))
        details.append(ctx.t(f"resources.policy_{item.intervention_policy.replace('-', '_')}"))
        line = ctx.t("resources.line", name=item.name, details="; ".join(details))
        if entry.id is not None and ctx.is_facilitator:
            line += " " + ctx.t("resources.id", id=entry.id)
        return line

    async def lines(self, ctx: Ctx) -> list[str]:
        """One line per listed resource (for the pair agreement's "what has helped" section)."""
        return [self._line(ctx, entry) for entry in await self.listed(ctx.community.id)]

    async def resources(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        action, details = args["action"], args["details"]
        if action is None and details is not None:
            # An optional choice the parser does not know is left in the details.
            raise Refusal("resources.unknown_action", given=details.split()[0][:40])
        if action is None:
            return [Answer(await self.text(ctx))]
        if not ctx.is_facilitator:
            raise Refusal("perm.facilitator_only", usage=f"{ctx.prefix}resources {action}")
        if action == "add":
            return [await self._add(ctx, details or "")]
        number, rest = _take_id(ctx, action, details or "")
        if action == "remove":
            return [await self._remove(ctx, number)]
        return [await self._edit(ctx, number, rest)]

    async def _add(self, ctx: Ctx, details: str) -> Intent:
        fields = _parse_fields(details)
        missing = [name for name in ("name", "contact") if not fields.get(name)]
        if missing:
            raise Refusal("resources.add_needs", missing=ctx.formats.and_list(missing))
        async with self._db.transaction() as tx:
            if await self._repo.count(tx, ctx.community.id) >= _LIMIT:
                raise Refusal("resources.too_many", limit=_LIMIT)
            values = {column: value for column, value in _columns(fields).items()}
            values.setdefault("hours", "")
            values.setdefault("region", "")
            values.setdefault("peer_run", 0)
            values.setdefault("intervention_policy", "unknown")
            new_id = await self._repo.add(tx, ctx.community.id, values, ctx.now)
        return Answer(ctx.t("resources.added", name=values["name"], id=new_id))

    async def _edit(self, ctx: Ctx, number: int, details: str) -> Intent:
        fields = _parse_fields(details)
        if not fields:
            raise Refusal("resources.edit_needs", id=number)
        emptied = [name for name in ("name", "contact") if name in fields and not fields[name]]
        if emptied:
            raise Refusal("resources.add_needs", missing=ctx.formats.and_list(emptied))
        values = _columns(fields)
        async with self._db.transaction() as tx:
            name = await self._repo.name_of(tx, ctx.community.id, number)
            if name is None:
                raise Refusal("resources.not_found", id=number)
            await self._repo.update(tx, number, values, ctx.now)
        return Answer(ctx.t("resources.edited", name=values.get("name", name), id=number))

    async def _remove(self, ctx: Ctx, number: int) -> Intent:
        async with self._db.transaction() as tx:
            name = await self._repo.name_of(tx, ctx.community.id, number)
            if name is None:
                raise Refusal("resources.not_found", id=number)
            await self._repo.remove(tx, number)
        return Answer(ctx.t("resources.removed", name=name, id=number))


def _take_id(ctx: Ctx, action: str, details: str) -> tuple[int, str]:
    first, _, rest = details.strip().partition(" ")
    first = first.removeprefix("#")
    if not (first.isascii() and first.isdigit()) or int(first) < 1:
        raise Refusal(f"resources.{action}_needs_id")
    return int(first), rest


def _shown(value: str, limit: int = 80) -> str:
    """A member's words quoted back: whole when short, else cut visibly (never mid-quote)."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _policies() -> str:
    return ", ".join(POLICIES[:-1]) + " or " + POLICIES[-1]


def _parse_fields(text: str) -> dict[str, str]:
    """`name: X; contact: Y` -> {"name": "X", "contact": "Y"}; refuses unknown or repeated
    fields and values that are too long or not one of the choices."""
    fields: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        label, colon, value = part.partition(":")
        label = label.strip().lower().replace(" ", "-").replace("_", "-")
        if not colon or label not in FIELDS:
            raise Refusal("resources.bad_field", given=_shown(part.strip(), 60), known=", ".join(FIELDS))
        if label in fields:
            raise Refusal("resources.field_twice", field=label)
        value = " ".join(value.split())
        limit = FIELDS[label][1]
        if label == "peer-run":
            if value.lower() not in (*_YES, *_NO):
                raise Refusal("resources.bad_peer_run", given=_shown(value, 30))
        elif label == "policy":
            # One of the three choices, however spaced or capitalised; anything else is refused.
            choice = "-".join(value.lower().split())
            if choice not in POLICIES:
                raise Refusal("resources.bad_policy", given=_shown(value), known=_policies())
            value = choice
        elif len(value) > limit:
            raise Refusal("resources.too_long", field=label, max=limit, given_length=len(value))
        fields[label] = value
    return fields


def _columns(fields: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for label, value in fields.items():
        column = FIELDS[label][0]
        values[column] = (value.lower() in _YES) if label == "peer-run" else value
    if "peer_run" in values:
        values["peer_run"] = int(values["peer_run"])
    return values
