import contextlib
import io
import sys
from collections.abc import Iterator

import pytest
import pytest_asyncio

from alongside.platforms import register_all_platforms
from tests.harness import StoreChoice, make_harness

# The test PostgreSQL server and the `store` fixture (tests/pg_harness/fixtures.py).
pytest_plugins = ["tests.pg_harness.fixtures"]

# Tests build invocations for every platform without starting its adapter: the core learns each
# platform's traits here, as the composition root does in production.
register_all_platforms()


@pytest_asyncio.fixture
async def harness(tmp_path, store: StoreChoice):
    h = await make_harness(tmp_path)
    yield h
    await h.close()


# Storage, feature and journey tests run on both engines, SQLite and PostgreSQL: every test that
# uses the `store` fixture (the `harness` fixture does) runs once per engine, its id ending in
# [sqlite] or [postgresql] (tests/pg_harness/fixtures.py: the parametrisation, `--engines`, and
# `@pytest.mark.sqlite_only`).


# The suite runs on pytest-xdist workers (`-n 2` in pyproject.toml). Session resources are safe
# across them: each worker starts its own Synapse (tests restart it, so it cannot be shared),
# and the one-off set-ups (Synapse's virtualenv, the npm install under .cache/jsclient) are
# serialised by file locks in tests/matrix_harness/synapse.py and tests/jsclient/js_kit.py.
#
# A worker's stdout goes nowhere, so the figures tests print with capture disabled (set-up
# costs, kill -9 counts, round trips) would vanish from CI logs. On a worker, what is printed
# inside `capsys.disabled()` is kept and sent to the controller, which shows it at the end.
_SHOWN_KEY = "alongside_shown"


@pytest.hookimpl(tryfirst=True)  # before xdist reads -n
def pytest_cmdline_main(config: pytest.Config) -> None:
    """One process, not two workers, when that is what the run needs: named tests only
    (`file::test`; starting two workers would cost more than the tests), `--pdb`, or `-s` (a
    worker's output is not shown live). An explicit `-n` on the command line always wins."""
    if any(arg.startswith(("-n", "--numprocesses")) for arg in config.invocation_params.args):
        return
    named_only = bool(config.args) and all("::" in arg for arg in config.args)
    if named_only or config.getoption("usepdb", False) or config.getoption("capture", None) == "no":
        config.option.numprocesses = 0

# Workers take tests one at a time in collection order, each keeping about three queued. Left
# in path order, the slowest tests (tens of seconds to two minutes each) come last and can pile
# up on one worker while the other idles; handed out first, the many short tests fill the gaps.
# Each prefix is a module (or family) whose tests take ~10 s or more each; slowest first.
_SLOW_FIRST = (
    "tests/trust/test_fuzz_lived.py",
    "tests/trust/test_kill9_",
    "tests/trust/test_fuzz",
    "tests/journeys/",
    "tests/core/pairing/test_circles.py",
    "tests/jsclient/",
    "tests/trust/test_authorization_matrix.py",
    "tests/ops/test_check.py",
    "tests/matrix/",
)


def _slow_rank(item: pytest.Item) -> int:
    path = item.nodeid
    return next((rank for rank, prefix in enumerate(_SLOW_FIRST) if path.startswith(prefix)), len(_SLOW_FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Only on workers (every worker sorts the same way, as xdist requires): a run in one
    # process keeps path order, so `-x` stops at the quick failures first.
    if hasattr(config, "workerinput"):
        items.sort(key=_slow_rank)  # stable: a module keeps its own order


class _Kept(io.StringIO):
    """A stand-in for stdout that keeps the text; fileno() still names the real one."""

    def __init__(self, real: object) -> None:
        super().__init__()
        self._real = real

    def fileno(self) -> int:
        return self._real.fileno()  # type: ignore[attr-defined]


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # not an xdist worker: stdout reaches the terminal
        return
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        return
    shown: list[str] = []
    config.stash[_shown_stash] = shown
    disabled = capture.global_and_fixture_disabled

    @contextlib.contextmanager
    def kept() -> Iterator[None]:
        with disabled():
            real, sys.stdout = sys.stdout, _Kept(sys.stdout)
            try:
                yield
            finally:
                text, sys.stdout = sys.stdout.getvalue(), real
                if text.strip():
                    shown.append(text)

    capture.global_and_fixture_disabled = kept


_shown_stash: pytest.StashKey[list[str]] = pytest.StashKey()


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workeroutput") and _shown_stash in config.stash:
        config.workeroutput[_SHOWN_KEY] = "".join(config.stash[_shown_stash])


_from_workers: list[tuple[str, str]] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    output = getattr(node, "workeroutput", None) or {}
    if output.get(_SHOWN_KEY):
        worker = (getattr(node, "workerinput", None) or {}).get("workerid", "a worker")
        _from_workers.append((worker, output[_SHOWN_KEY]))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for worker, text in _from_workers:
        terminalreporter.section(f"shown by tests on {worker}")
        terminalreporter.write(text if text.endswith("\n") else text + "\n")
