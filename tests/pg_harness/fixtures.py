"""pytest fixtures: the test PostgreSQL server and the `store` fixture that runs a test on both
engines (wired in tests/conftest.py).

* ``pg_server`` (session): one :class:`PostgresServer` per xdist worker, started the first time a
  test asks for PostgreSQL (about 2 s: initdb, start), removed at the end of the session. Not
  shared between workers: a server per worker needs no cross-process reference counting and
  leaves nothing behind when a worker dies (the server dies with it).
* ``pg_databases`` (session): fresh databases cloned from a migrated template.
* ``pg_url`` (function): the url of a fresh database with no schema, for PostgreSQL-only tests.
* ``store`` (function, parametrized ``sqlite`` / ``postgresql`` by ``pytest_generate_tests`` in
  tests/conftest.py): the :class:`~tests.harness.StoreChoice` of the test, also made the
  current one, so ``make_harness`` and the journeys' worlds open their stores on that engine.
  Databases it made are dropped after the test.

If PostgreSQL cannot start, every ``[postgresql]`` test fails with the reason (never a skip:
CI must run them). ``--engines sqlite`` runs only SQLite, for a quick local run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.harness import ENGINES, StoreChoice, use_store
from tests.pg_harness.databases import PgDatabases
from tests.pg_harness.server import PostgresServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engines",
        default=None,
        help="comma-separated store engines the storage tests run on (default: sqlite,postgresql)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: runs on SQLite only (the test reads SQLite's own files or tracing)"
    )


# Where a test using `store` runs on both engines: the storage, feature and journey tests (and
# the trust tests of the core's stored data, and the harness's own). Elsewhere (the adapters'
# tests, which use the core harness only to drive an adapter) SQLite only: the store under them
# is the same code, and running them twice would cost minutes for nothing the core's tests miss.
BOTH_ENGINES_UNDER = ("tests/core/", "tests/journeys/", "tests/trust/", "tests/pg_harness/")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test using `store` (itself or through `harness`) runs once per engine."""
    if "store" not in metafunc.fixturenames:
        return
    engines = selected_engines(metafunc.config)
    where = metafunc.definition.nodeid
    if metafunc.definition.get_closest_marker("sqlite_only") or not where.startswith(BOTH_ENGINES_UNDER):
        engines = [e for e in engines if e == "sqlite"] or ["sqlite"]
    metafunc.parametrize("store", engines, indirect=True)


def selected_engines(config: pytest.Config) -> list[str]:
    raw = config.getoption("engines", None) or ",".join(ENGINES)
    engines = [e.strip() for e in raw.split(",") if e.strip()]
    unknown = set(engines) - set(ENGINES)
    if unknown or not engines:
        raise pytest.UsageError(f"--engines: expected some of {', '.join(ENGINES)}, got {raw!r}")
    return engines


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    yield from PostgresServer().serving()


@pytest.fixture(scope="session")
def pg_databases(pg_server: PostgresServer) -> PgDatabases:
    return PgDatabases(pg_server)


@pytest_asyncio.fixture
async def pg_url(pg_databases: PgDatabases) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database's url (no schema: the test migrates it), dropped after
    the test: for the engine's own tests, which run on PostgreSQL only."""
    url = await pg_databases.fresh(empty=True)
    try:
        yield url
    finally:
        await pg_databases.drop(url)


@pytest_asyncio.fixture
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StoreChoice]:
    engine = getattr(request, "param", "sqlite")
    if engine == "postgresql":
        databases: PgDatabases = request.getfixturevalue("pg_databases")
        choice = StoreChoice(engine, databases.fresh, databases.clone)
    else:
        databases = None  # type: ignore[assignment]
        choice = StoreChoice(engine)
    use_store(choice)
    try:
        yield choice
    finally:
        use_store(None)
        if databases is not None:
            for url in choice.urls.values():
                await databases.drop(url)
