"""`python -m bot` is an alias for the `alongside` command.

The composition root (which wires adapters to the core) lives in the `alongside` package so that the
core itself never imports an adapter.
"""

import runpy

runpy.run_module("alongside", run_name="__main__", alter_sys=True)
