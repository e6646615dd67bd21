"""pytest fixtures for tests that need a real Synapse.

Wire into a test tree with ``pytest_plugins = ["tests.matrix_harness.fixtures"]`` in the
root ``tests/conftest.py``, or import the fixtures by name in a sub-directory conftest::

    from tests.matrix_harness.fixtures import synapse  # noqa: F401

Fixtures:

* ``synapse`` (session): one relaxed-rate-limit :class:`SynapseServer`, started once
  (installing Synapse into ``<repo>/.cache/synapse-venv`` on first use), stopped and its
  temp dir removed at the end of the session. Under pytest-xdist each worker starts its
  own (a few seconds; tests restart it and override its rate limits, which a server
  shared between workers would inflict on the other worker's tests); the install is
  serialised by a file lock.
* ``synapse_rate_limited`` (session, lazy): a second server whose ``rc_message`` is
  strict (0.5/s, burst 3) for everyone. Prefer ``synapse.override_ratelimit(...)``.
* ``matrix_localpart`` (function): a factory of unique localparts, ``"alice"`` ->
  ``"alice-1a2b3c4d"``, so tests sharing the session server never collide.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from .synapse import SynapseServer


@pytest.fixture(scope="session")
def synapse() -> Iterator[SynapseServer]:
    yield from SynapseServer().serving()


@pytest.fixture(scope="session")
def synapse_rate_limited() -> Iterator[SynapseServer]:
    yield from SynapseServer(rate_limited=True).serving()


@pytest.fixture
def matrix_localpart() -> Callable[[str], str]:
    def make(prefix: str = "user") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    return make
