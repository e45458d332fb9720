"""End to end on the embedded defaults: real Chroma, real mE5, the real 1.5B GGUF."""

import json
from itertools import pairwise

import pytest

from rag import Akhbar, Answer
from rag.retrieval import Filters
from tests.conftest import AR_QUESTION, EN_QUESTION, SEEDS, ScriptedLLM


@pytest.fixture(scope="module")
def seeded_bot(prepared_config, seeded_home, embedder, llm_15b) -> Akhbar:  # type: ignore[no-untyped-def]
    """The seed corpus on the real models, the decision off: these tests are about what the
    reader copies or writes and what the checks let through, seen as it is; the decide stage
    has its own test below (and the chat's tests run with the default)."""
    cfg = prepared_config.with_overrides(home=seeded_home, answer={"min_confidence": None})
    return Akhbar(cfg, embedder=embedder, llm=llm_15b)


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
    # It is one whole sentence shown to the model (its clause pieces joined), less its full stop:
    # it starts where a shown piece starts and every piece it covers was shown.
    pieces = sorted((a, b) for src in answer.sources for a, b in src.spans)
    assert c.span_start in {a for a, _ in pieces}, (span, pieces)
    inside = [(a, b) for a, b in pieces if c.span_start <= a < c.span_end]
    assert all(b2 - a2 >= 0 and a2 - b1 <= 1 for (_, b1), (a2, b2) in pairwise(inside)), (span, pieces)
    assert original[c.span_end:inside[-1][1]].strip() in ("", "."), span  # it ends where the last piece ends
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
    # The instruction, six evidence pieces, the question, and the candidates the model scored.
    assert 0 < answer.prompt_tokens <= 700
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


@pytest.mark.slow
def test_an_unsure_answer_shows_the_closest_passages_verbatim_each_cited(prepared_config, seeded_home, embedder,
                                                                         llm_15b) -> None:  # type: ignore[no-untyped-def]
    """The decide stage on the real model: with the threshold out of reach, the seed question
    gets the closest passages of the article, each a sentence of it as written and cited with
    its offsets; with it at 0, the short answer with its confidence."""
    from rag.types import AnswerKind, RefusalReason

    original = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    strict = Akhbar(prepared_config.with_overrides(home=seeded_home, answer={"min_confidence": 1.0}),
                    embedder=embedder, llm=llm_15b)
    items = list(strict.ask_stream(AR_QUESTION))
    answer = items[-1]
    assert isinstance(answer, Answer) and answer.kind is AnswerKind.PASSAGES, answer.to_dict()
    assert answer.refused and answer.refusal_reason is RefusalReason.UNSURE and answer.confidence is not None
    lines = answer.text.splitlines()
    assert lines[0] == "لم أجد في المصادر جوابًا قاطعًا؛ هذه أقرب المقاطع:" and 2 <= len(lines) <= 4
    assert items[:-1] == [answer.text]  # streamed in one piece, as a copied answer is
    for line, s in zip(lines[1:], answer.sentences):
        assert line == s.text and line.startswith("«") and line.endswith("» [1]")
        assert original[s.quote_start:s.quote_end] == s.quote and f"«{s.quote}»" in line
    assert [c.number for c in answer.citations] == [1] and _cites_seed(answer)
    assert answer.to_dict()["kind"] == "passages" and "features" in answer.to_dict()["diagnostics"]
    assert "passages" in answer.export("csv") and "closest passages" in answer.export("markdown")
    easy = Akhbar(prepared_config.with_overrides(home=seeded_home, answer={"min_confidence": 0.0}),
                  embedder=embedder, llm=llm_15b).ask(AR_QUESTION)
    assert easy.kind is AnswerKind.ANSWER and "2017" in easy.text and easy.confidence is not None


@pytest.mark.slow
def test_the_model_scores_candidate_replies_off_the_prompt_cache_and_leaves_it_as_it_was(llm_15b) -> None:  # type: ignore[no-untyped-def]
    """``score_replies`` (the ranker's model feature) gives a copied reply the log-probabilities
    the copy had while it was read, and a copy made after it is the same copy (the replies left
    nothing in the KV cache); ``alternatives`` are other verbatim spans from other first tokens."""
    from rag import Config
    from rag.llm import GenerationStats
    from rag.prompts import Prompts

    evidence = ("وقدرت السلطات الخسائر الاقتصادية بنحو 3,83 مليارات يوان، فيما تضرر 1,36 مليون شخص في الصين.\n"
                "وقال المتحدث إن 12 شخصا لقوا حتفهم.")
    messages = Prompts(Config().prompts_dir).reader_messages("ar", evidence, "كم بلغت الخسائر الاقتصادية؟")
    first = llm_15b.copy_span(messages, evidence, GenerationStats(), alternatives=2)
    assert first.stopped and first.text in evidence
    [scored, other] = llm_15b.score_replies(messages, [first.text, "12 شخصا"], GenerationStats())
    if len(scored.logprobs) == len(first.logprobs):  # the same tokens as the copy took
        # One batch and token-by-token differ only by the kernels' rounding.
        assert scored.logprobs == pytest.approx(first.logprobs, abs=0.15)
    assert scored.end_logprob > -2.0  # the model ends its reply where its own copy ended
    assert sum(other.logprobs) < sum(scored.logprobs)
    again = llm_15b.copy_span(messages, evidence, GenerationStats(), alternatives=2)
    assert again.text == first.text and again.logprobs == pytest.approx(first.logprobs, abs=0.15)
    assert [a.text for a in again.alternatives] == [a.text for a in first.alternatives]
    assert 1 <= len(first.alternatives) <= 2
    for alt in first.alternatives:
        assert alt.text and alt.text != first.text and alt.text.strip() in evidence
        assert len(alt.logprobs) >= 1 and all(lp <= 0 for lp in alt.logprobs)
