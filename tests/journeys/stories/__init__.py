"""Whole stories of a space, each written once against :class:`tests.journeys.world.World`.

A story module has ``PEOPLE`` (the facilitator first) and ``async def play(w)``; every module
here is played by ``tests/journeys/test_journeys.py``."""
