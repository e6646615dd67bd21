"""`alongside check --adapter matrix --online` against the test Synapse: a good token passes, a
refused one is named with exit code 3, and neither logs in nor creates anything."""

from __future__ import annotations

import asyncio

import pytest

from tests.ops.test_check import check, matrix_config

pytestmark = pytest.mark.timeout(120)


async def test_check_online_accepts_a_good_token_and_names_a_refused_one(synapse, matrix_localpart, tmp_path):
    user = await asyncio.to_thread(synapse.register, matrix_localpart("bot"))
    config = tmp_path / "config.toml"
    matrix_config(tmp_path, synapse.base_url)
    config.write_text(config.read_text().replace("@alongside:example.org", user.user_id))
    good = await asyncio.to_thread(
        check, "--config", str(config), "--adapter", "matrix", "--online",
        env={"ALONGSIDE_MATRIX_ACCESS_TOKEN": user.access_token},
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"accepts ALONGSIDE_MATRIX_ACCESS_TOKEN for {user.user_id}" in good.stdout
    bad = await asyncio.to_thread(
        check, "--config", str(config), "--adapter", "matrix", "--online",
        env={"ALONGSIDE_MATRIX_ACCESS_TOKEN": "syt_not_a_real_token"},
    )
    assert bad.returncode == 3
    assert "did not accept ALONGSIDE_MATRIX_ACCESS_TOKEN (M_UNKNOWN_TOKEN)" in bad.stdout
    assert "syt_not_a_real_token" not in bad.stdout + bad.stderr
    assert not (tmp_path / "data").exists()  # nothing was created
