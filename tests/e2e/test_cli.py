import os
import subprocess
import sys

from tests.e2e.console import ROOT


def cli(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "alongside", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=60,
    )


def test_check_ok_for_the_shipped_files():
    result = cli("check", "--config", str(ROOT / "config.example.toml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok"


def test_check_lists_every_problem(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[community]\ntimezone = "Atlantis/Capital"\nlocal = "en"\n')
    result = cli("check", "--config", str(config))
    assert result.returncode == 1
    assert "community.timezone" in result.stdout and "community.local" in result.stdout


def test_run_with_bad_config_exits_2_without_traceback(tmp_path):
    missing = cli("run", "--config", str(tmp_path / "missing.toml"))
    assert missing.returncode == 2 and "missing.toml: no such config file" in missing.stderr
    config = tmp_path / "c.toml"
    config.write_text("[scheduling]\ngrace_minutes = \"soon\"\n")
    bad = cli("run", "--config", str(config))
    assert bad.returncode == 2 and "scheduling.grace_minutes" in bad.stderr
    assert "Traceback" not in bad.stderr
    bad_key = cli("run", "--db", str(tmp_path / "x.db"), env={"ALONGSIDE_DATA_KEY": "short"})
    assert bad_key.returncode == 2 and "data key" in bad_key.stderr
    bad_start = cli("run", "--db", str(tmp_path / "x.db"), "--start", "yesterday")
    assert bad_start.returncode == 2 and "--start" in bad_start.stderr


def test_prompts_lint_passes_shipped_files_and_reports_problems(tmp_path):
    assert cli("prompts", "lint").returncode == 0
    bad = tmp_path / "questions.toml"
    bad.write_text(
        '[[question]]\nid = "x-1"\ntext = "Are you safe tonight"\ntasks = ["connection"]\n'
        'audience = "group"\ndepth = "light"\n'
    )
    result = cli("prompts", "lint", str(bad))
    assert result.returncode == 1
    assert f"{bad}:3: question-mark:" in result.stdout
    assert f"{bad}:3: yes-no:" in result.stdout


def test_prompts_stats_counts_tasks_audiences_and_depths(tmp_path):
    shipped = cli("prompts", "stats")
    assert shipped.returncode == 0, shipped.stderr
    table = [line.split() for line in shipped.stdout.splitlines()]
    rows = {cells[0]: cells[1:] for cells in table if len(cells) == 5 and all(c.isdigit() for c in cells[1:])}
    for audience in ("group", "pair", "self"):
        assert all(int(n) > 0 for n in rows[audience][:3]), rows[audience]  # every depth stocked
    assert "deep without a content note: 0 (none)" in shipped.stdout
    bank = tmp_path / "questions.toml"
    bank.write_text(
        '[[question]]\nid = "x-1"\ntext = "What stays with you?"\ntasks = ["connection", "worldview"]\n'
        'audience = "pair"\ndepth = "deep"\n\n'
        '[[question]]\nid = "x-2"\ntext = "What do you notice?"\ntasks = ["worldview"]\n'
        'audience = "group"\ndepth = "light"\n'
    )
    result = cli("prompts", "stats", str(bank))
    assert result.returncode == 1  # a deep question without its note
    assert f"{bank}: 2 questions" in result.stdout
    assert "deep without a content note: 1 (x-1)" in result.stdout
    lines = result.stdout.splitlines()
    assert [line.split() for line in lines if line.startswith("  pair ")][0] == ["pair", "0", "0", "1", "1"]
    assert [line.split() for line in lines if line.startswith("  worldview ")][0] == ["worldview", "1", "1", "0", "2"]
    missing = cli("prompts", "stats", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_facilitators_reset_is_the_way_back_after_a_lock_out(tmp_path):
    from tests.e2e.console import run_console

    db = tmp_path / "a.db"
    locked = run_console(
        "/setup question-channel #nowhere\n/setup bogus value\n"
        "/setup facilitator-rule members:nobody\n/yes\n/setup timezone Europe/Paris\n/quit\n",
        db,
    )
    assert locked.returncode == 0, locked.stderr
    # The console knows its channels; a setting it does not know is named.
    assert 'can\'t find a channel "#nowhere"' in locked.stdout
    assert '"bogus" isn\'t a setting I know' in locked.stdout
    assert "you would no longer be a facilitator" in locked.stdout
    assert "is for the space's facilitators" in locked.stdout  # locked out, as confirmed
    unknown = cli("facilitators", "reset", "--community", "elsewhere", "--db", str(db), cwd=tmp_path)
    assert unknown.returncode == 2 and "console demo" in unknown.stderr
    reset = cli("facilitators", "reset", "--community", "demo", "--db", str(db), cwd=tmp_path)
    assert reset.returncode == 0, reset.stderr
    assert "was members:nobody, now the platform default" in reset.stdout
    back = run_console("/setup timezone Europe/Paris\n/quit\n", db)
    assert "Saved: timezone is now Europe/Paris." in back.stdout, back.stdout
