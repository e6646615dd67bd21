"""The soak on PostgreSQL, with one and with several bot processes sharing the store (issue 19).

    .venv/bin/python -m bench.soak --store postgresql --processes 1,2,3 --quick
    .venv/bin/python -m bench.soak --store postgresql --processes 1,3     # the issue's size

One invocation starts its own PostgreSQL (tests/pg_harness: the machine's binaries on a free port
on 127.0.0.1, with durability turned back on: fsync, full-page writes and synchronous commit as a
production server has them) and measures, in the same run:

* raw asyncpg single-row transactional writes on one connection, and raw aiosqlite ones;
* the soak on SQLite, one process (the embedded default), for the figures beside;
* the soak on PostgreSQL with each number of processes asked for, each on a fresh database.

With N processes, every process builds the same world from the seed and serves the communities
whose index is its number modulo N, as a Discord shard range would (`owns`, bot/ownership.py):
it handles their members' commands, runs their scheduled work and delivers their outbox. Every
job run is still claimed in the shared `work_claims` table and the retention and reminder jobs
are fired by every process, so the processes do contend where the design lets them. Their
simulated clocks move day by day in step (files in a barrier folder), as real clocks would, and
each process reads what the others changed once a simulated day (`App.upkeep`). Each process
checks the soak's invariants for its own communities at the end, against the shared database
(every slot and round once, every message delivered once, no agreement lost, the server's whole
data folder searched for the private texts it wrote).

"Scheduled-work throughput" is the scheduled job runs (question slots, round steps, reminders,
retention; each with its claim and the deliveries it caused) done by all processes together per
second of wall clock. Commands and jobs are interleaved on each process's clock, so it moves with
the commands' rate too; read the ratio between one and two processes as the issue says: a check
that the processes do not serialise on a lock, on two cores shared with the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass
from pathlib import Path

from bench.soak import (
    OUTCOMES,
    Report,
    SoakConfig,
    percentile,
    raw_pg_write_throughput,
    raw_write_throughput,
)

# A production server's durability (the test harness turns all three off).
PER_COMMUNITY = ("questions", "pairing")
DURABLE = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on"}


# -- one worker process ------------------------------------------------------------------------------


def write_summary(report: Report, out: Path) -> None:
    """What the orchestrator needs from one process: figures, checks and violations as JSON, and
    every command latency and job run time as raw doubles beside it (merged for percentiles)."""
    latencies, jobs = array("d"), array("d")
    outcomes: dict[str, int] = {}
    kinds: dict[str, int] = {}
    kind_seconds: dict[str, float] = {}
    for phase in report.phases:
        for key, value in phase.job_kinds.items():
            kinds[key] = kinds.get(key, 0) + value
            kind_seconds[key] = kind_seconds.get(key, 0.0) + phase.job_seconds[key]
        latencies.extend(phase.latencies)
        jobs.extend(phase.job_runs)
        for key, value in phase.outcomes.items():
            outcomes[key] = outcomes.get(key, 0) + value
    with out.with_suffix(".lat").open("wb") as handle:
        latencies.tofile(handle)
    with out.with_suffix(".jobs").open("wb") as handle:
        jobs.tofile(handle)
    summary = {
        "commands": len(latencies),
        "command_seconds": sum(latencies),
        "job_runs": len(jobs),
        "job_seconds": sum(jobs),
        "job_kinds": kinds,
        "job_kind_seconds": kind_seconds,
        "wall": sum(p.wall for p in report.phases),
        "cpu": sum(p.cpu for p in report.phases),
        "deliveries": sum(p.deliveries for p in report.phases),
        "fuzzed": sum(p.fuzzed_commands for p in report.phases),
        "outcomes": outcomes,
        "peak_rss_mb": report.peak_rss_mb,
        "setup_seconds": report.setup_seconds,
        "barrier_seconds": report.barrier_seconds,
        "upkeep_seconds": report.upkeep_seconds,
        "command_seconds_by_phase": [sum(p.latencies) for p in report.phases],
        "db_bytes": report.db_bytes,
        "checks": report.checks,
        "violations": report.violations,
        "activity": dict(report.activity),
        "warnings": dict(report.warnings),
    }
    out.write_text(json.dumps(summary))


# -- the orchestrator -----------------------------------------------------------------------------


@dataclass
class RunFigures:
    label: str
    processes: int
    parts: list[dict]
    latencies: array
    jobs: array
    wall: float  # the slowest process's phases
    log: str  # the processes' records at WARNING and above (the first few kilobytes)

    @property
    def commands(self) -> int:
        return sum(p["commands"] for p in self.parts)

    @property
    def job_runs(self) -> int:
        return sum(p["job_runs"] for p in self.parts)

    @property
    def community_job_runs(self) -> int:
        """Runs of the per-community jobs (question slots, round steps): each done by the one
        process serving the community. The store-wide jobs (retention, agreement reminders and
        reviews) fire in every process and are claimed, so they are left out of the throughput."""
        return sum(p["job_kinds"].get(kind, 0) for p in self.parts for kind in PER_COMMUNITY)

    def scheduled_throughput(self) -> float:
        return self.community_job_runs / self.wall if self.wall else 0.0

    @property
    def violations(self) -> list[str]:
        return [v for p in self.parts for v in p["violations"]]

    def commands_per_second_in_commands(self) -> float:
        spent = sum(p["command_seconds"] for p in self.parts)
        return self.commands / spent if spent else 0.0

    def p(self, share: float) -> float:
        return percentile(self.latencies, share) * 1000


def _worker_command(config: SoakConfig, store: str | None, part: int, parts: int, folder: Path,
                    out: Path, data_dir: Path | None) -> list[str]:
    cmd = [
        sys.executable, "-m", "bench.soak", "--worker-summary", str(out),
        "--communities", str(config.communities), "--members", str(config.members),
        "--weeks", str(config.weeks), "--fuzz-weeks", str(config.fuzz_weeks),
        "--fuzz-share", str(config.fuzz_share), "--sessions", str(config.sessions_per_member_week),
        "--seed", str(config.seed), "--part", str(part), "--parts", str(parts), "--quiet",
        "--folder", str(folder / f"part-{part}"),
    ]
    if store:
        cmd += ["--store", store]
    if parts > 1:
        cmd += ["--barrier", str(folder / "barrier")]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    return cmd


def run_processes(config: SoakConfig, label: str, store: str | None, parts: int, folder: Path,
                  data_dir: Path | None, say) -> RunFigures:  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "barrier").mkdir(exist_ok=True)
    outs = [folder / f"summary-{k}.json" for k in range(parts)]
    say(f"{label}: {parts} process{'es' if parts > 1 else ''} running...")
    started = time.perf_counter()
    procs = [
        subprocess.Popen(_worker_command(config, store, k, parts, folder, out, data_dir))
        for k, out in enumerate(outs)
    ]
    codes = [proc.wait() for proc in procs]
    elapsed = time.perf_counter() - started
    if any(codes):
        raise SystemExit(f"{label}: a soak process failed (exit codes {codes})")
    summaries = [json.loads(out.read_text()) for out in outs]
    latencies, jobs = array("d"), array("d")
    for out in outs:
        latencies.frombytes(out.with_suffix(".lat").read_bytes())
        jobs.frombytes(out.with_suffix(".jobs").read_bytes())
    wall = max(s["wall"] for s in summaries)
    say(f"{label}: done in {elapsed:.0f} s")
    log = "".join(out.with_suffix(".log").read_text()[:3000] for out in outs if out.with_suffix(".log").exists())
    return RunFigures(label, parts, summaries, latencies, jobs, wall, log)


async def _fresh_database(server, name: str) -> str:  # type: ignore[no-untyped-def]
    """A new database on the bench's server, migrated once here so the processes start together."""
    import asyncpg

    from bot.storage.db import open_database

    admin = await asyncpg.connect(server.url("postgres"))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name}")
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    url = server.url(name)
    db = await open_database(url)
    await db.close()
    return url


def main_processes(config: SoakConfig, counts: list[int], with_sqlite: bool = True) -> None:
    from tests.pg_harness.server import PostgresServer

    def say(line: str) -> None:
        print(line, flush=True)

    with tempfile.TemporaryDirectory(prefix="alongside-soak-") as temporary:
        root = Path(config.folder or temporary)
        server = PostgresServer(settings=DURABLE).start()
        try:
            say(f"PostgreSQL {server.bindir.parent.name} on 127.0.0.1:{server.port} (fsync, full-page writes,"
                f" synchronous commit on); {os.cpu_count()} cores")
            raw_url = asyncio.run(_fresh_database(server, "raw"))
            half = max(config.raw_write_seconds, 2.0) / 2
            raw_pg = [asyncio.run(raw_pg_write_throughput(raw_url, half))]
            raw_sqlite = [asyncio.run(raw_write_throughput(root / "raw-1.db", half))]
            runs: list[RunFigures] = []
            if with_sqlite:
                runs.append(run_processes(config, "SQLite", None, 1, root / "sqlite", None, say))
            for n in counts:
                url = asyncio.run(_fresh_database(server, f"soak_{n}"))
                runs.append(run_processes(config, "PostgreSQL", url, n, root / f"pg-{n}", server.data_dir, say))
            raw_pg.append(asyncio.run(raw_pg_write_throughput(raw_url, half)))
            raw_sqlite.append(asyncio.run(raw_write_throughput(root / "raw-2.db", half)))
        finally:
            server.stop()
            server.cleanup()
    for line in report_lines(config, runs, sum(raw_pg) / 2, sum(raw_sqlite) / 2):
        print(line)


def report_lines(config: SoakConfig, runs: list[RunFigures], raw_pg: float, raw_sqlite: float) -> list[str]:
    c = config
    out = [
        "",
        f"Alongside soak on shared stores: {c.communities} communities, {c.members:,} members, {c.weeks} weeks"
        f" + {c.fuzz_weeks} weeks with {c.fuzz_share:.0%} of commands fuzzed (seed {c.seed})",
        f"raw asyncpg single-row transactional writes (one connection): {raw_pg:,.0f} per second",
        f"raw aiosqlite single-row transactional writes (WAL, synchronous=NORMAL): {raw_sqlite:,.0f} per second",
    ]
    base = {run.label: run for run in runs if run.processes == 1}
    for run in runs:
        raw = raw_pg if run.label == "PostgreSQL" else raw_sqlite
        per_cmd = run.commands_per_second_in_commands()
        outcomes = {o: sum(p["outcomes"].get(o, 0) for p in run.parts) for o in OUTCOMES}
        out += [
            "",
            f"{run.label}, {run.processes} process{'es' if run.processes > 1 else ''}:",
            f"  commands {run.commands:,} ({sum(p['fuzzed'] for p in run.parts):,} fuzzed): {per_cmd:,.0f} per second"
            f" of time in commands = {per_cmd / raw if raw else 0:.3f} x raw single-row writes;"
            f" {run.commands / run.wall:,.0f} per second of wall clock (all processes, {run.wall:.0f} s)",
            f"  command latency (handle_text + deliver_pending): p50 {run.p(0.5):.2f} ms, p99 {run.p(0.99):.2f} ms,"
            f" max {max(run.latencies, default=0) * 1000:.0f} ms",
            f"  scheduled work: {run.job_runs:,} job runs ({run.community_job_runs:,} question slots and round"
            f" steps: {run.scheduled_throughput():,.1f} per second of wall clock); job p50 {percentile(run.jobs, 0.5) * 1000:.2f} ms, p99 {percentile(run.jobs, 0.99) * 1000:.1f} ms",
            "  outcomes: " + ", ".join(f"{o} {n:,}" for o, n in outcomes.items()),
            "  per process: "
            + "; ".join(
                f"#{k} {p['activity'].get('communities', 0)} communities, {p['commands']:,} commands,"
                f" {p['job_runs']:,} jobs, peak RSS {p['peak_rss_mb']:.0f} MB, CPU {p['cpu']:.0f} s,"
                f" {p['command_seconds']:.1f} s in commands, {p['job_seconds']:.1f} s in jobs"
                f" ({', '.join(f'{k} {v:.1f}' for k, v in sorted(p['job_kind_seconds'].items()))}),"
                f" {p['upkeep_seconds']:.1f} s reading the others' changes, {p['barrier_seconds']:.1f} s waiting for them"
                for k, p in enumerate(run.parts)
            ),
            f"  database size: {max(p['db_bytes'] for p in run.parts) / 2**20:.1f} MB",
        ]
        for name, detail in run.parts[0]["checks"]:
            if run.processes == 1:
                out.append(f"  checked: {name}: {detail}")
        if run.processes > 1:
            out.append(f"  checked in each process: {', '.join(name for name, _ in run.parts[0]['checks'])}")
        warnings: dict[str, int] = {}
        for p in run.parts:
            for key, value in p["warnings"].items():
                warnings[key] = warnings.get(key, 0) + value
        if warnings:
            out.append("  log records at WARNING or above: " + ", ".join(f"{k} {v:,}" for k, v in sorted(warnings.items())))
        if run.log:
            out.append("  the first of them, as logged:")
            out += ["    " + line for line in run.log.splitlines()[:40]]
        out.append(f"  invariant violations: {len(run.violations)}")
        out += [f"    - {v}" for v in run.violations[:20]]
        one = base.get(run.label)
        if one is not None and run is not one:
            out.append(
                f"  against one process: scheduled-work throughput {run.scheduled_throughput() / one.scheduled_throughput():.2f} x,"
                f" commands over wall clock {run.commands / run.wall / (one.commands / one.wall):.2f} x"
            )
    out.append("")
    met = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    pg = [run for run in runs if run.label == "PostgreSQL"]
    total_violations = sum(len(run.violations) for run in runs)
    targets = [f"zero invariant violations on every run: {met(total_violations == 0)} ({total_violations})"]
    if pg:
        worst = max(run.p(0.99) for run in pg)
        targets.append(f"p99 under 20 ms on PostgreSQL: {met(worst < 20)} (worst {worst:.2f} ms)")
    one, two = base.get("PostgreSQL"), next((r for r in pg if r.processes == 2), None)
    if one is not None and two is not None:
        ratio = two.scheduled_throughput() / one.scheduled_throughput()
        targets.append(f"two processes >= 1.3 x one's scheduled-work throughput: {met(ratio >= 1.3)} ({ratio:.2f} x)")
    out.append("targets: " + "; ".join(targets))
    return out
