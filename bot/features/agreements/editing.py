"""Editing a pair agreement: `agreement edit`/`amend` typed in one go, the step-by-step
dialog, forms and buttons, and sending a new version to the others."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.commands import parser
from bot.commands.words import command_words
from bot.context import Ctx
from bot.errors import Refusal
from bot.features.agreements import state
from bot.features.agreements.content import (
    DATE_STEP,
    content_hash,
    diff,
    empty_content,
    get_step,
    set_step,
)
from bot.features.agreements.pair_agreements import (
    _DATE,
    ALL_STEPS,
    DUTY_STEP,
    FORM_PARTS,
    RESOURCES_STEP,
    SECTION_STEPS,
    WITHDRAW_ACTION,
    PairPart,
    _bad_characters,
)
from bot.features.agreements.repo import AgreementRow, normalise_short_id
from bot.features.agreements.state import Status
from bot.features.dialogs import MAX_FORM_FIELDS, Dialog
from bot.replies import (
    ActionButtons,
    Answer,
    FormField,
    FormRequest,
    Intent,
)
from bot.storage.communities import Member
from bot.storage.db import Tx
from bot.traits import traits_of


class Editing(PairPart):
    """`agreement edit`/`amend`, the step-by-step dialog (a dialog owner), forms and buttons."""

    def _value(self, ctx: Ctx, step: str, text: str) -> str | None:
        """Check one answer as typed: "-" clears it; dates and lengths are checked."""
        text = text.strip()
        if text == "-" or not text:
            return None
        if _bad_characters(text):
            raise Refusal("agreement.bad_characters")
        if step == DATE_STEP:
            if not _DATE.match(text):
                raise Refusal("agreement.bad_date", given=text[:40])
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise Refusal("agreement.bad_date", given=text[:40]) from None
            today = ctx.now.astimezone(self._tz(ctx.community)).date()
            if day <= today:
                raise Refusal("agreement.date_past", given=text)
            if day > parser.latest_review_date(today):
                raise Refusal(
                    "agreement.date_too_far",
                    years=parser.MAX_YEARS_AHEAD,
                    latest=parser.latest_review_date(today).isoformat(),
                )
            return day.isoformat()
        limit = self.deps.settings.max_section_length
        if len(text) > limit:
            raise Refusal("agreement.too_long", max=limit, given_length=len(text))
        return text

    def _split(self, args: dict[str, Any], locale: str) -> tuple[str | None, str | None, str | None]:
        """`agreement edit 3 my words` arrives as id="3": a section word is never an id. A long
        form (`agreement edit #K7M2Q what-matters my words`) is no command choice, so it arrives
        as the first word of the text."""
        ident, section, text = args.get("id"), args.get("section"), args.get("text")
        if ident is not None and self.section_step(ident, locale) is not None:
            text = " ".join(part for part in (section, text) if part) or None
            section, ident = ident, None
        if ident is not None and normalise_short_id(ident) is None:
            if ident.startswith("#"):
                # Written as an id ("#1"), so it is about an agreement, not a section.
                raise Refusal("agreement.no_such")
            raise Refusal("agreement.unknown_section", given=ident[:40], sections=self._section_names(locale))
        if section is None and text:
            first, _, rest = text.partition(" ")
            # Not before a mention: `amend #K7M2Q what-matters @sam ...` would turn a note into
            # the member's own answer (only the parser resolves mentions); it gets "which section?".
            if self.section_step(first, locale) is not None and not rest.lstrip().startswith(("@", "<@")):
                section, text = first, rest.strip() or None
        return ident, section, text

    def _section_names(self, locale: str) -> str:
        # the short names as this reader types them (`si-preocupa`); English ones work too
        words = command_words(self.deps.services.catalog)
        return ", ".join(words.value(locale, s.key) for s in self.sections(locale))

    async def edit(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        return await self._edit(ctx, args, None)

    async def amend(self, ctx: Ctx, args: dict[str, Any]) -> list[Intent]:
        return await self._edit(ctx, args, args.get("member"))

    async def _edit(self, ctx: Ctx, args: dict[str, Any], about_user: str | None) -> list[Intent]:
        ident, section, text = self._split(args, ctx.locale)
        step = self.section_step(section, ctx.locale)
        if section is not None and step is None:
            raise Refusal("agreement.unknown_section", given=section[:40], sections=self._section_names(ctx.locale))
        async with self.deps.services.db.transaction() as tx:
            row = await self._resolve(tx, ctx, ident, "agreement edit")
            if about_user is not None:
                about = await self.deps.services.members.find(tx, ctx.community.id, about_user)
                if about is None or about.id not in row.joined or about.id == ctx.member.id:
                    raise Refusal("agreement.note_not_party")
                if step is None or step == DATE_STEP:
                    raise Refusal("agreement.note_needs_section")
                step = f"{step}@{about.id}"
            self._check_editable(row)
            if text is None:
                steps = [step] if step is not None else list(ALL_STEPS)
                return await self._start_editing(tx, ctx, row, steps)
            if step is None:
                raise Refusal("agreement.section_needed", id=row.short_id)
            value = self._value(ctx, step, text)
            intents = await self._apply_changes(tx, ctx, row, {step: value})
        # Typed in a shared channel, the words were visible there; say so, gently.
        intents += await self.deps.services.typed_lines.note(ctx, "agreement.typed_in_channel")
        return intents

    def _check_editable(self, row: AgreementRow) -> None:
        if row.status is Status.WITHDRAWN:
            raise Refusal("agreement.refused_withdrawn", id=row.short_id)
        if row.status is Status.AGREED:
            raise Refusal("agreement.refused_is_agreed", id=row.short_id)

    async def _start_editing(self, tx: Tx, ctx: Ctx, row: AgreementRow, steps: list[str]) -> list[Intent]:
        if traits_of(ctx.invocation.community.platform).has_forms:
            if len(steps) <= MAX_FORM_FIELDS:
                return [await self._form(tx, ctx, row, steps)]
            return [await self._form_buttons(ctx, row)]
        intro = ctx.t(
            "agreement.dialog_intro" if ctx.invocation.private else "agreement.dialog_intro_channel",
            id=row.short_id,
        )
        return await self.deps.dialogs.open(tx, ctx, "agreement", str(row.id), steps, intro=intro, data={"stash": {}})

    async def _apply_changes(
        self, tx: Tx, ctx: Ctx, row: AgreementRow, changes: dict[str, str | None], *, quiet_same: bool = False
    ) -> list[Intent]:
        """Save a party's changes. With a version out for acceptance they form one amendment:
        a new version, sent to the others, which counts as its author's acceptance."""
        me = ctx.member.id
        after = row.draft
        for step, value in changes.items():
            after = set_step(after, me, step, value)
        before_hash, after_hash = row.draft_hash(), content_hash(after, row.joined)
        if quiet_same and before_hash == after_hash:
            return []
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        self._transition(state.change, row, me, before_hash, after_hash, labels=labels)
        await self.repo.save_draft(tx, row.id, after)
        titles = ", ".join(self._step_title(ctx, step, labels) for step in changes)
        if row.proposal_hash is None:
            hint = "agreement.saved_hint_revisiting" if row.status is Status.REVISITING else "agreement.saved_hint"
            return [Answer(ctx.t("agreement.saved", id=row.short_id, sections=titles) + "\n" + ctx.t(hint, id=row.short_id))]
        previous = await self.repo.version(tx, row.id, row.proposal_version or 0)
        number = await self.repo.add_version(tx, row.id, after, after_hash, me, ctx.now)
        await self.repo.event(
            tx, row.id, ctx.now, me, "amended", number, diff(previous.content if previous else empty_content(), after)
        )
        await self.repo.update(tx, row.id, ctx.now, proposal_version=number, proposal_hash=after_hash, proposed_by=me)
        await self.repo.accept(tx, row.id, me, number, after_hash, ctx.now)
        others = [m for m in row.ordered_joined if m != me]
        await self._send_version(tx, ctx, row, number, after, after_hash, labels, "agreement.amended_notice")
        return [
            Answer(
                ctx.t(
                    "agreement.amended",
                    id=row.short_id,
                    version=number,
                    sections=titles,
                    waiting=self._names(labels, others),
                )
            )
        ]

    async def _send_version(
        self,
        tx: Tx,
        ctx: Ctx,
        row: AgreementRow,
        number: int,
        content: dict[str, Any],
        digest: str,
        labels: dict[int, str],
        key: str,
    ) -> None:
        sid, short_hash = row.short_id, digest[:8]

        def version_for(member: Member) -> ActionButtons:
            # Each party reads the section titles and prompts in their own language; the
            # answers are the parties' own words, unchanged.
            their = ctx.to(member)
            body = self.render_content(their, content, row.ordered_joined, labels, row.short_id)
            head = their.t(key, name=ctx.member.label, id=row.short_id, version=number)
            hint = their.t("agreement.respond_hint", id=row.short_id, version=number)
            buttons = (
                (f"agreement:accept:{sid}:{short_hash}", their.t("agreement.button_accept")),
                (f"agreement:amend:{sid}:{short_hash}", their.t("agreement.button_amend")),
                (f"agreement:withdraw:{sid}", their.t("agreement.button_withdraw")),
            )
            return ActionButtons(member.platform_user_id, f"{head}\n\n{body}\n\n{hint}", buttons)

        await self._notify(tx, ctx.community.id, [m for m in row.ordered_joined if m != ctx.member.id], version_for)

    async def _dialog_row(self, tx: Tx, ctx: Ctx, dialog: Dialog) -> AgreementRow | None:
        row = await self.repo.get(tx, int(dialog.ref))
        if row is None or row.community_id != ctx.community.id or ctx.member.id not in row.joined:
            return None
        return row

    async def dialog_live(self, tx: Tx, ctx: Ctx, dialog: Dialog) -> bool:
        row = await self._dialog_row(tx, ctx, dialog)
        return row is not None and row.status is not Status.WITHDRAWN

    async def dialog_prompt(self, tx: Tx, ctx: Ctx, dialog: Dialog) -> str:
        row = await self._dialog_row(tx, ctx, dialog)
        assert row is not None
        step = dialog.step
        stash = dialog.data.get("stash", {})
        current = stash[step] if step in stash else get_step(row.draft, ctx.member.id, step)
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        extra = "" if step == DATE_STEP else await self._step_extra(ctx, step)
        return ctx.t(
            "agreement.dialog_step",
            position=dialog.position + 1,
            total=len(dialog.steps),
            title=self._step_title(ctx, step, labels),
            question=self._step_question(ctx, step) + (f"\n{extra}" if extra else ""),
            current=self._indent(current) if current else ctx.t("agreement.dialog_no_answer"),
        )

    async def dialog_answer(self, tx: Tx, ctx: Ctx, dialog: Dialog, text: str) -> list[Intent]:
        row = await self._dialog_row(tx, ctx, dialog)
        assert row is not None
        if row.status is Status.AGREED:
            raise Refusal("agreement.refused_is_agreed", id=row.short_id)
        value = self._value(ctx, dialog.step, text)
        if row.proposal_hash is not None:
            # A version is out for acceptance: gather the answers into one amendment at the end.
            dialog.data.setdefault("stash", {})[dialog.step] = value
            return []
        # Saved at once; the next step's question is all the member needs to see.
        await self._apply_changes(tx, ctx, row, {dialog.step: value}, quiet_same=True)
        return []

    async def dialog_finish(self, tx: Tx, ctx: Ctx, dialog: Dialog, reason: str) -> list[Intent]:
        row = await self._dialog_row(tx, ctx, dialog)
        assert row is not None
        stash: dict[str, str | None] = dialog.data.get("stash", {})
        prefix = ctx.t("agreement.dialog_expired") + "\n" if reason == "expired" else ""
        if reason == "replaced":
            prefix = ctx.t("agreement.dialog_replaced", id=row.short_id) + "\n"
        if stash:
            if row.status is Status.AGREED:
                labels = await self._labels(tx, ctx.locale, row.ordered_ids)
                kept = "\n".join(
                    ctx.t("agreement.kept_line", title=self._step_title(ctx, s, labels), text=v or "-")
                    for s, v in stash.items()
                )
                return [Answer(prefix + ctx.t("agreement.dialog_too_late", id=row.short_id) + "\n" + kept)]
            changed = await self._apply_changes(tx, ctx, row, stash, quiet_same=True)
            if changed:
                return [Answer(prefix + "\n".join(i.text for i in changed if isinstance(i, Answer)))]
            return [Answer(prefix + ctx.t("agreement.dialog_nothing_changed", id=row.short_id))]
        key = "agreement.dialog_done_revisiting" if row.status is Status.REVISITING else "agreement.dialog_done"
        if row.proposal_hash is not None:
            key = "agreement.dialog_nothing_changed"
        return [Answer(prefix + ctx.t(key, id=row.short_id))]

    def _allowed_steps(self, row: AgreementRow, member_id: int) -> set[str]:
        allowed = set(ALL_STEPS)
        for other in row.joined - {member_id}:
            allowed.update(f"{step}@{other}" for step in SECTION_STEPS)
        return allowed

    async def _form(self, tx: Tx, ctx: Ctx, row: AgreementRow, steps: list[str]) -> FormRequest:
        labels = await self._labels(tx, ctx.locale, row.ordered_ids)
        fields = tuple(
            FormField(
                key=step,
                label=traits_of(ctx.invocation.community.platform).label(self._step_title(ctx, step, labels)),
                max_length=10 if step == DATE_STEP else self.deps.settings.max_section_length,
                required=False,
                value=get_step(row.draft, ctx.member.id, step) or "",
                multiline=step != DATE_STEP,
            )
            for step in steps
        )
        return FormRequest(
            user_id=ctx.invocation.actor.user_id,
            form_id=f"agreement:edit:{row.short_id}:{'.'.join(steps)}",
            title=traits_of(ctx.invocation.community.platform).label(ctx.t("agreement.form_title", id=row.short_id)),
            fields=fields,
            text=ctx.t("agreement.form_text", id=row.short_id),
        )

    async def _form_buttons(self, ctx: Ctx, row: AgreementRow) -> ActionButtons:
        buttons = tuple(
            (f"agreement:form:{row.short_id}:{'.'.join(part)}", ctx.t(f"agreement.form_part_{index}"))
            for index, part in enumerate(FORM_PARTS, start=1)
        )
        # A form shows only a label per section, so what sections 4 and 12 show with their
        # questions (the space's resources, its duty-of-care statement) comes with the choice.
        lines = [ctx.t("agreement.form_choose", id=row.short_id)]
        for step in (RESOURCES_STEP, DUTY_STEP):
            extra = await self._step_extra(ctx, step)
            if extra:
                lines.extend(["", ctx.t("agreement.form_extra", title=self._step_title(ctx, step)), extra])
        return ActionButtons(ctx.invocation.actor.user_id, "\n".join(lines), buttons)

    async def _by_short(self, tx: Tx, ctx: Ctx, short_id: str) -> AgreementRow:
        return await self._resolve(tx, ctx, short_id or "-", "agreement view")

    async def submit_form(self, ctx: Ctx, form_id: str, values: dict[str, str]) -> list[Intent]:
        parts = form_id.split(":")
        if len(parts) != 4 or parts[1] != "edit":
            raise Refusal("agreement.no_such")
        steps = parts[3].split(".")
        async with self.deps.services.db.transaction() as tx:
            row = await self._by_short(tx, ctx, parts[2])
            if not set(steps) <= self._allowed_steps(row, ctx.member.id) or not set(values) <= set(steps):
                raise Refusal("agreement.no_such")
            self._check_editable(row)
            changes: dict[str, str | None] = {}
            for step in steps:
                if step not in values:
                    continue
                value = self._value(ctx, step, values[step] or "")
                if value != get_step(row.draft, ctx.member.id, step):
                    changes[step] = value
            if not changes:
                return [Answer(ctx.t("agreement.form_nothing_changed", id=row.short_id))]
            return await self._apply_changes(tx, ctx, row, changes)

    async def press_button(self, ctx: Ctx, custom_id: str) -> list[Intent]:
        parts = custom_id.split(":")
        action = parts[1] if len(parts) > 1 else ""
        short_id = parts[2] if len(parts) > 2 else ""
        extra = parts[3] if len(parts) > 3 else ""
        if len(parts) > 4 or action not in ("accept", "amend", "withdraw", "form", "revisit"):
            raise Refusal("agreement.no_such")
        async with self.deps.services.db.transaction() as tx:
            row = await self._by_short(tx, ctx, short_id)
            if action == "revisit":
                # Like `agreement revisit`: the state decides (already revisiting, withdrawn...).
                if extra:
                    raise Refusal("agreement.no_such")
                return await self._revisit(tx, ctx, row)
            if action in ("accept", "amend"):
                # The button belongs to one version: an old or copied one does nothing.
                if row.proposal_hash is None or len(extra) != 8 or not row.proposal_hash.startswith(extra):
                    raise Refusal("agreement.no_such")
                if action == "accept":
                    return await self._accept(tx, ctx, row, seen=row.proposal_hash)
                return [await self._form_buttons(ctx, row)] if traits_of(ctx.invocation.community.platform).has_forms else (
                    await self._start_editing(tx, ctx, row, list(ALL_STEPS))
                )
            if action == "withdraw":
                if extra or row.status is Status.WITHDRAWN:
                    raise Refusal("agreement.no_such")
                return [
                    await self.deps.services.confirmations.request(
                        tx,
                        ctx.community.id,
                        ctx.member.id,
                        ctx.member.platform_user_id,
                        WITHDRAW_ACTION,
                        {"agreement": row.id},
                        ctx.t(
                            "agreement.withdraw_confirm",
                            id=row.short_id,
                            minutes=self.deps.services.confirmations.fresh_minutes,
                        ),
                        ctx.t("agreement.withdraw_yes"),
                        ctx.t("agreement.withdraw_no"),
                    )
                ]
            steps = extra.split(".") if extra else []
            if not steps or len(steps) > MAX_FORM_FIELDS or not set(steps) <= self._allowed_steps(row, ctx.member.id):
                raise Refusal("agreement.no_such")
            self._check_editable(row)
            return [await self._form(tx, ctx, row, steps)]
