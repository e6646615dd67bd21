"""Platform traits (issue 15): each adapter's traits say what the core used to decide by the
platform's name, and the core looks them up by a key it never interprets."""

from __future__ import annotations

from adapters.console import traits as console
from adapters.discord import traits as discord
from adapters.matrix import traits as matrix
from bot.app import App
from bot.traits import DEFAULT, PlatformTraits, traits_of


def test_each_adapter_says_what_its_platform_is_like():
    assert (discord.TRAITS.prefix, matrix.TRAITS.prefix, console.TRAITS.prefix) == ("/", "!", "/")
    assert [t.has_forms for t in (discord.TRAITS, matrix.TRAITS, console.TRAITS)] == [True, False, False]
    assert [t.mentions_are_members for t in (discord.TRAITS, matrix.TRAITS, console.TRAITS)] == [True, True, False]
    assert discord.TRAITS.form_label_limit == 45
    assert discord.TRAITS.commands_are_private and not matrix.TRAITS.commands_are_private


def test_mentions_are_written_the_platform_s_way():
    assert discord.TRAITS.mention("123") == "<@123>"
    assert matrix.TRAITS.mention("@sam:example.org") == "@sam:example.org"
    assert console.TRAITS.mention("sam") == "@sam"
    assert console.TRAITS.mention("@sam") == "@sam"  # not doubled


def test_labels_are_cut_only_where_the_platform_limits_them():
    long = "x" * 60
    assert discord.TRAITS.label(long) == "x" * 45
    assert console.TRAITS.label(long) == long


def test_an_unknown_platform_gets_the_plain_text_defaults_and_an_adapter_can_register_one():
    assert traits_of("somewhere-new") == DEFAULT
    shouty = PlatformTraits(prefix="?", mention_format="[{id}]")
    App.register_platform("test-only-platform", shouty)
    assert traits_of("test-only-platform") is shouty
    assert traits_of("test-only-platform").mention("kai") == "[kai]"


def test_the_tests_know_every_adapter_s_traits():
    assert traits_of(discord.PLATFORM) is discord.TRAITS
    assert traits_of(matrix.PLATFORM) is matrix.TRAITS
    assert traits_of(console.PLATFORM) is console.TRAITS
