"""The JS members' set-up: never skipped, one clear line when Node or npm is missing, and free
the second time."""

from __future__ import annotations

import pytest

from tests.jsclient import js_kit as js


def test_without_node_or_npm_the_setup_fails_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no node, no npm
    monkeypatch.setenv(js.CACHE_ENV_VAR, str(tmp_path / "cache"))
    with pytest.raises(js.JsClientSetupError) as problem:
        js.ensure_jsclient()
    assert "\n" not in str(problem.value) and "npm" in str(problem.value)
    assert not (tmp_path / "cache").exists()  # nothing half-installed


def test_a_second_setup_reuses_the_install(jsclient, monkeypatch):
    def no_install(*_: object) -> None:
        raise AssertionError("npm ci ran again for an unchanged lockfile")

    monkeypatch.setattr(js, "_install", no_install)
    again = js.ensure_jsclient()
    assert again.root == jsclient.root and again.node == jsclient.node
    assert (again.root / "member.mjs").read_bytes() == (js.HERE / "member.mjs").read_bytes()
