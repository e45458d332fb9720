"""End to end on the embedded defaults: real Chroma, real mE5, the real 1.5B GGUF."""

import json

import pytest

from rag import Akhbar, Answer
from rag.answer.read import hold_bare as _hold_bare
from rag.retrieval import Filters
from tests.conftest import AR_QUESTION, EN_QUESTION, SEEDS, ScriptedLLM


def _cites_seed(answer: Answer) -> bool:
    return any(c.source_path.endswith("000_dcd787653053976f.txt") for c in answer.citations)


@pytest.mark.slow
def test_what_happened_is_answered_with_the_whole_sentence_that_tells_it(seeded_bot: Akhbar) -> None:
    """An event question gets the evidence sentence the copy landed in, verbatim and cited,
    not a phrase cut from it."""
    answer = seeded_bot.ask("ماذا حدث في حلب؟")
    assert answer.diagnostics.question_type == "event" and not answer.refused, answer.to_dict()
    original = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    [c] = answer.citations
    span = str(answer.diagnostics.span)
    assert original[c.span_start:c.span_end] == span and len(span.split()) >= 8, span
    # It is one whole sentence of those shown to the model, less its full stop.
    shown = [original[a:b].rstrip().rstrip(".").rstrip() for src in answer.sources for a, b in src.spans]
    assert span in shown, (span, shown)
    assert answer.text.startswith(span) and answer.text.endswith("[1]."), answer.text


@pytest.mark.slow
def test_arabic_question_is_answered_by_copying_2017_and_cites_it(seeded_bot: Akhbar) -> None:
    items = list(seeded_bot.ask_stream(AR_QUESTION))
    pieces, answer = items[:-1], items[-1]
    # A copied answer is checked before it is shown, so it arrives in one piece.
    assert isinstance(answer, Answer) and pieces == [answer.text]
    assert answer.reader == "extractive" and answer.diagnostics.question_type == "when"
    assert "2017" in answer.text, answer.text
    assert _cites_seed(answer), answer.to_dict()
    assert answer.language == "ar" and not answer.refused and not answer.refusal_reason
    assert answer.backend == "llamacpp"
    assert 0 < answer.prompt_tokens <= 600
    # The evidence shown to the model holds the sentence that answers the question.
    assert "منذ يناير2017" in answer.sources[0].excerpt
    # The span is a verbatim piece of the article, inside the quoted sentence, by offsets.
    original = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    [c] = answer.citations
    assert original[c.quote_start:c.quote_end] == c.quote and "2017" in c.quote
    assert c.quote_start <= c.span_start < c.span_end <= c.quote_end
    assert original[c.span_start:c.span_end] == answer.diagnostics.span and "2017" in str(answer.diagnostics.span)
    assert answer.sentences and all(s.supported for s in answer.sentences)
    json.dumps(answer.to_dict(), ensure_ascii=False)


@pytest.mark.slow
def test_an_open_question_streams_a_free_answer_checked_sentence_by_sentence(seeded_bot: Akhbar) -> None:
    items = list(seeded_bot.ask_stream("ما موقف تركيا من الجيش الوطني السوري؟"))
    pieces, answer = items[:-1], items[-1]
    assert isinstance(answer, Answer) and len(pieces) > 1 and answer.reader == "generative"
    assert not answer.refused, answer.to_dict()
    assert "تركيا" in answer.text and _cites_seed(answer)
    original = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    for s in answer.sentences:
        assert original[s.quote_start:s.quote_end] == s.quote


@pytest.mark.slow
def test_english_question_answered_in_english_with_22(seeded_bot: Akhbar) -> None:
    answer = seeded_bot.ask(EN_QUESTION)
    assert "22" in answer.text and answer.reader == "extractive", answer.text
    assert _cites_seed(answer), answer.to_dict()
    assert answer.language == "en" and answer.diagnostics.language_mismatch is None, answer.text
    assert answer.prompt_tokens <= 600


def test_empty_collection_says_so_without_calling_the_model(bot: Akhbar) -> None:
    class Boom:
        backend, model = "boom", "boom"

        def count_tokens(self, text: str) -> int:
            return 1

        def stream_chat(self, messages, stats):  # type: ignore[no-untyped-def]
            raise AssertionError("the model must not be called for an empty collection")

    empty = Akhbar(bot.config, embedder=bot.embedder, llm=Boom())
    answer = empty.ask(AR_QUESTION)
    assert answer.refused and "akhbar ingest" in answer.text and answer.language == "ar"
    # Filters that match nothing: refused in the asker's language, the model still not called.
    empty.ingest(SEEDS)
    filtered = empty.ask(EN_QUESTION, filters=Filters(date_from="2030-01-01"))
    assert filtered.refused and filtered.text.startswith("The available sources") and not filtered.citations


@pytest.mark.slow
@pytest.mark.parametrize("question", ["Who won the 2018 football World Cup?", "من فاز بكأس العالم لكرة القدم 2018؟"])
def test_question_the_corpus_cannot_answer_is_refused(seeded_bot: Akhbar, question: str) -> None:
    answer = seeded_bot.ask(question)
    assert answer.refused, answer.to_dict()
    assert not answer.citations and not answer.sentences
    expected = "The available sources" if answer.language == "en" else "لا تتضمن المصادر المتاحة"
    assert answer.text.startswith(expected)


class _Boom:
    backend, model = "boom", "boom"

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 3)

    def stream_chat(self, messages, stats):  # type: ignore[no-untyped-def]
        raise AssertionError("the model must not be called below the retrieval floor")


@pytest.mark.parametrize("question", ["ما هي درجة غليان الزئبق بالدرجات المئوية؟",
                                      "ما عدد أقمار كوكب المشتري المعروفة؟"])
def test_question_far_from_every_sentence_is_refused_without_the_model(seeded_bot: Akhbar, question: str) -> None:
    bot = Akhbar(seeded_bot.config, embedder=seeded_bot.embedder, llm=_Boom())
    answer = bot.ask(question)
    assert answer.refused and answer.text.startswith("لا تتضمن المصادر المتاحة"), answer.to_dict()
    assert "retrieval floor" in str(answer.diagnostics.reason) and not answer.citations
    # What was retrieved is still there to look at.
    assert answer.sources


def test_seed_questions_clear_the_floor_and_the_floor_is_configurable(seeded_bot: Akhbar) -> None:
    from rag.answer.evidence import similarity_floor
    from tests.support.stages import evidence_for

    for question in (AR_QUESTION, EN_QUESTION):
        evidence = evidence_for(seeded_bot, question, _Boom())
        assert evidence.closest.similarity >= evidence.floor > 0, (question, evidence.closest)
        assert evidence.closest.text and evidence.refusal is None
    ar = evidence_for(seeded_bot, AR_QUESTION, _Boom())
    assert ar.floor == seeded_bot.config.retrieval.min_similarity
    # Off, or set explicitly; floors fitted for another embedding model do not apply.
    off = seeded_bot.config.with_overrides(retrieval={"min_similarity": "off", "min_similarity_cross": "off"})
    assert similarity_floor(off, "ar", ar.closest.text) == 0.0
    other = seeded_bot.config.with_overrides(embed={"backend": "ollama"})
    assert similarity_floor(other, "en", ar.closest.text) == 0.0
    refit = other.with_overrides(retrieval={"floors_fitted_for": other.embed_name})
    assert similarity_floor(refit, "en", ar.closest.text) == refit.retrieval.min_similarity_cross


def test_a_bare_marker_reply_is_repaired_with_one_more_turn(seeded_bot: Akhbar) -> None:
    llm = ScriptedLLM(["[", "1", "]", "."],
                    ["تجتمع", " القوى الثلاث", " ضمن عملية أستانا", " منذ يناير 2017", " [1]", "."])
    bot = Akhbar(seeded_bot.config, embedder=seeded_bot.embedder, llm=llm)
    items = list(bot.ask_stream(AR_QUESTION))
    pieces, answer = [p for p in items if isinstance(p, str)], items[-1]
    assert isinstance(answer, Answer)
    # The bare "[1]." is never shown; the second turn asked for the answer in words.
    assert "".join(pieces).startswith("تجتمع") and answer.text.startswith("تجتمع") and "2017" in answer.text
    assert answer.diagnostics.repaired == "[1]." and not answer.refused
    assert len(llm.calls) == 2 and llm.calls[1][-2] == {"role": "assistant", "content": "[1]."}
    assert "اكتب الإجابة" in llm.calls[1][-1]["content"]
    assert answer.citations and answer.citations[0].number == 1
    # A reply that starts with words streams at once and is not repaired.
    llm2 = ScriptedLLM(["منذ", " يناير 2017", " [1]", "."])
    plain = Akhbar(seeded_bot.config, embedder=seeded_bot.embedder, llm=llm2).ask(AR_QUESTION)
    assert plain.diagnostics.repaired is None and len(llm2.calls) == 1
    # When the follow-up turn gives no words either, the first reply stands.
    llm3 = ScriptedLLM(["[1]", "."], ["[1]"])
    again = Akhbar(seeded_bot.config, embedder=seeded_bot.embedder, llm=llm3).ask(AR_QUESTION)
    assert again.diagnostics.repaired == "[1]." and len(llm3.calls) == 2
    # …and, holding no words, it is refused as unsupported, never shown as an answer.
    assert again.refused and again.diagnostics.unsupported_answer == "[1]." and not again.citations
    # A lead-in before the bare marker ("the answer is: [1].") is no answer either.
    llm4 = ScriptedLLM(["الإجابة", " هي", ":", " [", "1", "]."], ["منذ", " يناير 2017", " [1]", "."])
    lead = list(Akhbar(seeded_bot.config, embedder=seeded_bot.embedder, llm=llm4).ask_stream(AR_QUESTION))
    assert lead[0] == "منذ" and isinstance(lead[-1], Answer) and lead[-1].diagnostics.repaired == "الإجابة هي: [1]."
    # A reply that only restates the question is held back and repaired the same way.
    echo = ["متى", " تجتمع", " روسيا وإيران", " وتركيا ضمن عملية أستانا", " [1]", "؟"]
    llm5 = ScriptedLLM(echo, ["منذ", " يناير 2017", " [1]", "."])
    items = list(Akhbar(seeded_bot.config, embedder=seeded_bot.embedder, llm=llm5).ask_stream(AR_QUESTION))
    assert items[0] == "منذ" and isinstance(items[-1], Answer) and "2017" in items[-1].text
    assert items[-1].diagnostics.repaired == "".join(echo)


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
    from rag.answer.read import Reading
    from rag.llm import GenerationStats
    from rag.prompts import Prompts
    from rag.types import ReaderKind

    evidence = _evidence()
    reading = Reading(evidence, ReaderKind.GENERATIVE, GenerationStats(prompt_tokens=10), 0.1, raw=raw)
    checked = check_free(reading, _ZeroEmbedder(), REFUSAL)  # type: ignore[arg-type]
    return Citer(ScriptedLLM(), Prompts(Config().prompts_dir), lambda doc: ()).cite(evidence, checked, 0.0)


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

    def copy_span(self, messages, evidence, stats, max_tokens=24, starts=None, bare_number_end=True,  # type: ignore[no-untyped-def]
                  none_text="", ends_when=None):
        from rag.llm import CopiedSpan

        self.starts.append(starts)
        text, logprobs = self.spans.pop(0)
        at = evidence.find(text)
        return CopiedSpan(text, ((at, at + len(text)),) if at >= 0 else (), logprobs, True, self.none_logprob)

    def choice_logprobs(self, messages, options, stats):  # type: ignore[no-untyped-def]
        self.verified.append(messages)
        return self.verdict


def _extract(llm: _Copier, question: str, kind: str, **answer: object) -> Answer:
    from rag import Config
    from rag.answer.check import check_copy
    from rag.answer.cite import Citer
    from rag.answer.read import CopyReader, Reading
    from rag.prompts import Prompts

    cfg = Config().with_overrides(answer=answer) if answer else Config()
    prompts = Prompts(cfg.prompts_dir)
    evidence = _evidence("en" if question.isascii() else "ar", question, kind)
    [reading] = list(CopyReader(cfg, llm, prompts).read(evidence, 0.0))
    assert isinstance(reading, Reading)
    return Citer(llm, prompts, lambda doc: ()).cite(evidence, check_copy(reading, cfg, llm, prompts), 0.0)


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

