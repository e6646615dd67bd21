"""The shape of the question bank: enough of every task, audience and depth, a content note on
every deep question, no near-duplicates, no filler tics (issue 14, the question bank)."""

import itertools
import re
import tomllib
from collections import Counter
from pathlib import Path

from bot.texts.catalog import AUDIENCES, DEPTHS, TASKS

QUESTIONS = Path(__file__).resolve().parents[2] / "prompts" / "en" / "questions.toml"

# Words that carry no topic: two questions sharing only these are not alike.
STOP = frozenset(
    "a an the and or of to in on at for with you your yours i me my it its is are was were be been"
    " do does did what how when where which who whose that this these those about from as by into"
    " than then there their they them each other one someone something anything would could might"
    " can will have has had if so not no more most some any just really even now own like feel"
    " feels feeling way ways us we our".split()
)


def bank() -> list[dict]:
    with QUESTIONS.open("rb") as handle:
        return tomllib.load(handle)["question"]


def topic_words(text: str) -> set[str]:
    """The content words of a question, with plain endings cut (feelings ~ feel, moving ~ mov)."""
    words = set()
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in STOP:
            continue
        for ending in ("ing", "ed", "es", "s"):
            if word.endswith(ending) and len(word) - len(ending) >= 4:
                word = word[: -len(ending)]
                break
        words.add(word)
    return words


def near_duplicates(texts: dict[str, str]) -> list[tuple[str, str]]:
    """Pairs sharing three or more topic words and at least 40% of all their topic words."""
    found = []
    for (a, ta), (b, tb) in itertools.combinations(texts.items(), 2):
        wa, wb = topic_words(ta), topic_words(tb)
        shared = wa & wb
        if len(shared) >= 3 and len(shared) / len(wa | wb) >= 0.4:
            found.append((a, b))
    return found


def test_counts_per_task_audience_and_depth() -> None:
    questions = bank()
    assert len(questions) >= 140
    per_task = Counter(task for q in questions for task in q["tasks"])
    assert all(per_task[task] >= 30 for task in TASKS), per_task
    per_audience = Counter(q["audience"] for q in questions)
    assert per_audience["pair"] >= 40 and per_audience["self"] >= 20, per_audience
    assert set(per_audience) == set(AUDIENCES)
    # Pair prompts open rounds that deepen as people meet again: every task at every depth.
    pair_cells = Counter((t, q["depth"]) for q in questions if q["audience"] == "pair" for t in q["tasks"])
    missing = [(t, d) for t in TASKS for d in DEPTHS if not pair_cells[(t, d)]]
    assert missing == []
    # Self prompts come in every depth too, so `questions reflect` can offer each.
    assert {q["depth"] for q in questions if q["audience"] == "self"} == set(DEPTHS)


def test_every_deep_question_has_a_content_note_and_only_a_real_one() -> None:
    for q in bank():
        note = q.get("content_note", "")
        if q["depth"] == "deep":
            assert note.strip(), q["id"]
        # A note is a few words naming the subject, not a sentence or a warning.
        assert len(note) <= 60 and not note.endswith((".", "!")), q["id"]


def test_no_near_duplicates() -> None:
    texts = {q["id"]: q["text"] for q in bank()}
    assert near_duplicates(texts) == []


def test_the_near_duplicate_check_catches_a_reworded_question() -> None:
    texts = {
        "a": "What does a good day look like for you these days?",
        "b": "What would a good day look like for you lately?",
        "c": "Where did your ideas about strength come from?",
    }
    assert near_duplicates(texts) == [("a", "b")]


def test_no_filler_tics() -> None:
    texts = [q["text"] for q in bank()]
    # "X, and what Y?" read as filler when it ended two dozen questions.
    tic = [t for t in texts if re.search(r", and (what|how|which|where|who|whose|when)\b", t)]
    assert len(tic) <= 10, tic
    assert sum("rather than" in t for t in texts) <= 3
    assert not [t for t in texts if re.search(r"moving towards .*rather than", t)]


def test_questions_are_open_and_never_advise() -> None:
    openers = re.compile(
        r"^(what|how|when|where|which|who|whose|at what|looking back|if one of you|in what)\b", re.I
    )
    for q in bank():
        text = q["text"]
        assert openers.match(text), q["id"]
        # No yes/no question hidden behind a lead-in ("So, do you ...?").
        assert not re.search(r"[,:;] (do|does|did|is|are|was|were|can|could|will|would|have|has) (you|i|we|it|there)\b", text, re.I), q["id"]
        assert not re.search(r"\byou (must|need to|should|ought to|have to)\b", text, re.I), q["id"]
        assert not re.search(r"\bsafe\b", text, re.I), q["id"]


def test_painful_assumptions_and_removed_techniques_stay_out() -> None:
    lowered = " ".join(q["text"].lower() for q in bank())
    for phrase in (
        "miracle",
        "makes you smile",
        "someone who loves you",
        "asking too much",
        "taking more than giving",
        "escaping into",
        "going a little better",
        "signs, in your body",
        "when you focus on what you want",
    ):
        assert phrase not in lowered, phrase
