"""``akhbar eval SET.jsonl … --corpus …``: the news question sets (``bench/newsqa``) over a corpus.

Ingests the corpus into a kept or throw-away home, asks every question of one split, and
scores the replies per language and overall: retrieval recall@5, whether the gold span was in
the evidence shown, whether the reply holds it, refusals, citations of the gold article,
seconds, and the decide stage's trust figures; optionally each answerable question's
unanswerable twin (its gold article left out). The SQuAD-format evaluation is ``rag.eval``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Config
from rag.errors import ConfigError
from rag.scoring import contains, exact_match, f1_score, format_trust, percentile, trust_fields, trust_scores


@dataclass(frozen=True)
class NewsQuestion:
    qid: str
    question: str
    language: str
    answerable: bool
    answers: tuple[str, ...]  # the verbatim span first, then accepted renderings (aliases)
    url: str  # the gold article (for an unanswerable question: the near-miss article)
    split: str


def load_qa(path: Path) -> list[NewsQuestion]:
    """A JSONL question set (bench/newsqa/*.jsonl; see bench/newsqa/check.py)."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the question set ({e})") from e
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            answers = ((r["answer"],) if r["answer"] else ()) + tuple(r.get("aliases", []))
            out.append(NewsQuestion(str(r["id"]), r["question"], r["language"], bool(r["answerable"]), answers,
                                    r.get("url", ""), r.get("split", "")))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ConfigError(f"{path}:{n}: not a question record ({e})") from e
    return out


def run_qa(config: Config, qa_files: list[Path], corpus: list[str], split: str = "report",
           home: Path | None = None, limit: int = 0, progress: Callable[[str], None] | None = None,
           embedder: Any = None, llm: Any = None, twins: bool = False) -> dict[str, Any]:
    """Ingest ``corpus`` into ``home`` (kept and reused when given, else a throw-away
    one; ingest skips what is already there), then ask every question of ``split``
    ("all" for every one) and score the answers, per language and overall.

    ``twins``: each answerable question is asked again with its gold article left out of
    retrieval (``Filters.exclude``), an unanswerable near miss; a twin whose evidence still
    holds the answer (another paper's copy of the story) is skipped. Twins are scored apart
    (``result["twins"]``, rows in ``result["twin_rows"]``), not in the figures above."""
    from rag.akhbar import Akhbar

    questions = [q for f in qa_files for q in load_qa(f) if split == "all" or q.split == split]
    questions = questions[:limit] if limit else questions
    say = progress or (lambda _m: None)
    with tempfile.TemporaryDirectory(prefix="akhbar-eval-") as tmp:
        cfg = config.with_overrides(home=Path(home) if home else Path(tmp))
        bot = Akhbar(cfg, embedder=embedder, llm=llm)
        t0 = time.perf_counter()
        report = bot.ingest(*corpus) if corpus else None
        ingest_s = time.perf_counter() - t0
        if report is not None:
            say(f"corpus: {report.summary()} in {ingest_s:.1f}s")
        rows: list[dict[str, Any]] = []
        twin_rows: list[dict[str, Any]] = []
        for n_done, q in enumerate(questions, start=1):
            hits = bot.retrieve(q.question, top_k=10)
            urls = list(dict.fromkeys(h.chunk.url for h in hits))
            ans = bot.ask(q.question)
            shown = " ".join(s.excerpt for s in ans.sources)
            span = q.answers[0] if q.answers else ""
            rows.append({
                "id": q.qid, "question": q.question, "language": q.language, "answerable": q.answerable,
                "answers": list(q.answers), "reply": ans.text, "refused": ans.refused,
                "refusal_reason": ans.refusal_reason or "", "reader": ans.reader.value,
                "question_type": ans.diagnostics.question_type or "", "span_logprob": ans.diagnostics.span_logprob,
                "closest_similarity": ans.diagnostics.closest_similarity,
                "none_logprob": ans.diagnostics.none_logprob, "first_logprob": ans.diagnostics.first_logprob,
                "verify_margin": ans.diagnostics.verify_margin,
                "cross_language": bool(ans.diagnostics.cross_language),
                "retrieved_rank": urls.index(q.url) + 1 if q.url in urls else 0,
                "evidence_has_gold": bool(span) and contains(shown, span),
                "contained": any(contains(ans.text, g) for g in q.answers),
                "f1": max((f1_score(ans.text, g) for g in q.answers), default=0.0),
                "em": any(exact_match(ans.text, g) for g in q.answers),
                "cited": len(ans.citations),
                "cited_gold": sum(1 for c in ans.citations if c.url == q.url or (span and span in c.quote)),
                "seconds": ans.total_s, "first_token_s": ans.first_token_s, **trust_fields(ans, q.answers),
            })
            if twins and q.answerable:
                twin = _twin(bot, q)
                if twin is not None:
                    twin_rows.append(twin)
            if n_done % 10 == 0:
                say(f"answered {n_done}/{len(questions)}")
        result: dict[str, Any] = {"files": [str(f) for f in qa_files], "split": split, "questions": len(rows),
                                  "ingest_s": round(ingest_s, 1), "overall": qa_scores(rows)}
        for lang in sorted({r["language"] for r in rows}):
            result[lang] = qa_scores([r for r in rows if r["language"] == lang])
        result["rows"] = rows
        if twins:
            result["twins"] = {"asked": sum(1 for q in questions if q.answerable), "kept": len(twin_rows),
                               **trust_scores(twin_rows)}
            result["twin_rows"] = twin_rows
        return result


def _twin(bot: Any, q: NewsQuestion) -> dict[str, Any] | None:
    """``q`` asked with its gold article (every copy of it under its URL among the question's
    50 best hits) left out; None when the evidence still holds the answer."""
    from rag.retrieval import Filters

    gold = tuple(dict.fromkeys(h.chunk.doc_id for h in bot.retrieve(q.question, top_k=50) if h.chunk.url == q.url))
    if not gold:
        return None  # the gold article is not retrieved anyway: the question itself is the near miss
    ans = bot.ask(q.question, filters=Filters(exclude=gold))
    shown = " ".join(s.excerpt for s in ans.sources)
    if any(contains(shown, g) for g in q.answers):
        return None
    return {"id": q.qid + "~twin", "question": q.question, "language": q.language, "answerable": False,
            "answers": [], "reply": ans.text, "refused": ans.refused, "refusal_reason": ans.refusal_reason or "",
            "reader": ans.reader.value, "left_out": list(gold), "seconds": ans.total_s, "contained": False,
            **trust_fields(ans, ())}


def qa_scores(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if r["answerable"]]
    no = [r for r in rows if not r["answerable"]]
    answered = [r for r in ok if not r["refused"]]
    cited = [r for r in answered if r["cited"]]

    def mean(values: list[float]) -> float:
        return statistics.mean(values) if values else 0.0

    return {
        "questions": len(rows), "answerable": len(ok), "unanswerable": len(no),
        "recall@1": mean([float(r["retrieved_rank"] == 1) for r in ok]),
        "recall@5": mean([float(0 < r["retrieved_rank"] <= 5) for r in ok]),
        "evidence_recall": mean([float(r["evidence_has_gold"]) for r in ok]),
        # The reader alone: how often it states the gold when the evidence shown holds it.
        "reading_given_evidence": mean([float(r["contained"]) for r in ok if r["evidence_has_gold"]]),
        "gold_contained": mean([float(r["contained"]) for r in ok]),
        "f1": mean([r["f1"] for r in ok]), "exact_match": mean([float(r["em"]) for r in ok]),
        "answered_wrong": mean([float(not r["refused"] and not r["contained"]) for r in ok]),
        "refused_answerable": mean([float(r["refused"]) for r in ok]),
        "refused_unanswerable": mean([float(r["refused"]) for r in no]),
        "cited_gold": mean([float(r["cited_gold"] > 0) for r in cited]),
        "first_token_s_p50": percentile([r["first_token_s"] for r in rows], 0.5),
        "seconds_p50": percentile([r["seconds"] for r in rows], 0.5),
        "refused_by": dict(Counter(r["refusal_reason"] for r in rows if r["refused"])),
        "trust": trust_scores(rows),
    }


def format_qa_table(result: dict[str, Any]) -> str:
    lines = [f"{', '.join(result['files'])}: split {result['split']}, {result['questions']} questions"]
    head = (f"{'':8}{'n':>4}{'rec@5':>7}{'evid':>6}{'gold':>6}{'F1':>6}{'EM':>6}{'wrong':>7}{'ref.ok':>7}"
            f"{'ref.no':>7}{'cite':>6}{'ttft':>6}{'total':>7}")
    lines.append(head)
    for key in ("overall", *sorted(k for k in ("ar", "en") if k in result)):
        s = result[key]
        lines.append(f"{key:8}{s['questions']:>4}{s['recall@5']:>7.2f}{s['evidence_recall']:>6.2f}"
                     f"{s['gold_contained']:>6.2f}{s['f1'] * 100:>6.1f}{s['exact_match'] * 100:>6.1f}"
                     f"{s['answered_wrong']:>7.2f}{s['refused_answerable']:>7.2f}{s['refused_unanswerable']:>7.2f}"
                     f"{s['cited_gold']:>6.2f}{s['first_token_s_p50']:>6.1f}{s['seconds_p50']:>7.1f}")
    lines.append("reading accuracy given evidence holding the gold: " + ", ".join(
        f"{key} {result[key]['reading_given_evidence']:.2f}" for key in ("overall", "ar", "en") if key in result))
    lines.append("refused by: " + ", ".join(f"{k} {v}" for k, v in sorted(result["overall"]["refused_by"].items())))
    lines += [f"{key}: {format_trust(result[key]['trust'])}" for key in ("overall", "ar", "en") if key in result]
    if "twins" in result:
        t = result["twins"]
        lines.append(f"unanswerable twins (gold article left out): {t['kept']} of {t['asked']} kept (the rest still "
                     f"held the answer elsewhere or lost it anyway); given a short answer "
                     f"{t['unanswerable_short'] if t['unanswerable_short'] is not None else 0:.2f}")
    lines.append("rec@5: gold article in the top 5; evid: gold span in what the model was shown; gold: gold "
                 "contained in the answer; wrong: answered but not gold (share of answerable); ref.ok / ref.no: "
                 "refusals of answerable / unanswerable; cite: answers citing the gold article; seconds p50")
    return "\n".join(lines)
