"""Calibration logic (unit): thresholds fitted on reader rows, written into a config file
keeping every other setting of it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from rag.calibrate import fit, write_settings
from rag.config import Config
from rag.errors import ConfigError


def _row(answerable: bool, contained: bool, logprob: float, sim: float = 0.9, cross: bool = False,
         refused: bool = False) -> dict[str, object]:
    return {"answerable": answerable, "contained": contained, "span_logprob": logprob, "closest_similarity": sim,
            "cross_language": cross, "refused": refused}


def test_span_threshold_keeps_confident_right_answers_and_refuses_guesses() -> None:
    rows = [_row(True, True, -0.1), _row(True, True, -0.3), _row(True, True, -0.5), _row(True, False, -2.5),
            _row(False, False, -3.0), _row(False, False, -1.9), _row(False, False, -0.2)]
    t = fit(rows)["min_span_logprob"]
    # Between the last right answer (-0.5) and the next guesses (-1.9): 3 right + 2 refused
    # guesses; the confident unanswerable one (-0.2) cannot be saved without losing two.
    assert -1.9 < t <= -0.5


def test_none_margin_refuses_where_the_model_prefers_the_refusal_word() -> None:
    def row(answerable: bool, contained: bool, pref: float) -> dict[str, object]:
        return {**_row(answerable, contained, -0.1), "none_logprob": pref - 1.0, "first_logprob": -1.0}

    rows = [row(True, True, -3.0), row(True, True, -2.0), row(True, False, 1.0),
            row(False, False, 0.5), row(False, False, 2.0), row(False, False, -1.0)]
    t = fit(rows)["none_margin"]
    # Refusing above t keeps both right answers (-3, -2) and refuses all three unanswerable.
    assert -2.0 <= t < -1.0
    assert "none_margin" not in fit([_row(True, True, -0.1)] * 3)  # nothing recorded: nothing fitted


def test_floors_refuse_at_most_the_allowed_share_of_answerable_questions() -> None:
    rows = [_row(True, True, -0.1, sim=0.80 + i / 100) for i in range(20)]
    rows += [_row(True, True, -0.1, sim=0.70 + i / 100, cross=True) for i in range(20)]
    rows += [_row(False, False, -0.1, sim=0.5)]
    got = fit(rows, floor_miss=0.05)
    assert got["min_similarity"] == pytest.approx(0.81 - 1e-4)
    assert got["min_similarity_cross"] == pytest.approx(0.71 - 1e-4)
    few = fit([_row(True, True, -0.1, sim=0.9)] * 3)
    assert "min_similarity" not in few  # too few questions to fit a floor on


def test_write_settings_updates_and_adds_keys_keeping_the_rest(tmp_path: Path) -> None:
    f = tmp_path / "akhbar.toml"
    f.write_text('# mine\n[llm]\nbackend = "llamacpp"\n\n[answer]\nreader = "extractive"\nmin_span_logprob = -3\n')
    write_settings(f, {"min_span_logprob": -1.25, "min_similarity": 0.8})
    data = tomllib.loads(f.read_text())
    assert data == {"llm": {"backend": "llamacpp"}, "answer": {"reader": "extractive", "min_span_logprob": -1.25},
                    "retrieval": {"min_similarity": 0.8}}
    new = tmp_path / "new" / "akhbar.toml"
    write_settings(new, {"min_span_logprob": -1.0})
    assert tomllib.loads(new.read_text()) == {"answer": {"min_span_logprob": -1.0}}


def test_written_config_loads_with_every_other_setting_kept(tmp_path: Path) -> None:
    f = tmp_path / "akhbar.toml"
    f.write_text(f"""# the newsroom's settings
home = "{tmp_path / 'home'}"

[store]
collection = "newsroom"

[ingest]
near_duplicate_threshold = 0.9
fields = {{ date = "crawl_time", site = "paper" }}

[llm]
backend = "llamacpp"
max_tokens = 60

[retrieval]
top_k = 7
min_similarity = 0.5

[answer]
reader = "extractive"
as_of = "newest"
none_margin = 3.0
""")
    before = Config.load(f, env={})
    fitted = {"min_similarity": 0.8123, "min_similarity_cross": 0.7456, "min_span_logprob": -1.25,
              "min_verify_margin": 0.5, "none_margin": 1.75}
    write_settings(f, fitted)
    after = Config.load(f, env={})
    assert after == before.with_overrides(
        retrieval={"min_similarity": 0.8123, "min_similarity_cross": 0.7456},
        answer={"min_span_logprob": -1.25, "min_verify_margin": 0.5, "none_margin": 1.75})
    assert after.store.collection == "newsroom" and after.retrieval.top_k == 7 and after.llm.max_tokens == 60
    assert after.ingest.fields == before.ingest.fields != ""


def test_malformed_config_is_named_and_left_as_it_was(tmp_path: Path) -> None:
    f = tmp_path / "akhbar.toml"
    broken = '[answer]\nreader = "extractive"\nmin_span_logprob = \n'
    f.write_text(broken)
    with pytest.raises(ConfigError, match=re.escape(str(f))):
        write_settings(f, {"min_span_logprob": -1.0})
    assert f.read_text() == broken


def test_the_confidence_model_is_refitted_identically_and_its_threshold_holds_precision_out_of_fold() -> None:
    import json
    import random

    from rag.answer.decide import FEATURES, ConfidenceModel
    from rag.calibrate import fit_confidence

    rng = random.Random(7)
    rows = []
    for i in range(240):
        right = rng.random() < 0.45
        feats = {n: rng.gauss(0, 1) for n in FEATURES}
        # Two informative features, the rest noise.
        feats["span_logprob"] = rng.gauss(-0.3 if right else -2.0, 0.8)
        feats["question_in_sentence"] = rng.gauss(0.7 if right else 0.4, 0.2)
        rows.append({"features": feats, "right": right, "passed": i % 5 != 0, "source": "cal.json", "id": str(i)})
    first, again = fit_confidence(rows), fit_confidence(list(rows))
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert first["min_confidence"] is not None and first["out_of_fold"]["precision"] >= 0.90
    model = ConfidenceModel.from_dict(first["model"])
    weights = dict(zip(model.names, model.weights))
    assert weights["span_logprob"] > 0.5 and weights["question_in_sentence"] > 0.2
    sure = {**{n: 0.0 for n in FEATURES}, "span_logprob": -0.1, "question_in_sentence": 0.9}
    unsure = {**sure, "span_logprob": -3.0, "question_in_sentence": 0.2}
    assert model.probability(sure) > first["min_confidence"] > model.probability(unsure)


def test_twins_are_fitted_as_wrong_spans_and_the_ranker_reads_candidates_from_eval_results(tmp_path: Path) -> None:
    """An `akhbar eval --json --twins` result: its twins' spans are negatives of the confidence
    fit; the ranker takes every answerable question with two or more candidates; `akhbar
    calibrate --ranker` writes the fitted model as JSON."""
    import json

    from rag.answer.rank import RANK_FEATURES, Logistic
    from rag.calibrate import confidence_rows, ranker_rows
    from rag.cli import main

    def cand(copied: bool, right: bool, i: int) -> dict[str, object]:
        f = dict.fromkeys(RANK_FEATURES, 0.0) | {"copied": float(copied), "unit_asked": float(right),
                                                   "logprob_mean": -0.1 * (i % 7)}
        return {"text": "x", "copied": copied, "right": right, "features": f}

    rows = [{"id": str(i), "answerable": True, "span_right": i % 2 == 0, "refused": False, "features": {"a": 1.0},
             "candidates": [cand(True, i % 2 == 0, i), cand(False, i % 2 == 1, i + 3)]} for i in range(30)]
    rows.append({"id": "one", "answerable": True, "span_right": True, "refused": False, "features": {"a": 1.0},
                 "candidates": [cand(True, True, 0)]})  # one candidate: nothing to rank
    twins = [{"id": f"{i}~twin", "answerable": False, "span_right": False, "refused": False,
              "features": {"a": 1.0}, "candidates": []} for i in range(5)]
    result = tmp_path / "cal.json"
    result.write_text(json.dumps({"split": "calibration", "rows": rows, "twin_rows": twins}), encoding="utf-8")
    spans = confidence_rows([result])
    assert len(spans) == 36 and sum(1 for s in spans if s["id"].endswith("~twin") and not s["right"]) == 5
    assert len(ranker_rows([result])) == 30
    out = tmp_path / "ranker.json"
    assert main(["calibrate", str(result), "--ranker", "--model-out", str(out)]) == 0
    model = Logistic.from_dict(json.loads(out.read_text(encoding="utf-8"))["model"])
    weights = dict(zip(model.names, model.weights))
    assert weights["unit_asked"] > 0 and model.names == RANK_FEATURES
    report = tmp_path / "rep.json"
    report.write_text(json.dumps({"split": "report", "rows": rows}), encoding="utf-8")
    with pytest.raises(ConfigError, match="calibration"):
        ranker_rows([report])
