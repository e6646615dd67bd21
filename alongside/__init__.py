"""The composition root: builds the core and runs it with one adapter (console, Matrix, Discord)."""
