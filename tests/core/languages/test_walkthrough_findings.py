"""Found walking the console in Spanish (issue 18): what a facilitator and a member who chose
another language read back."""

from __future__ import annotations

from tests.harness import make_harness


async def test_setting_the_language_is_said_back_in_words(tmp_path, store) -> None:
    h = await make_harness(tmp_path)
    said = await h.say("alex", "setup locale es")
    # Not "Guardado: locale ahora es es.": the setting in the reader's words, the language by name.
    assert "idioma" in said and "español" in said
    assert "locale" not in said and " es." not in said
    assert await h.say("alex", "configurar idioma en") == "Saved: locale is now English."
    await h.close()


async def test_a_member_who_chose_english_reads_english_dates_in_a_spanish_space(tmp_path, store) -> None:
    h = await make_harness(tmp_path)
    await h.say("alex", "setup locale es")
    await h.say("alex", "pair schedule weekly mon 10:00 UTC")
    await h.say("jo", "mydata language en", channel=None)
    await h.say("jo", "pair join", channel=None)
    joined = await h.say("jo", "yes", channel=None)
    assert "You're in." in joined
    assert "Mon" in joined and "lun" not in joined  # was "The next round starts lun, 12 ene 2026"
    await h.close()
