import pytest_asyncio

from tests.harness import make_harness


@pytest_asyncio.fixture
async def harness(tmp_path):
    h = await make_harness(tmp_path)
    yield h
    await h.close()
