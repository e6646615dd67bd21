"""The console is repeatable: the same seed, start and script give the same transcript, ids
included (issue 12 hole 7); another seed gives other ids."""

from __future__ import annotations

import re

from tests.e2e.console import run_console

SCRIPT = """\
/as sam
/help
/as jo
/help
/as alex
/agreement start @sam
/agreement start @jo
/as sam
/yes
/agreement view
"""


def test_the_same_seed_gives_the_same_transcript(tmp_path):
    runs = []
    for n, seed in enumerate((7, 7, 8)):
        (tmp_path / str(n)).mkdir()
        result = run_console(SCRIPT, tmp_path / str(n) / "a.db", seed=seed)
        assert result.returncode == 0, result.stderr
        runs.append(result.stdout)
    ids = [re.findall(r"#([0-9A-Z]{5})", out) for out in runs]
    assert len(set(ids[0])) == 2, runs[0]
    assert runs[0] == runs[1]
    assert ids[2] != ids[0]
