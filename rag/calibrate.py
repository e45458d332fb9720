"""``akhbar calibrate``: re-derive the answer thresholds on a development split and write
them to the config file.

Every calibration question is answered with the thresholds off (floors 0, any span
confidence), recording the question's best retrieved-sentence similarity and the copied
span's mean log-probability. Then, on those questions only:

- the retrieval floors (same-language and cross-language) are set where they refuse at
  most ``floor_miss`` of the answerable questions;
- ``answer.min_span_logprob`` is set where the most questions end right: answerable ones
  answered with the gold span, unanswerable ones refused (ties: the lower threshold);
- ``answer.min_verify_margin`` the same way, over the spans that threshold keeps (the
  verification question is asked of every span during calibration, refusing none);
- ``answer.none_margin`` the same way, over the spans kept: how much more the model must
  prefer starting the refusal word to the span's first token before the answer is refused
  (``answer.refuse_on_none``; recorded, never refusing, during calibration).

``fit_confidence`` (``akhbar calibrate --confidence``) fits the decide stage's confidence model
on the copied spans of ``akhbar eval --json`` results of calibration splits, and the least
confidence that keeps short-answer precision at its target (``answer.min_confidence``).

The figures to report come from another split (``akhbar eval --split report``); nothing
here looks at it. Writing keeps every other key and table of the config file, not its
comments: the file is written anew from its parsed settings.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from rag import eval as ev
from rag.config import Config
from rag.errors import ConfigError


def fit(rows: Sequence[dict[str, Any]], floor_miss: float = 0.05) -> dict[str, float | None]:
    """Thresholds from reader rows (see ``rag.eval.run_qa``; ``closest_similarity``,
    ``cross_language`` and ``span_logprob`` recorded with every threshold off)."""
    out: dict[str, float | None] = {}
    for key, cross in (("min_similarity", False), ("min_similarity_cross", True)):
        sims = sorted(r["closest_similarity"] for r in rows
                      if r["answerable"] and r["closest_similarity"] is not None and r["cross_language"] == cross)
        if len(sims) >= 5:
            # The floor refuses at most floor_miss of the answerable questions.
            out[key] = round(sims[int(floor_miss * len(sims))] - 1e-4, 4)

    def floor_of(r: dict[str, Any]) -> float:
        return out.get("min_similarity_cross" if r["cross_language"] else "min_similarity") or 0.0

    reached = [r for r in rows if r["closest_similarity"] is None or r["closest_similarity"] >= floor_of(r)]
    candidates = sorted({-_NEVER, *(r["span_logprob"] for r in reached if r["span_logprob"] is not None)})
    best = (-1, -_NEVER)
    for t in candidates:
        right = 0
        for r in reached:
            kept = r["span_logprob"] is not None and r["span_logprob"] >= t and not r["refused"]
            right += int(kept and r["contained"]) if r["answerable"] else int(not kept)
        right += sum(1 for r in rows if r not in reached and not r["answerable"])
        if right > best[0]:
            best = (right, t)
    span_floor = round(best[1] - 1e-4, 4) if best[1] > -_NEVER else None
    out["min_span_logprob"] = span_floor
    # Then the verification margin, on the spans that threshold keeps (when it was asked).
    kept = [r for r in reached if not r["refused"] and r["span_logprob"] is not None
            and (span_floor is None or r["span_logprob"] >= span_floor)]
    margins = sorted({r["verify_margin"] for r in kept if r.get("verify_margin") is not None})
    if margins:
        best = (sum(int(bool(r["contained"])) for r in kept if r["answerable"]), -_NEVER)
        for t in margins:
            right = sum(int(bool(r["contained"])) if r["answerable"] else 0 for r in kept
                        if r.get("verify_margin") is not None and r["verify_margin"] >= t)
            right += sum(1 for r in kept if not r["answerable"]
                         and (r.get("verify_margin") is None or r["verify_margin"] < t))
            if right > best[0]:
                best = (right, t)
        out["min_verify_margin"] = round(best[1] - 1e-4, 4) if best[1] > -_NEVER else None
    prefs = {i: r["none_logprob"] - r["first_logprob"] for i, r in enumerate(kept)
             if r.get("first_logprob") is not None and r.get("none_logprob") is not None}
    if prefs:
        # Refuse when the preference exceeds the margin; infinity = never.
        best = (-1, _NEVER)
        for t in sorted({_NEVER, *(round(v - 1e-4, 4) for v in prefs.values())}, reverse=True):
            right = 0
            for i, r in enumerate(kept):
                refused = i in prefs and prefs[i] > t
                right += int(not refused and bool(r["contained"])) if r["answerable"] else int(refused)
            if right > best[0]:
                best = (right, t)
        out["none_margin"] = best[1]
    return out


def calibrate(config: Config, qa_files: list[Path], corpus: list[str], home: Path | None = None,
              progress: Callable[[str], None] | None = None, verify: bool = True,
              **components: Any) -> dict[str, Any]:
    off = config.with_overrides(retrieval={"min_similarity": None, "min_similarity_cross": None},
                                answer={"min_span_logprob": None, "refuse_on_none": "off",
                                        # asked (the margin recorded) but never refusing
                                        "min_verify_margin": -_NEVER if verify else None})
    result = ev.run_qa(off, qa_files, corpus, split="calibration", home=home, progress=progress, **components)
    rows = [r for r in result["rows"] if r["reader"] == "extractive"]
    settings: dict[str, float | str | None] = dict(fit(rows))
    if "min_similarity" in settings or "min_similarity_cross" in settings:
        settings["floors_fitted_for"] = config.embed_name
    return {"questions": len(result["rows"]), "extractive": len(rows), "settings": settings}


_NEVER = float("inf")
_SECTION = {"min_similarity": "retrieval", "min_similarity_cross": "retrieval", "floors_fitted_for": "retrieval",
            "min_span_logprob": "answer",
            "min_verify_margin": "answer", "none_margin": "answer", "min_confidence": "answer"}


def write_settings(path: Path, settings: dict[str, float | str | None]) -> None:
    """Set ``settings`` in their tables of the TOML file at ``path`` (created if missing),
    keeping every other key and table. The file is written anew from its parsed settings,
    so its comments and layout are not kept; a file that does not parse is left as it is."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot update config file {path}: {e}") from e
    for key, value in settings.items():
        table = data.setdefault(_SECTION[key], {})
        if not isinstance(table, dict):
            raise ConfigError(f"cannot update config file {path}: {_SECTION[key]} is not a table")
        # "off" is how a file says None; a numpy float from the fit is not a TOML value to the writer.
        table[key] = "off" if value is None else value if isinstance(value, str) else float(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")


def _calibration_results(paths: Sequence[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Each ``akhbar eval --json`` result, read; an error names a file that is not one, or is
    not of a calibration split."""
    out = []
    for path in paths:
        try:
            result = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConfigError(f"{path}: not an `akhbar eval --json` result ({e})") from e
        if result.get("split") not in ("calibration",):
            raise ConfigError(f"{path}: split {result.get('split')!r}; fit only on a calibration split")
        out.append((Path(path), result))
    return out


def confidence_rows(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """The copied spans of ``akhbar eval --json`` results: features, label, and whether the
    checks let the span through (only those are scored against the threshold)."""
    rows = []
    for path, result in _calibration_results(paths):
        for r in result.get("rows", []) + result.get("twin_rows", []):
            if r.get("features"):
                rows.append({"features": r["features"], "right": bool(r["answerable"] and r["span_right"]),
                             # Let through by the checks: answered, or withheld only by the decide stage.
                             "passed": not r["refused"] or r.get("refusal_reason") == "unsure",
                             "source": str(path), "id": r["id"]})
    return rows


def fit_confidence(rows: Sequence[dict[str, Any]], precision: float = 0.90, folds: int = 5,
                   threshold_on: Sequence[str] = ()) -> dict[str, Any]:
    """A standardised logistic model of P(right) over ``rag.answer.decide.FEATURES``, and the
    least P that keeps short-answer precision ≥ ``precision`` over the spans the checks let
    through (of the results named in ``threshold_on`` only, when given: the model learns from
    every row, the policy is set for one domain). The threshold is chosen on out-of-fold
    probabilities (``folds``-fold, fixed seed), so it is not fitted on the very predictions it
    filters; the model itself is then fitted on all rows. Deterministic for the same rows."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from rag.answer.decide import FEATURES, ConfidenceModel

    if len(rows) < 20 or len({r["right"] for r in rows}) < 2:
        raise ConfigError(f"{len(rows)} copied spans, of one class: too few to fit a confidence model")
    x = np.array([[float(r["features"][n]) for n in FEATURES] for r in rows])
    y = np.array([int(r["right"]) for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale

    def model() -> LogisticRegression:
        return LogisticRegression(C=1.0, max_iter=1000)

    oof = cross_val_predict(model(), z, y, cv=StratifiedKFold(folds, shuffle=True, random_state=0),
                            method="predict_proba")[:, 1]
    passed = np.array([r["passed"] and (not threshold_on or r["source"] in threshold_on) for r in rows])
    threshold = None
    for t in sorted({round(float(p), 4) for p in oof[passed]}):
        kept = passed & (oof >= t)
        if kept.sum() >= 10 and y[kept].mean() >= precision:
            threshold = t
            break
    fitted = model().fit(z, y)
    cm = ConfidenceModel(tuple(FEATURES), tuple(float(v) for v in mean), tuple(float(v) for v in scale),
                         tuple(float(v) for v in fitted.coef_[0]), float(fitted.intercept_[0]))
    kept = passed & (oof >= (threshold if threshold is not None else 2.0))
    return {"model": cm.to_dict(), "min_confidence": threshold, "precision_target": precision,
            "threshold_on": list(threshold_on) or "all",
            "spans": len(rows), "right": int(y.sum()), "passed": int(passed.sum()),
            "out_of_fold": {"kept": int(kept.sum()), "precision": float(y[kept].mean()) if kept.any() else None,
                            "coverage_of_passed": float(kept.sum() / max(1, passed.sum()))}}


def ranker_rows(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """The questions of ``akhbar eval --json`` results of calibration splits whose answer had
    candidates to rank: each question's candidates with their features and labels."""
    out = []
    for path, result in _calibration_results(paths):
        for r in result.get("rows", []):
            cands = r.get("candidates") or []
            if len(cands) >= 2 and r.get("answerable"):
                out.append({"id": r["id"], "source": str(path), "candidates": cands})
    return out


def fit_ranker(rows: Sequence[dict[str, Any]], folds: int = 5) -> dict[str, Any]:
    """A standardised logistic model over ``rag.answer.rank.RANK_FEATURES`` scoring each
    candidate (label: it holds the gold), fitted on every candidate of every question; the
    ranker reads the best-scored one. Reported out of fold (questions split ``folds``-fold,
    fixed seed): how often the top candidate is right, against the model's own copy, over
    the questions where some candidate is. Deterministic for the same rows."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    from rag.answer.rank import RANK_FEATURES, Logistic, relative

    if len(rows) < 20:
        raise ConfigError(f"{len(rows)} questions with candidates: too few to fit a ranker")
    feats = [f for r in rows for f in relative([c["features"] for c in r["candidates"]])]
    x = np.array([[float(f[n]) for n in RANK_FEATURES] for f in feats])
    y = np.array([int(c["right"]) for r in rows for c in r["candidates"]])
    group = np.array([i for i, r in enumerate(rows) for _ in r["candidates"]])
    if len(set(y)) < 2:
        raise ConfigError("every candidate has the same label: nothing to rank")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale

    def model() -> LogisticRegression:
        # C chosen out of fold on the calibration candidates (docs/decisions.md, "Candidates").
        return LogisticRegression(C=0.1, max_iter=1000)

    oof = np.zeros(len(y))
    for train, test in KFold(folds, shuffle=True, random_state=0).split(np.arange(len(rows))):
        tr, te = np.isin(group, train), np.isin(group, test)
        if len(set(y[tr])) < 2:
            continue
        oof[te] = model().fit(z[tr], y[tr]).decision_function(z[te])
    solvable = copy_right = ranked_right = 0
    for i, r in enumerate(rows):
        at = np.flatnonzero(group == i)
        labels = y[at]
        if not labels.any():
            continue
        solvable += 1
        copy = [j for j, c in zip(at, r["candidates"]) if c["copied"]]
        copy_right += int(bool(copy) and y[copy[0]])
        ranked_right += int(y[at[int(np.argmax(oof[at]))]])
    fitted = model().fit(z, y)
    lr = Logistic(tuple(RANK_FEATURES), tuple(float(v) for v in mean), tuple(float(v) for v in scale),
                  tuple(float(v) for v in fitted.coef_[0]), float(fitted.intercept_[0]))
    return {"model": lr.to_dict(), "questions": len(rows), "candidates": len(y), "right": int(y.sum()),
            "out_of_fold": {"some_candidate_right": solvable, "copy_right": copy_right,
                            "ranker_right": ranked_right}}
