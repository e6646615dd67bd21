"""AdapterState: the adapters' only way to their own rows (issue 15: no SQL in adapters)."""

from datetime import UTC, datetime

from bot.storage.adapter_state import AdapterState
from bot.storage.db import Database
from tests.harness import store_location

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


async def test_prefixes_match_literally_and_only_this_platforms_keys(tmp_path, store):
    db = await Database.open(await store_location(tmp_path, "a.db"))
    try:
        mine, theirs = AdapterState(db, "one"), AdapterState(db, "two")
        for key, value in {"a_x": "1", "abx": "2", "b%:y": "3", "bz:y": "4", "c:z": "5"}.items():
            await mine.put(key, value)
        await theirs.put("a_x", "other")
        assert await mine.items("a_") == [("a_x", "1")]
        assert sorted(await mine.items("b%", "c:")) == [("b%:y", "3"), ("c:z", "5")]
        assert await mine.items() == []
        async with db.transaction() as tx:
            assert sorted(await mine.items("a", tx=tx)) == [("a_x", "1"), ("abx", "2")]
            await mine.delete("a_x", "c:z", tx=tx)
        assert sorted(await mine.items("a", "c")) == [("abx", "2")]
        assert await theirs.get("a_x") == "other"
    finally:
        await db.close()


async def test_many_keys_are_deleted_at_once(tmp_path, store):
    db = await Database.open(await store_location(tmp_path, "a.db"))
    try:
        state = AdapterState(db, "one")
        keys = [f"missed:{n}" for n in range(1203)]
        for key in keys:
            await state.put(key, "{}")
        await state.put("kept", "yes")
        async with db.transaction() as tx:
            await state.delete(*keys, tx=tx)
        assert await state.items("missed:") == [] and await state.get("kept") == "yes"
    finally:
        await db.close()


async def test_keys_holding_a_value_are_found_deleted_or_emptied(tmp_path, store):
    db = await Database.open(await store_location(tmp_path, "a.db"))
    try:
        state, other = AdapterState(db, "one"), AdapterState(db, "two")
        await state.put("direct:!a", "@sam")
        await state.put("direct:!b", "@jo")
        await state.put("private:!c", "@sam")
        await state.put("own:!c", "@sam")
        await other.put("direct:!a", "@sam")
        assert await state.keys_where("direct:", "@sam") == ["direct:!a"]
        async with db.transaction() as tx:
            await state.delete_where("private:", "@sam", tx=tx)
            await state.clear_values_where("direct:", "@sam", tx=tx)
        assert sorted(await state.items("direct:", "private:", "own:")) == [
            ("direct:!a", ""), ("direct:!b", "@jo"), ("own:!c", "@sam"),
        ]
        assert await other.get("direct:!a") == "@sam"
    finally:
        await db.close()


async def test_private_channels_and_open_pair_spaces_are_read_per_platform(tmp_path, store):
    db = await Database.open(await store_location(tmp_path, "a.db"))
    try:
        state, other = AdapterState(db, "one"), AdapterState(db, "two")
        await state.set_private_channel("c|@sam", "!sam")
        await state.set_private_channel("c|@jo", "")
        await other.set_private_channel("c|@ann", "!ann")
        assert await state.private_channels() == {"c|@sam": "!sam", "c|@jo": ""}
        async with db.transaction() as tx:
            await state.forget_private_channel("c|@sam", tx=tx)
        assert await state.private_channels() == {"c|@jo": ""}
        await state.set_pair_space("c", "pair:1", "!p1")
        await state.set_pair_space("c", "pair:2", "!p2")
        await state.close_pair_space("c", "pair:2", NOW)
        await other.set_pair_space("c", "pair:3", "!p3")
        assert await state.open_pair_spaces() == [("c", "pair:1", "!p1")]
    finally:
        await db.close()
