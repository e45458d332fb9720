"""Candidate answers and the ranker (rag.reader.typed_spans, rag.answer.rank, the copy reader's
use of them) over scripted model scores."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.test_answer import _Copier, _evidence

LOSSES = "وقدرت السلطات الخسائر الاقتصادية بنحو 3,83 مليارات يوان، فيما تضرر 1,36 مليون شخص في الصين."


def test_typed_spans_take_whole_numbers_with_magnitude_and_unit() -> None:
    from rag.reader import typed_spans

    spans = [LOSSES[a:b] for a, b in typed_spans(LOSSES, "how_much")]
    assert spans == ["3,83 مليارات يوان", "1,36 مليون شخص"]
    # "1,36" is one number: no span starts or ends inside it.
    assert all(not s.startswith("36") and not s.endswith("1,") for s in spans)
    text = "The storm hit on August 8, 2015 and cost $2.5 billion. In 2010 the share rose to 15%."
    assert [text[a:b] for a, b in typed_spans(text, "how_much")] == ["$2.5 billion", "15%"]
    assert [text[a:b] for a, b in typed_spans(text, "when")] == ["August 8, 2015", "2010"]
    ar = "وقع الحادث يوم الخميس 15 من أغسطس عام 2015 في المدينة."
    assert [ar[a:b] for a, b in typed_spans(ar, "when")] == ["الخميس 15 من أغسطس عام 2015"]
    assert typed_spans(ar, "how_many") == []  # a date's day and year are not counts
    assert typed_spans(ar, "who") == []


def test_money_and_unit_features() -> None:
    from rag.answer.rank import near_question, unit_asked
    from rag.reader import is_money

    assert is_money("3,83 مليارات يوان") and is_money("$2.5 billion") and not is_money("1,36 مليون شخص")
    assert unit_asked("180 شاباً", "كم شاباً شارك في البرنامج؟") == 1.0
    assert unit_asked("3,83 مليارات يوان", "كم شاباً شارك في البرنامج؟") == 0.0
    line = "قال الوزير إن الخسائر بلغت 40 مليونا"
    at = line.index("40")
    assert near_question(line, at, len(line), "كم بلغت الخسائر؟") == 1.0  # "بلغت" right before it
    assert near_question(line, at, len(line), "ما عدد المصابين؟") == 0.0


def _losses_evidence(question: str, kind: str):  # type: ignore[no-untyped-def]
    from rag.support import SourceSentence

    ev = _evidence("ar", question, kind)
    shown = (SourceSentence(1, LOSSES, 100, 100 + len(LOSSES), (0.0,) * 4),)
    source = replace(ev.sources[0], excerpt=LOSSES, spans=((100, 100 + len(LOSSES)),))
    return replace(ev, sources=(source,), sentences=shown)


def _read(llm: _Copier, question: str, kind: str, model: object | None):  # type: ignore[no-untyped-def]
    from unittest import mock

    from rag import Config
    from rag.answer.read import CopyReader, Reading
    from rag.prompts import Prompts

    cfg = Config().with_overrides(answer={"min_confidence": None})
    with mock.patch("rag.answer.read.load_logistic", lambda _path: model):
        [reading] = list(CopyReader(cfg, llm, Prompts(cfg.prompts_dir)).read(_losses_evidence(question, kind), 0.0))
    assert isinstance(reading, Reading)
    return reading


def _money_ranker():  # type: ignore[no-untyped-def]
    from rag.answer.rank import RANK_FEATURES, Logistic

    weights = tuple(3.0 if n == "money_how_much" else 1.0 if n == "logprob_mean" else 0.0 for n in RANK_FEATURES)
    return Logistic(RANK_FEATURES, (0.0,) * len(RANK_FEATURES), (1.0,) * len(RANK_FEATURES), weights, 0.0)


def test_a_money_question_reads_the_money_not_the_count_the_model_copied() -> None:
    """The chat's "36 مليون شخص" for a question about losses: the copy is a count of people,
    the evidence's money span outranks it, and is read instead, whole."""
    llm = _Copier([("1,36 مليون شخص", (-0.2, -0.3))])
    llm.reply_scores = {"1,36 مليون شخص": (-0.2, -0.3), "3,83 مليارات يوان": (-0.9, -0.4)}
    reading = _read(llm, "كم بلغت خسائر الإعصار الاقتصادية في الصين؟", "how_much", _money_ranker())
    assert set(llm.scored) == {"1,36 مليون شخص", "3,83 مليارات يوان"}  # the model scored both
    assert reading.copied.text == "3,83 مليارات يوان" and not reading.problem
    assert reading.copied.logprobs == (-0.9, -0.4)  # the model's own score of what is read
    assert reading.located is not None and reading.located.text == "3,83 مليارات يوان"
    assert reading.located.start == 100 + LOSSES.index("3,83")
    first, second = reading.candidates
    assert first.text == "3,83 مليارات يوان" and not first.copied and first.rank > second.rank
    assert second.copied and first.features["money_how_much"] == 1.0 and second.features["money_how_much"] == 0.0


def test_without_a_fitted_ranker_the_copy_stands_and_candidates_are_recorded() -> None:
    llm = _Copier([("1,36 مليون شخص", (-0.2, -0.3))])
    reading = _read(llm, "كم بلغت خسائر الإعصار الاقتصادية في الصين؟", "how_much", None)
    assert reading.copied.text == "1,36 مليون شخص"
    assert [c.text for c in reading.candidates] == ["1,36 مليون شخص", "3,83 مليارات يوان"]
    assert reading.candidates[0].copied


def test_the_decide_stage_reads_the_margin_to_the_runner_up() -> None:
    from rag import Config
    from rag.answer.check import check_copy
    from rag.answer.decide import features
    from rag.prompts import Prompts

    llm = _Copier([("1,36 مليون شخص", (-0.2, -0.3))])
    llm.reply_scores = {"1,36 مليون شخص": (-0.2, -0.3), "3,83 مليارات يوان": (-0.9, -0.4)}
    reading = _read(llm, "كم بلغت خسائر الإعصار الاقتصادية في الصين؟", "how_much", _money_ranker())
    cfg = Config().with_overrides(answer={"min_confidence": None})
    f = features(check_copy(reading, cfg, llm, Prompts(cfg.prompts_dir)))
    assert f["ranked"] == 1.0
    assert f["rank_margin"] == reading.candidates[0].rank - reading.candidates[1].rank > 0
    assert f["logprob_margin"] == -0.65 - (-0.25)


def test_ranking_off_reads_only_the_copy() -> None:
    from rag import Config
    from rag.answer.read import CopyReader
    from rag.prompts import Prompts

    llm = _Copier([("1,36 مليون شخص", (-0.2, -0.3))])
    cfg = Config().with_overrides(answer={"min_confidence": None, "rank_candidates": False})
    [reading] = list(CopyReader(cfg, llm, Prompts(cfg.prompts_dir)).read(
        _losses_evidence("كم بلغت خسائر الإعصار الاقتصادية في الصين؟", "how_much"), 0.0))
    assert reading.copied.text == "1,36 مليون شخص" and reading.candidates == () and llm.scored == []


def test_fit_ranker_learns_to_prefer_the_right_candidate_out_of_fold() -> None:
    from rag.answer.rank import RANK_FEATURES
    from rag.calibrate import fit_ranker

    def cand(copied: bool, right: bool, money: float, lp: float) -> dict[str, object]:
        f = dict.fromkeys(RANK_FEATURES, 0.0) | {"copied": float(copied), "money_how_much": money,
                                                   "logprob_mean": lp}
        return {"text": "x", "copied": copied, "right": right, "features": f}

    rows = []
    for i in range(40):
        # The copy is a count (wrong) half the time; the money span is always right.
        wrong_copy = i % 2 == 0
        rows.append({"id": str(i), "source": "s", "candidates": [
            cand(True, not wrong_copy, 0.0 if wrong_copy else 1.0, -0.2),
            cand(False, wrong_copy, 1.0 if wrong_copy else 0.0, -0.8)]})
    fitted = fit_ranker(rows)
    oof = fitted["out_of_fold"]
    assert oof["some_candidate_right"] == 40 and oof["copy_right"] == 20 and oof["ranker_right"] == 40
    assert fitted["model"]["features"] == list(RANK_FEATURES)
    assert fit_ranker(rows) == fitted  # deterministic
