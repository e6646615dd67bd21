"""Nothing is lost under crashes: two members negotiate an agreement in the real console process,
one proposes and the other accepts, and the process is killed -9 at seeded points across the
acceptance: before it is read, inside its transaction (a few milliseconds after its line), while
its answer and the other party's notice are printed, and during the commands after it. After a
restart the agreement is in a state the command sequence allows, never half-agreed, and each party
was told exactly once (give or take the one message in flight)."""

import random
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alongside.settings import Settings
from bot.replies import PrivateMessage
from bot.texts.catalog import Catalog
from tests.core.agreements.helpers import say, start_pair
from tests.e2e.console import run_console
from tests.harness import make_harness
from tests.trust.killing import run_and_kill

START = datetime(2026, 1, 5, 9, 0)
START_AWARE = START.replace(tzinfo=UTC)
SCRIPT = """\
/in private
/agreement start @sam
/as sam
/in private
/yes
/agreement edit 1 I feel at ease when either of us can say "not today" without explaining.
/as alex
/agreement edit 1 Being heard without being fixed.
/agreement edit 4 A short message first, then a call if we both want one.
/agreement propose
/as sam
/agreement accept v1
/agreement view
/as alex
/agreement view
/agreement history
/clock +1d
/as sam
/agreement history
"""
ACCEPT_LINE = "[private] sam> /agreement accept v1"
CATALOG = Catalog(Settings().prompts_dir)


def _text(key: str, **params: object) -> str:
    return CATALOG.text("en", key, prefix="/", **params)


@dataclass(frozen=True)
class Stored:
    short_id: str
    status: str
    proposal: tuple | None  # (version, hash, proposed by)
    in_force: tuple | None  # (version, hash)
    versions: dict[int, str]  # number -> hash
    acceptances: set[tuple[str, int, str]]  # (member, version, hash)
    events: list[tuple[str, str | None]]  # (kind, member)
    unsent: int


def _stored(db) -> Stored:
    conn = sqlite3.connect(db)
    try:
        names = dict(conn.execute("SELECT id, platform_user_id FROM members"))
        (agreement,) = conn.execute(
            "SELECT id, short_id, status, proposal_version, proposal_hash, proposed_by,"
            " in_force_version, in_force_hash FROM agreements"
        ).fetchall()
        aid, short_id, status, p_version, p_hash, p_by, f_version, f_hash = agreement
        versions = dict(
            conn.execute(
                "SELECT number, hash FROM agreement_versions WHERE agreement_id = ?", (aid,)
            )
        )
        acceptances = {
            (names[m], v, h)
            for m, v, h in conn.execute(
                "SELECT member_id, version, hash FROM agreement_acceptances WHERE agreement_id = ?",
                (aid,),
            )
        }
        events = [
            (kind, names.get(m))
            for kind, m in conn.execute(
                "SELECT kind, member_id FROM agreement_events WHERE agreement_id = ? ORDER BY id",
                (aid,),
            )
        ]
        (unsent,) = conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()
    finally:
        conn.close()
    return Stored(
        short_id,
        status,
        (p_version, p_hash, names.get(p_by)) if p_version is not None else None,
        (f_version, f_hash) if f_version is not None else None,
        versions,
        acceptances,
        events,
        unsent,
    )


def _assert_allowed(s: Stored, where: object) -> None:
    """What `start, yes, edit, propose (alex), accept (sam)` can leave behind: proposed with only
    the proposer's acceptance, or agreed by both on the one version, and nothing in between."""
    assert list(s.versions) == [1], where
    digest = s.versions[1]
    kinds = [kind for kind, _ in s.events]
    assert kinds.count("proposed") == 1, (where, kinds)
    if s.status == "proposed":
        assert s.proposal == (1, digest, "alex") and s.in_force is None, (where, s)
        assert s.acceptances == {("alex", 1, digest)}, (where, s.acceptances)
        assert "accepted" not in kinds and "agreed" not in kinds, (where, kinds)
    else:
        assert s.status == "agreed", (where, s.status)
        assert s.proposal is None and s.in_force == (1, digest), (where, s)
        assert s.acceptances == {("alex", 1, digest), ("sam", 1, digest)}, (where, s.acceptances)
        assert s.events.count(("accepted", "sam")) == 1 and kinds.count("agreed") == 1, (
            where,
            kinds,
        )
        assert kinds.index("proposed") < kinds.index("accepted") < kinds.index("agreed"), (
            where,
            kinds,
        )


def _kill_points(reference: str) -> list[tuple[int, float]]:
    """(kill after this many lines, then wait this long): one before the accept is read, a dozen
    inside its transaction and its printing (it takes a few milliseconds), a few while its answer
    and the notice are printed, and a few during the commands after it."""
    lines = reference.splitlines()
    accept = lines.index(ACCEPT_LINE) + 1  # its number, as run_and_kill counts lines
    rng = random.Random(20260105)
    points = [(accept - 1, 0.0), (accept, 0.0)]
    points += [(accept, round(rng.uniform(0.0005, 0.004), 5)) for _ in range(12)]
    points += [
        (accept + 1, 0.0),
        (accept + 1, round(rng.uniform(0.0002, 0.002), 5)),
        (accept + 2, 0.0),
    ]
    points += [(n, 0.0) for n in sorted(rng.sample(range(accept + 3, len(lines)), 6))]
    return points


def test_agreement_acceptance_survives_kill_9_at_twenty_points(tmp_path):
    reference = run_console(SCRIPT, tmp_path / "reference.db", start=START.isoformat()).stdout
    assert _stored(tmp_path / "reference.db").status == "agreed"
    points = _kill_points(reference)
    assert len(set(points)) >= 20
    outcomes: list[str] = []
    for run, (point, delay) in enumerate(points):
        where = (run, point, delay)
        db = tmp_path / f"run{run}.db"
        first = run_and_kill(
            SCRIPT,
            db,
            start=START.isoformat(),
            kill_after_lines=point,
            pipe_bytes=4096,
            delay=delay,
        )
        # The file as the crash left it (opening it recovers the write-ahead log, as a restart
        # would; a copy keeps the original for the restart itself).
        snapshot = tmp_path / f"run{run}.crashed.db"
        for suffix in ("", "-wal"):
            if (source := db.with_name(db.name + suffix)).exists():
                shutil.copy(source, snapshot.with_name(snapshot.name + suffix))
        crashed = _stored(snapshot)
        _assert_allowed(crashed, where)

        short_id = crashed.short_id
        agreed_answer = _text("agreement.agreed", id=short_id, version=1)
        notice = _text("agreement.agreed_notice", name="sam", id=short_id, version=1)
        is_agreed = _text("agreement.refused_is_agreed", id=short_id)
        sam_told = agreed_answer.splitlines()[0] in first
        # A shown answer is never rolled back, and a change that did not commit was never told.
        if sam_told or notice in first:
            assert crashed.status == "agreed", where
        if crashed.status == "proposed":
            assert not sam_told and notice not in first, where
        outcomes.append(
            "not accepted"
            if crashed.status == "proposed"
            else "accepted, nobody told yet"
            if not sam_told and notice not in first
            else "accepted, notice in flight"
            if crashed.unsent
            else "accepted and told"
        )

        # Restart a day later. sam, who saw no answer, types the command again, as anyone would;
        # then both look at the agreement.
        retry = "" if sam_told else "/agreement accept v1\n"
        second = run_console(
            f"/as sam\n/in private\n{retry}/agreement view\n/as alex\n/in private\n/agreement view\n",
            db,
            start=(START + timedelta(days=2)).isoformat(),
        ).stdout
        after = _stored(db)
        _assert_allowed(after, where)
        assert after.status == "agreed" and after.unsent == 0, (where, after)
        if retry:
            # Agreed by this retry, or (the first accept had committed) told that it is agreed.
            expected = agreed_answer if crashed.status == "proposed" else is_agreed
            assert expected.splitlines()[0] in second, (where, second)
        shown = first + second
        assert shown.count(agreed_answer.splitlines()[0]) <= 1, where
        # alex is told once; twice only if the notice was the message in flight at the kill.
        told_alex = shown.count(notice)
        assert told_alex == 1 or (told_alex == 2 and crashed.unsent == 1 and notice in first), (
            where,
            told_alex,
        )
        accepted_only = _text("agreement.accepted_notice", name="sam", id=short_id, version=1)
        assert accepted_only not in shown, where
        status_line = f"Agreement #{short_id} between alex and sam: agreed."
        assert second.count(status_line) == 2, (where, second)
    print(f"kill points {points}; outcomes {outcomes}")
    # The kills spanned the acceptance: some before it committed, some after.
    assert "not accepted" in outcomes and any(o.startswith("accepted") for o in outcomes), outcomes


async def test_an_acceptance_committed_just_before_a_crash_is_told_once_after_restart(tmp_path):
    """The narrowest window, made exact: the acceptance is committed and the process dies before
    its answer or the notice is out. After restart alex is told once (from the outbox), and sam,
    asking again, hears that it is agreed; nothing is accepted twice."""
    h = await make_harness(tmp_path)
    short_id = await start_pair(h)
    await say(h, "sam", f"agreement edit #{short_id} 1 Being heard without being fixed.")
    await say(h, "alex", f"agreement propose #{short_id}")
    h.sink.take()
    await h.app.handle_text(h.inv("sam", None), f"agreement accept #{short_id} v1", lambda _: None)
    await h.close()  # died here: the answer was never shown, the notice never delivered

    h = await make_harness(tmp_path, start=START_AWARE + timedelta(hours=1))
    told = [i for i in h.sink.take() if isinstance(i, PrivateMessage)]
    notice = _text("agreement.agreed_notice", name="sam", id=short_id, version=1)
    assert [(i.user_id, i.text) for i in told] == [("alex", notice)]
    assert await say(h, "sam", f"agreement accept #{short_id} v1") == _text(
        "agreement.refused_is_agreed", id=short_id
    )
    assert h.sink.take() == []
    _assert_allowed(_stored(h.path), "committed before the crash")
    await h.close()
