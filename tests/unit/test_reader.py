"""The extractive reader's logic: question types, where a typed span may start, anti-echo,
answer types, and the copy constraint yielding only spans of the evidence (unit tests; the
real model reads in test_answer.py)."""

from __future__ import annotations

import random

import pytest

from rag.llm.constrain import CopyConstraint, vocabulary, word_ends, word_starts
from rag.reader import OPEN, check_span, is_echo, question_type, typed_starts


@pytest.mark.parametrize(("question", "kind"), [
    ("منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟", "when"),
    ("متى افتتح المعرض؟", "when"),
    ("في أي عام تأسست الشركة؟", "when"),
    ("كم اجتماعًا عقد بهذا الشكل؟", "how_many"),
    ("ما عدد السيارات المضبوطة؟", "how_many"),
    ("كم تبلغ تكلفة المشروع؟", "how_much"),
    ("ما قيمة العقد؟", "how_much"),
    ("من هي المتحدثة باسم الخارجية الروسية؟", "who"),
    ("ما اسم مدرب منتخب المبارزة؟", "who"),
    ("أين سيعقد الاجتماع العاجل؟", "where"),
    ("في أي مدينة يقع المستشفى؟", "where"),
    ("أي شركة فازت بالعقد؟", "which"),
    ("وما الدول الثلاث الضامنة؟", "what"),
    ("لماذا تأخر المشروع؟", OPEN),
    ("كيف ردت تركيا؟", OPEN),
    ("هل وافقت الحكومة؟", OPEN),
    ("ما موقف تركيا من الجيش الوطني السوري؟", OPEN),
    ("When did the talks start?", "when"),
    ("How many Astana-format meetings have been held?", "how_many"),
    ("How much did the stadium cost?", "how_much"),
    ("What was the cost of the project?", "how_much"),
    ("Who signed the agreement?", "who"),
    ("What is the name of the coach?", "who"),
    ("Where will the meeting be held?", "where"),
    ("In which city is the hospital?", "where"),
    ("Which company won the contract?", "which"),
    ("What did the ministry announce?", "what"),
    ("Why was the match postponed?", OPEN),
    ("How did Turkey respond?", OPEN),
    ("Summarise the talks.", OPEN),
    ("ماذا حدث في قاعدة العند الأسبوع الماضي؟", "event"),
    ("ما الذي جرى في جلسة مجلس الوزراء؟", "event"),
    ("What happened at Al-Anad air base?", "event"),
    ("ماذا قال المتحدث عن الحادث؟", OPEN),
    ("ماذا ضبط الجمرك؟", "what"),
])
def test_question_types(question: str, kind: str) -> None:
    assert question_type(question) == kind


EVIDENCE = ("وكانت هذه القوى الثلاث تجتمع منذ يناير2017.\n"
            "وقد عُقد ما مجموعه 22 اجتماعًا بهذا الشكل يوم الأربعاء.\n"
            "وقالت المتحدثة ماريا زاخاروفا إن الاجتماع مهم.")


def test_a_number_question_may_only_start_at_or_just_before_a_number() -> None:
    starts = typed_starts(EVIDENCE, "how_many")
    assert starts is not None
    words = {EVIDENCE[s:].split()[0] for s in starts}
    # "22" and the two words before it; "الثلاث" (three) and the year are numbers too.
    assert {"ما", "مجموعه", "22", "الثلاث", "يناير2017."} <= words
    assert not words & {"وقالت", "المتحدثة", "ماريا", "زاخاروفا", "إن", "الاجتماع", "مهم.", "وقد", "عُقد"}
    when = typed_starts(EVIDENCE, "when")
    assert when is not None and {EVIDENCE[s:].split()[0] for s in when} >= {"منذ", "يناير2017.", "يوم", "الأربعاء."}
    assert typed_starts(EVIDENCE, "who") is None and typed_starts(EVIDENCE, "what") is None


def test_an_echo_of_the_question_is_not_an_answer() -> None:
    q = "منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟"
    assert is_echo("تجتمع روسيا وإيران", q) and is_echo("وتركيا", q)
    assert check_span("روسيا وإيران وتركيا", q, "what") == "echo"
    assert not is_echo("منذ يناير2017", q) and check_span("منذ يناير2017", q, "when") == ""
    assert check_span("The Astana talks", "When did the Astana talks start?", "when") == "echo"


def test_a_span_of_the_wrong_type_is_not_an_answer() -> None:
    assert check_span("ماريا زاخاروفا", "كم اجتماعًا عقد؟", "how_many") == "type: no number"
    assert check_span("22 اجتماعًا", "كم اجتماعًا عقد؟", "how_many") == ""
    assert check_span("خمس مراحل", "كم مرحلة؟", "how_many") == ""  # a number word counts
    assert check_span("يناير 2017", "كم تبلغ التكلفة؟", "how_much") == "type: a date, not a quantity"
    assert check_span("2 مليار ريال", "كم تبلغ التكلفة؟", "how_much") == ""
    assert check_span("الاجتماع مهم", "متى عقد الاجتماع؟", "when") == "type: no date"
    assert check_span("يوم الأربعاء", "متى عقد الاجتماع؟", "when") == ""
    assert check_span("2017", "من المتحدثة؟", "who") == "type: a number, not a name"
    assert check_span("", "من المتحدثة؟", "who") == "empty"


# ------------------------------------------------------------------ the copy constraint

def _toy_vocab(text: str, seed: int = 0) -> dict[bytes, list[int]]:
    """Every single byte and character, the text's words with and without their leading
    space, and random byte slices of it (so tokens straddle character boundaries, as
    byte-level BPE tokens do), plus words the text does not contain."""
    data = text.encode()
    rng = random.Random(seed)
    pieces = {bytes([b]) for b in range(256)} | {ch.encode() for ch in text}
    for w in text.split():
        pieces |= {w.encode(), (" " + w).encode()}
    for _ in range(300):
        a = rng.randrange(len(data))
        pieces.add(data[a:a + rng.randint(1, 9)])
    pieces |= {" فرنسا".encode(), b"HACKED", b" 23"}
    return vocabulary(enumerate(sorted(pieces)))


def _decode(constraint: CopyConstraint, vocab: dict[bytes, list[int]], rng: random.Random, stop: int) -> str:
    by_id = {i: b for b, ids in vocab.items() for i in ids}
    for _ in range(60):
        allowed = constraint.allowed()
        assert allowed, "the constraint must always leave a way on or out"
        choice = rng.choice(sorted(allowed))
        if choice == stop:
            break
        constraint.advance(by_id[choice])
    return constraint.copied


def test_copy_constraint_yields_only_whole_word_spans_of_the_evidence() -> None:
    vocab = _toy_vocab(EVIDENCE)
    stop = 10_000
    ends = word_ends(EVIDENCE)
    for seed in range(40):
        rng = random.Random(seed)
        c = CopyConstraint(EVIDENCE, vocab, [stop])
        out = _decode(c, vocab, rng, stop)
        if not c.can_stop():
            continue  # ran out of steps mid-span: never returned as an answer
        assert out and out in EVIDENCE and "\n" not in out, out
        for a, b in c.spans():
            assert EVIDENCE[a:b] == out
            assert a in word_starts(EVIDENCE) and b in ends  # whole words, start to end


def test_copy_constraint_allows_a_leading_space_token_and_stops_only_at_a_word_end() -> None:
    vocab = _toy_vocab(EVIDENCE)
    stop = 10_000
    c = CopyConstraint(EVIDENCE, vocab, [stop])
    first = c.allowed()
    assert vocab[b" 22"][0] in first and vocab[b"22"][0] in first
    assert vocab[" فرنسا".encode()][0] not in first and vocab[b"HACKED"][0] not in first
    assert stop not in first  # nothing copied yet
    c.advance(b"2")
    assert stop not in c.allowed()  # "2" stops mid-number
    c.advance(b"2")
    assert stop in c.allowed()
    assert vocab[b" 23"][0] not in c.allowed()
    assert c.copied == "22" and [EVIDENCE[a:b] for a, b in c.spans()] == ["22"]


def test_copy_constraint_honours_typed_starts() -> None:
    vocab = _toy_vocab(EVIDENCE)
    starts = typed_starts(EVIDENCE, "how_many")
    c = CopyConstraint(EVIDENCE, vocab, [10_000], only_starts=starts)
    first = {b for b, ids in vocab.items() if set(ids) & c.allowed()}
    assert b" 22" in first and "ماريا".encode() not in first and " ماريا".encode() not in first


def test_a_since_when_question_starts_at_since_and_spans_must_hold_their_type() -> None:
    from rag.reader import since_starts, span_can_end

    starts = since_starts(EVIDENCE, "منذ متى تجتمع القوى الثلاث؟", typed_starts(EVIDENCE, "when"))
    assert starts == {EVIDENCE.index("منذ")}
    # Not a "since when" question, or no "since" before a date: the typed starts stand.
    assert since_starts(EVIDENCE, "متى عقد الاجتماع؟", {1, 2}) == {1, 2}
    assert since_starts("عقد الاجتماع يوم الأربعاء.", "Since when?", None) is None
    quantity, when = span_can_end("how_many"), span_can_end("when")
    assert quantity is not None and when is not None and span_can_end("who") is None
    assert quantity("ستة شروط") and quantity("22") and not quantity("ما مجموعه")
    assert when("منذ يناير2017") and not when("اليوم")
