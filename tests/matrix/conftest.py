# pytest only honours `pytest_plugins` in the root conftest, so the Synapse fixtures are
# imported by name here.
from tests.matrix_harness.fixtures import (  # noqa: F401
    matrix_localpart,
    synapse,
    synapse_rate_limited,
)
