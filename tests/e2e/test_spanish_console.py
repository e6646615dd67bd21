"""End to end in Spanish (issue 18): the flows through the real `alongside run` console, scripted
with the English command words (they always work), for (a) a member who chose Spanish in an
English space, (b) a space whose language is Spanish, (c) a mixed pair, one reading Spanish and
one English. Scripts: tests/e2e/scripts/spanish_*.txt."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.test_pairing_console import after, transcript

_SPACE = re.compile(r"^\[pair space [^\]]*\] (.*)$")


def _space_lines(blocks, who: str, command: str) -> str:
    """What the pair's space showed after a command: from a "[pair space …]" line up to the
    next line the console starts with something else (a private line, a channel, the clock)."""
    lines, inside = [], False
    for line in after(blocks, who, command).splitlines():
        match = _SPACE.match(line)
        if match:
            inside = True
            lines.append(match.group(1))
        elif inside and (line.startswith(("[", "  (")) or line.startswith("The clock")):
            inside = False
        elif inside:
            lines.append(line)
    return "\n".join(lines)


def _channel(text: str) -> str:
    """Only what was posted in #circle (a post's first line and the indented lines after it)."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("[#circle] Alongside:"):
            inside = True
        elif not line.startswith("    "):
            inside = False
        if inside:
            lines.append(line)
    return "\n".join(lines)


def _export(text: str) -> dict:
    return json.loads(text[text.index("{") : text.rindex("}") + 1].replace("\n    ", "\n"))


def test_a_member_who_chose_spanish_in_an_english_space(tmp_path: Path):
    blocks = transcript("spanish_member.txt", tmp_path / "a.db")
    assert "Desde ahora te escribo en español" in after(blocks, "sam", "/mydata language es")
    shown = after(blocks, "sam", "/mydata language")
    assert "lo elegiste tú" in shown and "English (en), español (es)" in shown
    assert "Esto es lo que puedes usar" in after(blocks, "sam", "/help")
    # The question goes to the channel in the space's English; alex's own answer is English too.
    posted = after(blocks, "alex", "/questions now")
    assert "A question for the space:" in _channel(posted) and "I've posted a question" in posted
    assert "Una pregunta solo para ti" in after(blocks, "sam", "/questions reflect")
    # Consent, joining, the pair's space (both read Spanish), the check-in: Spanish.
    consent = after(blocks, "sam", "/pair join")
    assert "Antes de sumarte al emparejamiento" in consent and "¿Te gustaría sumarte?" in consent
    # The console's own hint under the question, in her language too (it was always English).
    assert "Responde /sí o /no." in consent and "Answer /yes or /no." not in consent
    assert "Ya estás dentro" in after(blocks, "sam", "/yes")
    scheduled = after(blocks, "alex", "/pair schedule weekly mon 10:00")
    assert "Pairing rounds will start" in scheduled and "The next pairing round starts" in _channel(scheduled)
    opened = after(blocks, "alex", "/clock +1h")
    assert "Hola, sam y jo. Este es su espacio privado para la ronda 1" in opened
    assert "Pairing round 1 has begun" in _channel(opened)
    assert "Estás en el emparejamiento" in after(blocks, "sam", "/pair status")
    mid = after(blocks, "sam", "/clock +84h")
    assert mid.count("A mitad de la ronda 1 con") == 2 and "bastante conexión" in mid
    assert "Anotado, solo para ti" in after(blocks, "sam", "/checkin 4")
    shared = after(blocks, "sam", "/checkin share caminar juntos nos hizo bien")
    assert "compartido en el espacio de la pareja" in shared and "sam comparte de su check-in" in shared
    # The pair agreement: invitation, sections and answers, all Spanish for both.
    started = after(blocks, "sam", "/agreement start @jo")
    assert "ha comenzado" in started and "le gustaría negociar un acuerdo contigo" in started
    proposed = after(blocks, "sam", "/agreement propose")
    assert "1. Lo que me importa" in proposed and "Caminar juntos y tener tiempo para pensar." in proposed
    assert "Lo que me importa" in after(blocks, "jo", "/agreement view")
    assert "queda acordado" in after(blocks, "jo", "/agreement accept v1")
    # The space agreement is posted in English; sam reads its headings in Spanish.
    drafted = after(blocks, "alex", "/space-agreement draft")
    assert "1. Why we're here" in _channel(drafted) and "Por qué estamos aquí" not in drafted
    show = after(blocks, "sam", "/space-agreement show")
    assert "1. Por qué estamos aquí" in show and "This is a peer space." in show
    exported = after(blocks, "sam", "/mydata export")
    assert "Aquí está todo lo que Alongside guarda sobre ti" in exported
    assert _export(exported)["core"]["language"] == {"chosen": "es", "client": ""}


def test_a_space_whose_language_is_spanish(tmp_path: Path):
    blocks = transcript("spanish_space.txt", tmp_path / "b.db")
    posted = after(blocks, "alex", "/questions now")
    assert "Una pregunta para el espacio:" in _channel(posted) and "Publiqué una pregunta" in posted
    assert "el idioma del espacio" in after(blocks, "sam", "/mydata language")
    assert "Antes de sumarte al emparejamiento" in after(blocks, "jo", "/pair join")
    scheduled = after(blocks, "alex", "/pair schedule weekly mon 10:00")
    assert "Las rondas de emparejamiento empezarán" in scheduled
    assert "La próxima ronda de emparejamiento empieza" in _channel(scheduled)
    opened = after(blocks, "alex", "/clock +1h")
    assert "Este es su espacio privado" in opened and "La ronda de emparejamiento 1 ha empezado" in _channel(opened)
    assert after(blocks, "sam", "/clock +84h").count("A mitad de la ronda 1") == 2
    proposed = after(blocks, "jo", "/agreement propose")
    assert "6. Si a alguien le preocupa" in proposed and "Pregúntame directamente cómo estoy." in proposed
    drafted = _channel(after(blocks, "alex", "/space-agreement draft"))
    assert "1. Por qué estamos aquí" in drafted and "Este es un espacio entre pares." in drafted
    change = after(blocks, "jo", "/space-agreement propose purpose Estamos aquí para escucharnos y aprender juntos.")
    assert "propone un cambio al acuerdo del espacio" in _channel(change)
    assert "Aquí está todo lo que Alongside guarda" in after(blocks, "jo", "/mydata export")
    # A member who chooses English in a Spanish space reads English from then on.
    assert "From now on I'll write to you in English" in after(blocks, "jo", "/mydata language en")
    status = after(blocks, "jo", "/pair status")
    assert "You're in pairing." in status and "Ronda 1: sam y jo" in status  # the space's own name


def test_a_mixed_pair_one_spanish_one_english(tmp_path: Path):
    blocks = transcript("spanish_mixed_pair.txt", tmp_path / "c.db")
    assert "Antes de sumarte al emparejamiento" in after(blocks, "sam", "/pair join")
    assert "What I keep" in after(blocks, "jo", "/pair join")
    # What the space reads is in its English; what each reads alone, in their own language.
    assert "A question for the space:" in _channel(after(blocks, "alex", "/questions now"))
    assert "1. Why we're here" in _channel(after(blocks, "alex", "/space-agreement draft"))
    assert "Una pregunta solo para ti" in after(blocks, "sam", "/questions reflect")
    assert "A question just for you" in after(blocks, "jo", "/questions reflect")
    assert "1. Por qué estamos aquí" in after(blocks, "sam", "/space-agreement show")
    assert "1. Why we're here" in after(blocks, "jo", "/space-agreement show")
    # Their shared space is in the space's English: they read different languages.
    opened = _space_lines(blocks, "alex", "/clock +1h")
    assert opened.startswith("Welcome, sam and jo.") and "Hola" not in opened
    mid = after(blocks, "sam", "/clock +84h")
    assert "A mitad de la ronda 1 con jo" in mid and "Halfway through round 1 with sam" in mid
    shared = after(blocks, "sam", "/checkin share 4")
    assert "Anotado, y compartido" in shared and "4 (fairly connected)" in _space_lines(blocks, "sam", "/checkin share 4")
    started = after(blocks, "sam", "/agreement start @jo")
    assert "ha comenzado" in started and "sam would like to negotiate an agreement with you" in started
    # Each reads the sections and prompts in their own language; the answers as written.
    proposed = after(blocks, "sam", "/agreement propose")
    assert "va de camino a jo" in proposed and "sam has proposed version 1" in proposed
    assert "1. What matters to me" in proposed and "6. If one of us is worried" in proposed
    assert "sam: Pregúntame directamente cómo estoy." in proposed
    view_jo = after(blocks, "jo", "/agreement view")
    assert "1. What matters to me" in view_jo and "Lo que me importa" not in view_jo
    view_sam = after(blocks, "sam", "/agreement view")
    assert "1. Lo que me importa" in view_sam and "jo: Walks, and time to think." in view_sam
    accepted = after(blocks, "jo", "/agreement accept v1")
    assert "You've accepted version 1" in accepted and "jo ha aceptado la versión 1" in accepted
    # Erasing: sam's words in Spanish, jo's notices in English; nothing of sam's choice remains.
    forgotten = after(blocks, "sam", "/yes", 1)
    assert "Se borró lo que Alongside guardaba sobre ti" in forgotten
    assert "sam has withdrawn from agreement" in forgotten and "This space has closed" in forgotten
    assert "You're not in pairing." in after(blocks, "sam", "/pair status")
