"""The answer path's stages with stand-ins for the models (the end-to-end answers are in
tests/integration/test_answer.py): holding back a bare marker or a question echo, finishing
a reply, reading by copying."""



from rag import Answer
from rag.answer.read import hold_bare as _hold_bare
from tests.conftest import ScriptedLLM


def test_hold_bare_releases_held_pieces_with_the_first_words() -> None:
    held: list[str] = []
    assert list(_hold_bare(["الإجابة", " هي", ": ", "5 دول", " [1]"], held)) == ["الإجابة هي: 5 دول", " [1]"]
    held = []
    assert list(_hold_bare(["[1]", "."], held)) == [] and held == ["[1]", "."]
    assert list(_hold_bare(["The", " answer", " is", " [2]"], [])) == []
    assert list(_hold_bare(["ال", "مسرح"], [])) == ["المسرح"]


def test_a_question_echo_is_held_only_while_it_is_one() -> None:
    q = "منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟"
    assert list(_hold_bare(["متى", " تجتمع", " روس"], [], q)) == []
    # The first word the question lacks releases everything held.
    assert list(_hold_bare(["متى", " تجتمع", " الدول", " منذ 2017"], [], q)) == ["متى تجتمع الدول", " منذ 2017"]
    # An answer that starts with the question's words but not with a question word streams at once.
    assert list(_hold_bare(["روسيا", " وإيران"], [], q)) == ["روسيا", " وإيران"]
    assert list(_hold_bare(["When", " did", " Astana"], [], "When did the Astana talks start?")) == []


# ------------------------------------------------------------------ finishing a reply (unit)
# The support check below runs on its word-overlap path: the stand-in embedder gives every
# text the zero vector, so no sentence is "close in meaning" and only shared words count.

S_SINCE = "وكانت هذه القوى الثلاث تجتمع لمناقشة مستقبل سوريا السياسي كجزء من عملية أستانا منذ يناير2017."
S_COUNT = "وقد عُقد ما مجموعه 22 اجتماعًا بهذا الشكل."


class _ZeroEmbedder:
    name, dim = "zero", 4

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        return [[0.0] * 4 for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return [0.0] * 4


REFUSAL = "لا تتضمن المصادر المتاحة إجابة عن هذا السؤال."


def _evidence(language: str = "ar", question: str = "منذ متى تجتمع الدول الثلاث؟", kind: str = "open"):  # type: ignore[no-untyped-def]
    """What the evidence stage would hand the reader: two sources, one sentence each."""
    from rag.answer.evidence import Closest, Evidence
    from rag.answer.plan import Plan, Request
    from rag.answer.retrieve import Retrieved
    from rag.support import SourceSentence
    from rag.types import ReaderKind, Source

    sources = (Source(1, "seed", "موسكو", "", "/seed.txt", S_SINCE, 0.9, spans=((100, 100 + len(S_SINCE)),)),
               Source(2, "other", "أنقرة", "", "/other.txt", S_COUNT, 0.8, spans=((50, 50 + len(S_COUNT)),)))
    shown = (SourceSentence(1, S_SINCE, 100, 100 + len(S_SINCE), (0.0,) * 4),
             SourceSentence(2, S_COUNT, 50, 50 + len(S_COUNT), (0.0,) * 4))
    reader = ReaderKind.GENERATIVE if kind == "open" else ReaderKind.EXTRACTIVE
    plan = Plan(Request(question), question, question, None, language, kind, reader, 5, None, None)
    retrieved = Retrieved(plan, None, question, None, (), (), (), (), False, 0, 0.0)
    return Evidence(retrieved, sources, shown, Closest(0.9, S_SINCE), 0.0, None, "", 1.0)


def _finish(raw: str) -> Answer:
    from rag import Config
    from rag.answer.check import check_free
    from rag.answer.cite import Citer
    from rag.answer.decide import decide
    from rag.answer.read import Reading
    from rag.llm import GenerationStats
    from rag.prompts import Prompts
    from rag.types import ReaderKind

    evidence = _evidence()
    reading = Reading(evidence, ReaderKind.GENERATIVE, GenerationStats(prompt_tokens=10), 0.1, raw=raw)
    checked = check_free(reading, _ZeroEmbedder(), REFUSAL)  # type: ignore[arg-type]
    # The check stage's verdict as it stands (the decision off; it has its own tests below).
    decision = decide(evidence, checked, Config().with_overrides(answer={"min_confidence": None}))
    return Citer(ScriptedLLM(), Prompts(Config().prompts_dir), lambda doc: ()).cite(evidence, decision, 0.0)


def test_a_reply_without_markers_is_attributed_to_the_source_that_supports_it() -> None:
    a = _finish("تجتمع القوى الثلاث ضمن عملية أستانا منذ يناير 2017.")
    assert not a.refused and a.diagnostics.attributed is True
    assert a.text.endswith("[1]") and [c.number for c in a.citations] == [1]
    assert a.citations[0].attributed and a.citations[0].quote == S_SINCE
    assert (a.citations[0].quote_start, a.citations[0].quote_end) == (100, 100 + len(S_SINCE))


def test_a_reply_no_sentence_of_which_is_supported_is_refused() -> None:
    a = _finish("فازت فرنسا بكأس العالم لكرة القدم عام 2018 [1].")
    assert a.refused and a.text == REFUSAL
    assert not a.citations and not a.sentences
    assert "فرنسا" in str(a.diagnostics.unsupported_answer)
    # One supported sentence is enough to keep the answer (the other is flagged, not cited).
    mixed = _finish("تجتمع القوى الثلاث ضمن عملية أستانا منذ يناير 2017 [1]. وفازت فرنسا بكأس العالم 2018.")
    assert not mixed.refused and [s.supported for s in mixed.sentences] == [True, False]


def test_a_marker_on_a_source_that_does_not_say_it_is_corrected() -> None:
    a = _finish("عقد ما مجموعه 22 اجتماعًا بهذا الشكل [1].")
    assert a.diagnostics.corrected_citations == 1 and "[2]" in a.text and "[1]" not in a.text
    assert [c.number for c in a.citations] == [2] and a.citations[0].quote == S_COUNT
    right = _finish("عقد ما مجموعه 22 اجتماعًا بهذا الشكل [2].")
    assert right.diagnostics.corrected_citations is None and [c.number for c in right.citations] == [2]


def test_correct_markers_repoints_only_unsupported_citations() -> None:
    from rag.answer.check import correct_markers as _correct_markers
    from rag.types import SentenceSupport

    def s(text: str, cited: tuple[int, ...], by: tuple[int, ...], best: int, ok: bool = True) -> SentenceSupport:
        return SentenceSupport(text, cited, ok, best, 0.9, "q", 0, 1, by)

    text = "A [1][3]. B [2]. C [1]. D."
    fixed, support, n = _correct_markers(text, [s("A [1][3].", (1, 3), (2,), 2), s("B [2].", (2,), (2, 3), 2),
                                                s("C [1].", (1,), (2,), 1, ok=False), s("D.", (), (1,), 1)])
    # A cites only sources that don't back it: one marker, to the one that does. B is
    # backed by what it cites; C is unsupported and D cites nothing: left alone.
    assert fixed == "A [2]. B [2]. C [1]. D." and n == 1
    assert [x.cited for x in support] == [(2,), (2,), (1,), ()]
    # The best-scoring supporting source wins when several back the sentence.
    assert _correct_markers("E [1].", [s("E [1].", (1,), (2, 3), 3)])[0] == "E [3]."


def test_is_refusal_recognises_the_phrase_and_close_paraphrases_only() -> None:
    from rag.answer.check import is_refusal as _is_refusal

    phrase = "لا تتضمن المصادر المتاحة إجابة عن هذا السؤال."
    assert _is_refusal(phrase, phrase) and _is_refusal("للأسف، " + phrase[:-1] + " [1].", phrase)
    assert _is_refusal("المصادر المتاحة لا تتضمن الإجابة عن السؤال", phrase)  # reworded, same words
    assert not _is_refusal("", phrase)
    assert not _is_refusal("منذ يناير 2017 [1].", phrase)
    # An answer that mentions the sources at length is an answer, not a refusal.
    long = "تتضمن المصادر المتاحة الإجابة: تجتمع روسيا وإيران وتركيا منذ يناير 2017 في إطار عملية أستانا [1]."
    assert not _is_refusal(long, phrase)
    en = "The available sources do not contain an answer to this question."
    assert _is_refusal("The available sources do not contain the answer.", en)


# ------------------------------------------------------------------ reading by copying (unit)


class _Copier(ScriptedLLM):
    """A model that 'copies' scripted spans (and writes scripted free replies, for the
    English rendering); records the start offsets it was allowed each time."""

    def __init__(self, spans: list[tuple[str, tuple[float, ...]]], *replies: list[str]) -> None:
        super().__init__(*replies)
        self.spans = list(spans)
        self.starts: list[set[int] | None] = []
        self.verdict = (-0.1, -3.0)  # log P(yes), log P(no)
        self.verified: list[object] = []
        self.none_logprob = -20.0  # the refusal word's first-token log-probability
        self.adapter: object = None
        self.reply_scores: dict[str, tuple[float, ...]] = {}  # score_replies' token log-probabilities
        self.scored: list[str] = []

    def copy_span(self, messages, evidence, stats, max_tokens=24, starts=None, bare_number_end=True,  # type: ignore[no-untyped-def]
                  none_text="", ends_when=None, alternatives=0):
        from rag.llm import CopiedSpan

        self.starts.append(starts)
        text, logprobs = self.spans.pop(0)
        at = evidence.find(text)
        return CopiedSpan(text, ((at, at + len(text)),) if at >= 0 else (), logprobs, True, self.none_logprob)

    def score_replies(self, messages, replies, stats):  # type: ignore[no-untyped-def]
        from rag.llm import ReplyScore

        self.scored = list(replies)
        return tuple(ReplyScore(self.reply_scores.get(r, (-3.0,)), -1.0) for r in replies)

    def choice_logprobs(self, messages, options, stats):  # type: ignore[no-untyped-def]
        self.verified.append(messages)
        return self.verdict


def _extract(llm: _Copier, question: str, kind: str, **answer: object) -> Answer:
    from rag import Config
    from rag.answer.check import check_copy
    from rag.answer.cite import Citer
    from rag.answer.decide import decide
    from rag.answer.read import CopyReader, Reading
    from rag.prompts import Prompts

    # The check stage's verdict as it stands (the decision off; it has its own tests below).
    cfg = Config().with_overrides(answer={"min_confidence": None, "rank_candidates": False, **answer})
    prompts = Prompts(cfg.prompts_dir)
    evidence = _evidence("en" if question.isascii() else "ar", question, kind)
    [reading] = list(CopyReader(cfg, llm, prompts).read(evidence, 0.0))
    assert isinstance(reading, Reading)
    decision = decide(evidence, check_copy(reading, cfg, llm, prompts), cfg)
    return Citer(llm, prompts, lambda doc: ()).cite(evidence, decision, 0.0)


def test_a_copied_span_is_the_answer_cited_with_its_sentence_and_offsets() -> None:
    a = _extract(_Copier([("22 اجتماعًا", (-0.1, -0.2))]), "كم اجتماعًا عقد؟", "how_many")
    assert not a.refused and a.reader == "extractive" and a.text == "22 اجتماعًا [2]."
    [c] = a.citations
    assert c.number == 2 and c.quote == S_COUNT and (c.quote_start, c.quote_end) == (50, 50 + len(S_COUNT))
    # The span's offsets in the article: the sentence's own offset plus the span's place in it.
    assert (c.span_start, c.span_end) == (50 + S_COUNT.index("22"), 50 + S_COUNT.index("22") + len("22 اجتماعًا"))


def test_an_echo_is_read_again_elsewhere_and_a_second_echo_is_refused() -> None:
    q = "منذ متى تجتمع القوى الثلاث؟"
    llm = _Copier([("تجتمع", (-0.1,)), ("منذ يناير2017", (-0.2, -0.1))])
    a = _extract(llm, q, "when")
    assert a.text.startswith("منذ يناير2017") and len(llm.starts) == 2
    # The second reading may not start where the echo did.
    echo_at = "\n".join((S_SINCE, S_COUNT)).find("تجتمع")
    assert llm.starts[1] is not None and echo_at not in llm.starts[1]
    twice = _extract(_Copier([("تجتمع", (-0.1,)), ("القوى الثلاث", (-0.1,))]), q, "when")
    assert twice.refused and twice.refusal_reason == "echo" and not twice.citations


def test_a_span_of_the_wrong_type_or_a_guess_is_refused_with_its_reason() -> None:
    wrong = _extract(_Copier([("بهذا الشكل", (-0.1,))]), "كم اجتماعًا عقد؟", "how_many")
    assert wrong.refused and wrong.refusal_reason == "no_span" and "no number" in wrong.diagnostics.reason
    guess = _extract(_Copier([("22 اجتماعًا", (-2.5, -3.0))]), "كم اجتماعًا عقد؟", "how_many",
                     min_span_logprob=-1.0)
    assert guess.refused and guess.refusal_reason == "low_confidence" and guess.diagnostics.span == "22 اجتماعًا"
    sure = _extract(_Copier([("22 اجتماعًا", (-0.5,))]), "كم اجتماعًا عقد؟", "how_many", min_span_logprob=-1.0)
    assert not sure.refused


def test_the_taught_reader_refuses_when_it_would_rather_write_the_refusal_word() -> None:
    q = "كم اجتماعًا عقد؟"

    def copier(none: float, adapter: object = None) -> _Copier:
        llm = _Copier([("22 اجتماعًا", (-1.5, -0.2))])
        llm.none_logprob, llm.adapter = none, adapter
        return llm

    # "auto": only a reader with the adapter (taught to write the word) refuses this way.
    assert not _extract(copier(-0.3), q, "how_many").refused
    taught = _extract(copier(-0.3, adapter="reader/akhbar-reader.gguf"), q, "how_many")
    assert taught.refused and taught.refusal_reason == "model" and "(none)" in taught.diagnostics.reason
    assert not _extract(copier(-2.0, adapter="a.gguf"), q, "how_many").refused  # the span's start wins
    assert _extract(copier(-0.3), q, "how_many", refuse_on_none="on").refused
    assert not _extract(copier(-0.3, adapter="a.gguf"), q, "how_many", refuse_on_none="off").refused


def test_a_span_the_model_does_not_confirm_is_refused_as_unverified() -> None:
    q = "كم اجتماعًا عقد؟"
    off = _Copier([("22 اجتماعًا", (-0.1,))])
    assert not _extract(off, q, "how_many").refused and not off.verified  # off: never asked
    yes = _Copier([("22 اجتماعًا", (-0.1,))])
    a = _extract(yes, q, "how_many", min_verify_margin=0.0)
    assert not a.refused and a.diagnostics.verify_margin == 2.9
    # The question continues the copy's conversation: the model's own span, then the question.
    [turns] = yes.verified
    assert turns[-2] == {"role": "assistant", "content": "22 اجتماعًا"} and "22 اجتماعًا" in turns[-1]["content"]
    no = _Copier([("22 اجتماعًا", (-0.1,))])
    no.verdict = (-2.0, -0.2)
    b = _extract(no, q, "how_many", min_verify_margin=0.0)
    assert b.refused and b.refusal_reason == "unverified" and not b.citations


def test_an_english_rendering_must_keep_the_span_s_numbers() -> None:
    q = "How many meetings were held?"
    kept = _extract(_Copier([("22 اجتماعًا", (-0.1,))], ["22", " meetings"]), q, "how_many")
    assert kept.text == "22 meetings [2]." and kept.diagnostics.span_rendered == "22 meetings"
    changed = _extract(_Copier([("22 اجتماعًا", (-0.1,))], ["twenty-three meetings"]), q, "how_many")
    assert changed.text == "22 اجتماعًا [2]." and changed.diagnostics.span_rendered is None  # the span itself


def _decided(llm: _Copier, question: str, kind: str, weight: float, **answer: object) -> Answer:
    """A copied answer through the decide stage, with a one-feature confidence model
    (P = σ(3 + weight · span_logprob)) and the threshold ``answer.min_confidence``."""
    from rag import Config
    from rag.answer.check import check_copy
    from rag.answer.cite import Citer
    from rag.answer.decide import FEATURES, ConfidenceModel, decide
    from rag.answer.read import CopyReader, Reading
    from rag.prompts import Prompts

    cfg = Config().with_overrides(answer=answer)
    prompts = Prompts(cfg.prompts_dir)
    evidence = _evidence("en" if question.isascii() else "ar", question, kind)
    [reading] = list(CopyReader(cfg, llm, prompts).read(evidence, 0.0))
    assert isinstance(reading, Reading)
    model = ConfidenceModel(FEATURES, (0.0,) * len(FEATURES), (1.0,) * len(FEATURES),
                            tuple(weight if n == "span_logprob" else 0.0 for n in FEATURES), 3.0)
    decision = decide(evidence, check_copy(reading, cfg, llm, prompts), cfg, model)
    return Citer(llm, prompts, lambda doc: ()).cite(evidence, decision, 0.0)


def test_a_sure_span_is_an_answer_with_its_confidence_and_an_unsure_one_shows_the_closest_passages() -> None:
    from rag.types import AnswerKind, RefusalReason

    sure = _decided(_Copier([("22 اجتماعًا", (-0.1, -0.1))]), "كم اجتماعًا عقد؟", "how_many", 1.0,
                    min_confidence=0.8)
    assert sure.kind is AnswerKind.ANSWER and not sure.refused and sure.text.startswith("22 اجتماعًا [2]")
    assert sure.confidence is not None and abs(sure.confidence - 1 / (1 + 2.718281828459045 ** -2.9)) < 1e-9
    assert sure.diagnostics.features is not None and sure.diagnostics.features["type_match"] == 1.0
    unsure = _decided(_Copier([("22 اجتماعًا", (-3.0, -3.0))]), "كم اجتماعًا عقد؟", "how_many", 1.0,
                      min_confidence=0.8)
    assert unsure.kind is AnswerKind.PASSAGES and unsure.refused
    assert unsure.refusal_reason is RefusalReason.UNSURE and unsure.confidence is not None
    lines = unsure.text.splitlines()
    assert lines[0] == "لم أجد في المصادر جوابًا قاطعًا؛ هذه أقرب المقاطع:"
    # Every evidence sentence quoted verbatim, each with its marker, each cited with its offsets.
    assert f"«{S_COUNT}» [2]" in lines and f"«{S_SINCE}» [1]" in lines
    assert sorted(c.number for c in unsure.citations) == [1, 2]
    assert {(c.quote, c.quote_start) for c in unsure.citations} == {(S_SINCE, 100), (S_COUNT, 50)}
    assert unsure.to_dict()["kind"] == "passages" and "confidence" in unsure.to_dict()
    # "off": no decision, the span the checks let through is answered as before.
    off = _decided(_Copier([("22 اجتماعًا", (-3.0, -3.0))]), "كم اجتماعًا عقد؟", "how_many", 1.0,
                   min_confidence=None)
    assert off.kind is AnswerKind.ANSWER and not off.refused


def test_a_span_the_checks_withhold_shows_passages_and_a_free_reply_must_be_backed_sentence_by_sentence() -> None:
    from rag import Config
    from rag.answer.check import check_free
    from rag.answer.decide import decide
    from rag.answer.read import Reading
    from rag.llm import GenerationStats
    from rag.types import AnswerKind, ReaderKind, RefusalReason

    withheld = _decided(_Copier([("عقد", (-0.1,))]), "كم اجتماعًا عقد؟", "how_many", 1.0, min_confidence=0.5)
    assert withheld.kind is AnswerKind.PASSAGES and withheld.refusal_reason is not RefusalReason.UNSURE
    evidence = _evidence()
    reading = Reading(evidence, ReaderKind.GENERATIVE, GenerationStats(), 0.1,
                      raw="تجتمع القوى الثلاث ضمن عملية أستانا منذ يناير 2017 [1].")
    checked = check_free(reading, _ZeroEmbedder(), REFUSAL)  # type: ignore[arg-type]
    assert checked.refusal is None
    cfg = Config().with_overrides(answer={"min_confidence": 0.5})
    assert decide(evidence, checked, cfg).kind is AnswerKind.ANSWER  # its one sentence is backed
    half = Reading(evidence, ReaderKind.GENERATIVE, GenerationStats(), 0.1,
                   raw="تجتمع القوى الثلاث ضمن عملية أستانا منذ يناير 2017 [1]. وفاز فريق فرنسا بكأس العالم [1].")
    checked = check_free(half, _ZeroEmbedder(), REFUSAL)  # type: ignore[arg-type]
    # The check lets it through (one sentence is backed); the decision does not (one is not).
    assert checked.refusal is None and [s.supported for s in checked.support] == [True, False]
    decision = decide(evidence, checked, cfg)
    assert decision.kind is AnswerKind.PASSAGES and decision.refusal is RefusalReason.UNSUPPORTED
    off = Config().with_overrides(answer={"min_confidence": None})
    assert decide(evidence, checked, off).kind is AnswerKind.ANSWER  # "off": as before


def test_the_confidence_model_round_trips_as_plain_json_and_type_match_reads_the_span() -> None:
    import json

    from rag.answer.decide import FEATURES, ConfidenceModel, type_match

    m = ConfidenceModel(FEATURES, tuple(range(len(FEATURES))), (2.0,) * len(FEATURES), (0.5,) * len(FEATURES), -1.0)
    again = ConfidenceModel.from_dict(json.loads(json.dumps(m.to_dict())))
    feats = {n: float(i) for i, n in enumerate(FEATURES)}
    assert again == m and abs(m.probability(feats) - 1 / (1 + 2.718281828459045)) < 1e-9  # σ(-1)
    assert type_match("how_much", "3,83 مليارات يوان") == 1.0 and type_match("how_much", "من جهته") == 0.0
    assert type_match("when", "في أغسطس") == 1.0 and type_match("who", "1,36 مليون") == 0.0
    assert type_match("what", "شملت") == 0.5
