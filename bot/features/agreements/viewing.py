"""What a pair agreement looks like to its parties: `agreement view`, `agreement history` and
the rendering the export and new versions share."""

from __future__ import annotations

from typing import Any

from bot.context import Ctx
from bot.features.agreements.content import (
    get_step,
)
from bot.features.agreements.pair_agreements import (
    DUTY_STEP,
    NUMBER_BY_SLOT,
    SECTION_COUNT,
    PairPart,
)
from bot.features.agreements.repo import AgreementRow
from bot.features.agreements.state import Status
from bot.replies import (
    Answer,
    Intent,
)
from bot.storage.db import Tx


class Viewing(PairPart):
    """`agreement view` and `agreement history`, and how content is rendered."""

    def render_content(
        self,
        ctx: Ctx,
        content: dict[str, Any],
        order: list[int],
        labels: dict[int, str],
        editable: str | None = None,
    ) -> str:
        """The sections as written. `editable` is the agreement's short id when this content can
        still be changed: only then does the missing review date come with the command that sets
        it (on an agreed or withdrawn version that command is refused)."""
        lines: list[str] = []
        empty: list[str] = []
        for section in self.sections(ctx.locale):
            key = section.slot
            heading = ctx.t("agreement.section_heading", number=section.number, title=section.title)
            shown = False
            for member_id in order:
                answer = get_step(content, member_id, key)
                if answer:
                    lines.extend([] if shown else [heading])
                    shown = True
                    lines.append(ctx.t("agreement.answer_line", name=labels[member_id], text=self._indent(answer)))
            for author in order:
                for about in order:
                    note = get_step(content, author, f"{key}@{about}")
                    if note:
                        lines.extend([] if shown else [heading])
                        shown = True
                        lines.append(
                            ctx.t(
                                "agreement.note_line",
                                author=labels[author],
                                about=labels[about],
                                text=self._indent(note),
                            )
                        )
            if key == DUTY_STEP:
                # The limits of confidentiality here are the space's own statement, shown with it.
                lines.extend([] if shown else [heading])
                shown = True
                lines.append(self._duty_line(ctx))
            if not any(get_step(content, m, key) for m in order) and not any(
                get_step(content, a, f"{key}@{b}") for a in order for b in order
            ):
                empty.append(str(section.number))
        if len(empty) == SECTION_COUNT:
            lines = [ctx.t("agreement.nothing_written"), *lines]
        elif empty:
            lines.append(ctx.t("agreement.no_answers", sections=", ".join(empty)))
        review = content.get("review_date")
        if review:
            lines.append(ctx.t("agreement.review_line", date=self._day(ctx, review + "T12:00:00+00:00")))
        elif editable:
            lines.append(ctx.t("agreement.no_review_line", id=editable))
        else:
            lines.append(ctx.t("agreement.no_review_line_plain"))
        return "\n".join(lines)

    def _describe_detail(self, ctx: Ctx, detail: dict[str, Any], labels: dict[int, str]) -> str:
        parts = []
        for member, sections in detail.get("answers", {}).items():
            parts.append(
                ctx.t(
                    "agreement.detail_answers" if len(sections) > 1 else "agreement.detail_answer",
                    name=labels.get(int(member), "?"),
                    sections=", ".join(str(NUMBER_BY_SLOT.get(s, s)) for s in sections),
                )
            )
        for author, about, section in detail.get("notes", []):
            parts.append(
                ctx.t(
                    "agreement.detail_note",
                    author=labels.get(author, "?"),
                    about=labels.get(about, "?"),
                    section=NUMBER_BY_SLOT.get(section, section),
                )
            )
        if detail.get("review_date"):
            parts.append(ctx.t("agreement.detail_review"))
        return "; ".join(parts) if parts else ctx.t("agreement.detail_none")

    async def view(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.deps.services.db.transaction() as tx:
            row = await self._resolve(tx, ctx, args.get("id"), "agreement view")
            return [Answer(await self._view_text(tx, ctx, row))]

    async def _view_text(self, tx: Tx, ctx: Ctx, row: AgreementRow) -> str:
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        order = row.ordered_joined
        lines = [
            ctx.t(
                "agreement.view_head",
                id=row.short_id,
                names=self._names(labels, row.ordered_ids),
                status=ctx.t(f"agreement.status_{row.status.value}"),
            )
        ]
        if row.invited:
            lines.append(ctx.t("agreement.view_invited", names=self._names(labels, [m for m in row.ordered_ids if m in row.invited])))
        if row.status is Status.WITHDRAWN:
            version = await self.repo.version(tx, row.id, row.in_force_version) if row.in_force_version else None
            lines.append(
                ctx.t(
                    "agreement.view_withdrawn",
                    when=self._day(ctx, row.withdrawn_at or ctx.now.isoformat()),
                    purge=self._day(ctx, row.purge_after or ctx.now.isoformat()),
                )
            )
            lines.append(self.render_content(ctx, version.content if version else row.draft, order, labels))
            return "\n".join(lines)
        if row.status is Status.REVISITING and row.in_force_version:
            in_force = await self.repo.version(tx, row.id, row.in_force_version)
            assert in_force is not None
            lines.append("")
            lines.append(ctx.t("agreement.view_in_force", version=row.in_force_version, when=self._when(ctx, in_force.created_at)))
            lines.append(self.render_content(ctx, in_force.content, order, labels))
            lines.append("")
            lines.append(ctx.t("agreement.view_negotiating"))
        if row.proposal_version is not None:
            waiting = [m for m in order if m not in row.accepted]
            lines.append(
                ctx.t(
                    "agreement.view_proposal",
                    version=row.proposal_version,
                    name=labels.get(row.proposed_by or 0, "?"),
                    accepted=self._names(labels, [m for m in order if m in row.accepted]),
                    waiting=self._names(labels, waiting),
                )
            )
            lines.append(self.render_content(ctx, row.draft, order, labels, row.short_id))
            lines.append(ctx.t("agreement.view_hint_proposed", id=row.short_id, version=row.proposal_version))
        elif row.status is Status.AGREED:
            version = await self.repo.version(tx, row.id, row.in_force_version or 0)
            assert version is not None
            lines.append(ctx.t("agreement.view_agreed", version=version.number, when=self._when(ctx, version.created_at)))
            lines.append(self.render_content(ctx, version.content, order, labels))
            lines.append(ctx.t("agreement.view_hint_agreed", id=row.short_id))
        else:
            lines.append(ctx.t("agreement.view_draft"))
            lines.append(self.render_content(ctx, row.draft, order, labels, row.short_id))
            lines.append(ctx.t("agreement.view_hint_draft", id=row.short_id))
        return "\n".join(lines)

    async def history(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        async with self.deps.services.db.transaction() as tx:
            row = await self._resolve(tx, ctx, args.get("id"), "agreement history")
            events = await self.repo.events(tx, row.id)
            ids = {e.member_id for e in events if e.member_id is not None} | set(row.ordered_ids)
            for event in events:
                ids.update(int(m) for m in event.detail.get("answers", {}))
                for author, about, _ in event.detail.get("notes", []):
                    ids.update((author, about))
            labels = await self._labels(tx, ctx.locale, ids)
        lines = [ctx.t("agreement.history_head", id=row.short_id)]
        for event in events:
            lines.append(
                ctx.t(
                    f"agreement.history_{event.kind}",
                    when=self._when(ctx, event.at),
                    name=labels.get(event.member_id or 0, "?"),
                    version=event.version or "",
                    changes=self._describe_detail(ctx, event.detail, labels),
                )
            )
        return [Answer("\n".join(lines))]
