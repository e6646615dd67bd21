# The Matrix half of the journeys needs the test Synapse (see tests/matrix/conftest.py).
from tests.matrix_harness.fixtures import synapse  # noqa: F401
