"""Test harness for Matrix: a real Synapse homeserver plus matrix-nio client helpers.

* :mod:`tests.matrix_harness.synapse` installs Synapse into its own virtualenv and runs
  it on 127.0.0.1 with SQLite (``SynapseServer``).
* :mod:`tests.matrix_harness.nio_kit` drives matrix-nio clients as room members.
* :mod:`tests.matrix_harness.fixtures` holds the pytest fixtures (session-scoped
  ``synapse``).
"""
