from collections.abc import Iterator

import pytest

from tests.jsclient.js_kit import JsClient, ensure_jsclient

# pytest only honours `pytest_plugins` in the root conftest, so the Synapse fixtures are
# imported by name here.
from tests.matrix_harness.fixtures import matrix_localpart, synapse  # noqa: F401


@pytest.fixture(scope="session")
def jsclient(pytestconfig: pytest.Config) -> Iterator[JsClient]:
    """matrix-js-sdk and Node 22, installed on first use (never skipped: a machine without
    Node and npm fails here with one line saying so)."""
    try:
        installed = ensure_jsclient()
    except Exception as problem:  # one clear line rather than a traceback through subprocess
        pytest.fail(str(problem), pytrace=False)
    # Shown in every run (not only on failure): the cold cost counts in CI.
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\njs members' set-up: {installed.setup_seconds:.1f}s, node {installed.node}")
    yield installed
