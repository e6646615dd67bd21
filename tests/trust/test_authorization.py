"""Nobody gets in where they don't belong: every command × role × target, through the core and
through the console adapter's entry point (see authz_cases.py for the world and the roles).

Each case runs on a fresh copy of one world, built once per module. For every case:
* the outcome is the one PRODUCT.md §5 gives (facilitator commands refused for members, agreement
  commands refused for non-parties with the same answer as a nonexistent id, facilitators
  included; another member's or another community's ids answered like nonexistent ones);
* a refusal changes nothing at all (every row of every table), and nothing any command does
  touches the other community;
* nothing shown to anyone (answers, and everything delivered to others) holds words or names its
  audience may not see, a refusal names nobody, and facilitators' figures name nobody.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import all_commands
from bot.commands.spec import CommandSpec, Where
from tests.harness import START
from tests.trust.authz_cases import (
    DONE,
    FORBIDDEN,
    NOT_FOUND,
    PERMITTED,
    REFUSED,
    ROLES,
    SECRETS,
    TARGETS,
    Case,
    Expect,
    Run,
    Sandbox,
    World,
    build_cases,
    build_world,
    community_fingerprint,
    export_document,
    fingerprint,
    leaks,
)

# Case ids do not depend on the world's random agreement ids, so they can be listed at collection.
_PLACEHOLDER = World(
    template=Path(),
    now=START,
    agreements=dict.fromkeys("ABCD", "00000"),
    suggestions={"demo": 1, "elsewhere": 2},
    confirmations=dict.fromkeys(ROLES, 1),
    spaces={},
    community_ids={},
)
CASE_IDS = [case.id for case in build_cases(_PLACEHOLDER)]
PRIVATE_COMMANDS = {spec.name for spec in all_commands() if spec.where is Where.PRIVATE}

# Who wrote each token (an export holds only its member's own words).
AUTHORS = {
    "qv42": "sam2",
    "jx19": "jo3",
    "bn64": "ola5",
    "fh57": "kim7",
    "rt38": "lee8",
    "ds44": "mo9",
    "kq77": "sam2",
    "pv31": "jo3",
    "zq11": "sam2",
    "yb23": "lee8",
    "wj55": "rin4",
    "dm90": "alex1",
    "el01": "kim7",
    "el02": "kim7",
    "el03": "kim7",
}

EXPORTED = ("qv42", "jx19", "bn64", "fh57", "rt38", "kq77", "pv31", "zq11", "yb23")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return asyncio.run(build_world(tmp_path_factory.mktemp("authz-world")))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("authz-cases")


@pytest.fixture
async def sandbox(world, scratch, request) -> AsyncIterator[Sandbox]:
    """A fresh copy of the world for one test (a plain directory: pytest's tmp_path costs more
    than the case itself)."""
    directory = scratch / re.sub(r"[^\w.-]", "_", request.node.name)
    opened = await Sandbox.open(world, directory)
    try:
        yield opened
    finally:
        await opened.close()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def cases(world) -> dict[str, Case]:
    found = {case.id: case for case in build_cases(world)}
    assert list(found) == CASE_IDS
    return found


def unclassified(specs: tuple[CommandSpec, ...], cases: list[Case]) -> list[str]:
    """Commands (or command × role) the matrix has no case for."""
    covered = {(case.command, case.role) for case in cases}
    return [f"{spec.name} as {role}" for spec in specs for role in ROLES if (spec.name, role) not in covered]


async def test_every_command_of_the_registry_is_classified_for_every_role(world, sandbox):
    specs = sandbox.app.registry.specs()
    cases = build_cases(world, specs)
    assert unclassified(specs, cases) == []
    assert {case.command for case in cases} == {spec.name for spec in specs}
    assert {case.target for case in cases} <= set(TARGETS)
    assert len({case.id for case in cases}) == len(cases)
    # A command nobody has classified yet fails the matrix.
    newcomer = CommandSpec("pair swap", "commands.pair_status")
    assert unclassified((*specs, newcomer), build_cases(world, (*specs, newcomer)))[0] == "pair swap as member"


def test_the_matrix_covers_every_role_and_target():
    cases = build_cases(_PLACEHOLDER)
    by_role = {role: sum(case.role == role for case in cases) for role in ROLES}
    by_target = {target: sum(case.target == target for case in cases) for target in TARGETS}
    assert all(count >= len(all_commands()) for count in by_role.values()), by_role
    assert all(count > 0 for count in by_target.values()), by_target


async def _check(sandbox: Sandbox, case: Case, entry: str) -> Run:
    world = sandbox.world
    actor, community, other = case.actor, case.community, case.other_community
    before = await fingerprint(sandbox.db)
    other_before = await community_fingerprint(sandbox.db, world.community_ids[other])
    go = sandbox.core if entry == "core" else sandbox.console
    run = await go(actor, community, case.line, private=case.private)
    after = await fingerprint(sandbox.db)
    expect = case.expect
    expected_text = expect.text()
    where = f"{case.id} via {entry}: {case.line!r} -> {run.outcome} {run.answers}"

    assert run.outcome not in ("", "error", "invalid"), where
    if expect.kind == FORBIDDEN:
        assert run.outcome == "forbidden", where
    elif expect.kind in (NOT_FOUND, REFUSED):
        assert run.outcome == "refused", where
    elif expect.kind == DONE:
        assert run.outcome == "done", where
    else:
        assert expect.kind == PERMITTED and run.outcome in ("done", "refused"), where
        assert expect.not_text() not in run.answers, where
    if expected_text is not None:
        assert expected_text in run.answers, f"{where}\nexpected {expected_text!r}"
    if expect.kind in (FORBIDDEN, NOT_FOUND, REFUSED) or run.outcome == "refused" or expect.unchanged:
        changed = sorted(table for table in after if after[table] != before.get(table))
        assert changed == [], f"{where}\nchanged: {changed}"
    # Whatever happened here, the other community is exactly as it was.
    assert await community_fingerprint(sandbox.db, world.community_ids[other]) == other_before, where
    assert leaks(case, run) == [], where
    if expect.kind == NOT_FOUND and expect.baseline:
        # The answer for someone else's id is the answer for an id that doesn't exist.
        missing = await go(actor, community, expect.baseline, private=case.private)
        assert missing.outcome == "refused" and missing.answers == run.answers, (where, missing.answers)
    return run


def _extra_checks(case: Case, run: Run) -> None:
    text = "\n".join(run.answers)
    match case.check:
        case "help":
            facilitator_only = "/questions approve"
            if case.role in ("facilitator", "foreign_facilitator"):
                assert facilitator_only in text
            else:
                assert facilitator_only not in text
        case "review":
            home, away = ("yb23", "zq11") if case.role.startswith("foreign") else ("zq11", "yb23")
            assert home in text and away not in text
        case "export":
            document = export_document(run)
            assert document["member"]["platform_user_id"] == case.actor
            assert document["community"]["id"] == case.community
            content = run.seen[[s.what for s in run.seen].index("PrivateFile")].intent.content
            strangers = [
                token
                for token, author in AUTHORS.items()
                if token in content and (author != case.actor or SECRETS[token][0] != case.community)
            ]
            assert strangers == [], f"words not {case.actor}'s in {case.community} in their export: {strangers}"
            # Their own answers, check-ins and suggestions here are all there (space-agreement
            # texts and objection notes are not asked of the export here).
            mine = [
                token
                for token, author in AUTHORS.items()
                if author == case.actor and token in EXPORTED and SECRETS[token][0] == case.community
            ]
            assert all(token in content for token in mine), mine
            # A count of the member's own entries, never who is on the list.
            not_with = {"entries": 1} if case.role in ("party", "non_party") else {}
            assert document["pairing"]["not_with"] == not_with


@pytest.mark.parametrize("entry", ["core", "console"])
@pytest.mark.parametrize("case_id", CASE_IDS)
async def test_authorization(cases, case_id, entry, sandbox):
    case = cases[case_id]
    run = await _check(sandbox, case, entry)
    if entry == "core" and run.outcome == "done":
        _extra_checks(case, run)


# -- buttons and forms: ids a platform hands back, forged, copied or replayed -----------------

INTERACTIONS = {
    # name: (kind, id template, form values); {A} is agreement A, {hash} its proposal's hash,
    # {rin} the member id of rin4 (no party to A)
    "accept button": ("button", "agreement:accept:{A}:{hash}", None),
    "replayed accept button": ("button", "agreement:accept:{A}:00000000", None),
    "amend button": ("button", "agreement:amend:{A}:{hash}", None),
    "withdraw button": ("button", "agreement:withdraw:{A}", None),
    "form button": ("button", "agreement:form:{A}:1.2", None),
    "edit form": ("form", "agreement:edit:{A}:1", {"1": "Being asked first helps me."}),
    "forged note on a non-party's answer": ("form", "agreement:edit:{A}:1@{rin}", {"1@{rin}": "A note."}),
    "another feature's button": ("button", "pairing:end:1", None),
}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("interaction", list(INTERACTIONS))
async def test_buttons_and_forms_are_rechecked_against_storage(world, role, interaction, sandbox):
    kind, template, values = INTERACTIONS[interaction]
    row = await sandbox.db.fetchone(
        "SELECT proposal_hash FROM agreements WHERE short_id = ?", (world.agreements["A"],)
    )
    rin = await sandbox.db.fetchone(
        "SELECT id FROM members WHERE platform_user_id = 'rin4' AND community_id = ?", (world.community_ids["demo"],)
    )
    fill = {"A": world.agreements["A"], "hash": row[0][:8], "rin": rin[0]}
    custom_id = template.format(**fill)
    values = values and {key.format(**fill): value for key, value in values.items()}
    party = role == "party" and not any(word in interaction for word in ("replayed", "another", "forged"))
    if party:
        expect = Expect(DONE)
    elif "another" in interaction:
        expect = Expect(REFUSED, "dialog.stale")
    else:
        expect = Expect(NOT_FOUND, "agreement.no_such")
    case = Case(interaction, role, "own" if role == "party" else "others", custom_id, expect, True)
    before = await fingerprint(sandbox.db)
    other_before = await community_fingerprint(sandbox.db, world.community_ids[case.other_community])
    if kind == "button":
        run = await sandbox.press(case.actor, case.community, custom_id)
    else:
        run = await sandbox.submit(case.actor, case.community, custom_id, values)
    where = f"{interaction} by {role}: {run.outcome} {run.answers}"
    assert run.outcome == ("done" if party else "refused"), where
    if not party:
        assert run.answers == [expect.text()], where
        assert await fingerprint(sandbox.db) == before, where
    assert await community_fingerprint(sandbox.db, world.community_ids[case.other_community]) == other_before
    assert leaks(case, run) == [], where


# -- private commands typed in a shared channel ------------------------------------------------


@pytest.mark.parametrize(
    "case_id",
    [
        case.id
        for case in build_cases(_PLACEHOLDER)
        if case.role == "party" and case.target == "own" and case.private and case.command in PRIVATE_COMMANDS
    ],
)
async def test_private_commands_typed_in_a_channel_still_answer_privately(cases, case_id, sandbox):
    case = cases[case_id]
    run = await sandbox.core(case.actor, case.community, case.line, private=False)
    assert run.outcome not in ("error", "invalid"), run
    shown = [seen for seen in run.seen if seen.what != "delivery"]
    assert shown and all(seen.audience == {case.actor} for seen in shown), shown
    assert leaks(case, run) == []
