import pytest_asyncio

from alongside.platforms import register_all_platforms
from tests.harness import make_harness

# Tests build invocations for every platform without starting its adapter: the core learns each
# platform's traits here, as the composition root does in production.
register_all_platforms()


@pytest_asyncio.fixture
async def harness(tmp_path):
    h = await make_harness(tmp_path)
    yield h
    await h.close()
