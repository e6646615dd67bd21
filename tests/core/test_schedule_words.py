"""Schedule words in every locale (issue 18): `semanal lun,jue 19:30`, `cada 2 semanas lun 10:00`,
`mensual 15 10:00` and pairing's `tamano`/`juntos` work as well as the English, from each locale's
prompts/<locale>/schedule.toml, and schedules are shown back in the reader's words."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.scheduling.recurrence import parse_recurrence
from bot.texts.catalog import Catalog

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


def test_spanish_schedule_words_read_as_the_english_forms():
    words = Catalog(PROMPTS).schedule_words
    assert words.english("semanal lun,jue 19:30") == "weekly mon,thu 19:30"
    assert words.english("Cada 2 Semanas miércoles 10:00") == "every 2 weeks wed 10:00"
    assert words.english("cada 3 dias 08:00") == "every 3 days 08:00"
    assert words.english("diario 18:00") == "daily 18:00"
    assert words.english("mensual 15 10:00") == "monthly 15 10:00"
    assert words.english("semanal lun 10:00 tamaño 4 juntos 3") == "weekly mon 10:00 size 4 together 3"
    # English always works, and cron is read as typed (`mar` is March there, not martes).
    assert words.english("weekly mon,thu 19:30") == "weekly mon,thu 19:30"
    assert words.english("30 18 * mar mon") == "30 18 * mar mon"
    assert words.english("0 10 * * mon tamano 4") == "0 10 * * mon size 4"
    assert parse_recurrence(words.english("30 18 * mar mon")).text == "30 18 * mar mon"


def test_a_third_locale_only_adds_a_file(tmp_path):
    shutil.copytree(PROMPTS / "en", tmp_path / "en")
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "schedule.toml").write_text(
        '[words]\nhebdomadaire = "weekly"\nlundi = "mon"\n', encoding="utf-8"
    )
    assert Catalog(tmp_path).schedule_words.english("hebdomadaire lundi 10:00") == "weekly mon 10:00"


def test_monthly_fires_on_its_day_of_every_month():
    from datetime import UTC, datetime

    recurrence = parse_recurrence("monthly 15 10:00", "UTC")
    fires = recurrence.fires_between(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert [f.day for f in fires] == [15, 15, 15] and [f.month for f in fires] == [1, 2, 3]


async def test_spanish_schedule_words_work_in_an_english_space(harness):
    answer = await harness.say("alex", "/questions schedule semanal lun,jue 19:30 Europe/Madrid")
    assert "every Monday and Thursday at 19:30 (Europe/Madrid)" in answer, answer
    row = await harness.db.fetchone("SELECT recurrence FROM question_schedules")
    assert row[0] == "weekly mon,thu 19:30"


async def test_a_spanish_space_reads_its_schedule_back_in_spanish(harness):
    await harness.say("alex", "/setup locale es")
    answer = await harness.say("alex", "/questions schedule cada 2 semanas lun 10:00")
    assert "cada 2 semanas, el lunes, a las 10:00" in answer, answer
    status = await harness.say("alex", "/questions status")
    assert "cada 2 semanas, el lunes, a las 10:00" in status, status


async def test_monthly_in_spanish_and_a_bad_day_of_the_month(harness):
    answer = await harness.say("alex", "/questions schedule mensual 15 10:00")
    assert "on day 15 of every month at 10:00" in answer, answer
    refused = await harness.say("alex", "/questions schedule monthly 31 10:00")
    assert '"31"' in refused and "1 to 28" in refused, refused
    row = await harness.db.fetchone("SELECT recurrence FROM question_schedules")
    assert row[0] == "monthly 15 10:00"  # the refused one changed nothing


async def test_pair_schedule_reads_spanish_words_and_grouping(harness):
    answer = await harness.say("alex", "/pair schedule semanal lun 10:00 tamano 4 juntos 2")
    assert "every Monday at 10:00" in answer and "circles of about 4" in answer, answer
    row = await harness.db.fetchone("SELECT pair_size, pair_together FROM communities")
    assert tuple(row) == (4, 2)
