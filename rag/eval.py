"""``akhbar eval FILE``: measure retrieval, answers and citations on a SQuAD-format file.

Every distinct paragraph becomes a document in a throw-away collection, except a held-out
fraction (``--holdout``) whose questions the corpus cannot answer: those measure whether
Akhbar refuses instead of answering from model memory. Reported:

- retrieval, for dense, BM25 and hybrid side by side: recall@1/@5/@10 and MRR@10 (gold =
  the question's paragraph);
- answers: SQuAD token F1 and exact match after Arabic-aware normalisation (diacritics,
  tatweel, alef/yaa/taa-marbuta forms, punctuation, citation markers), and whether a gold
  answer is contained in the reply;
- citations: precision (cited sources that are the gold paragraph) and recall (answers
  citing it); refusals on answerable and on held-out questions; seconds per question
  (p50/p95) and prompt tokens.

The JSONL news question sets over a corpus (``bench/newsqa``) are ``rag.eval_news``.
"""

from __future__ import annotations

import json
import random
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

# The news question sets (bench/newsqa) have their own module; re-exported for callers of rag.eval.
from rag.eval_news import NewsQuestion as NewsQuestion
from rag.eval_news import format_qa_table as format_qa_table
from rag.eval_news import load_qa as load_qa
from rag.eval_news import qa_scores as qa_scores
from rag.eval_news import run_qa as run_qa
from rag.scoring import contains as contains
from rag.scoring import exact_match as exact_match
from rag.scoring import f1_score as f1_score
from rag.scoring import format_trust as format_trust
from rag.scoring import normalize_answer as normalize_answer
from rag.scoring import percentile
from rag.scoring import trust_fields as trust_fields
from rag.scoring import trust_scores as trust_scores


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    answers: tuple[str, ...]
    paragraph: int  # index into the paragraph list


def load_squad(path: Path) -> tuple[list[tuple[str, str]], list[Question]]:
    """(title, context) per distinct paragraph, and the questions pointing at them."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: not a readable SQuAD-format file ({e})") from e
    paragraphs: list[tuple[str, str]] = []
    index: dict[str, int] = {}
    questions: list[Question] = []
    for article in data:
        for para in article.get("paragraphs", []):
            ctx = para["context"]
            if ctx not in index:
                index[ctx] = len(paragraphs)
                paragraphs.append((article.get("title", ""), ctx))
            for qa in para.get("qas", []):
                answers = tuple(a["text"] for a in qa.get("answers", []) if a.get("text"))
                questions.append(Question(str(qa.get("id", len(questions))), qa["question"], answers, index[ctx]))
    if not paragraphs:
        raise ConfigError(f"{path}: no paragraphs found")
    return paragraphs, questions


def run(config: Config, path: Path, limit: int = 200, seed: int = 0, holdout: float = 0.1,
        retrieval_only: bool = False, split: str = "all", modes: tuple[str, ...] = ("dense", "bm25", "hybrid"),
        progress: Callable[[str], None] | None = None, embedder: Any = None, llm: Any = None) -> dict[str, Any]:
    from ingest.article import parse_extracted
    from rag.akhbar import Akhbar

    paragraphs, questions = load_squad(path)
    rng = random.Random(seed)
    order = list(range(len(paragraphs)))
    rng.shuffle(order)
    held = set(order[: round(holdout * len(paragraphs))])
    # Calibration and report halves by article (every other title, sorted), so no article
    # lends questions to both.
    titles = sorted({t for t, _ in paragraphs})
    half = {t: ("calibration" if i % 2 == 0 else "report") for i, t in enumerate(titles)}
    sample = [q for q in questions if split == "all" or half[paragraphs[q.paragraph][0]] == split]
    rng.shuffle(sample)
    sample = sample[:limit] if limit else sample
    say = progress or (lambda _m: None)

    with tempfile.TemporaryDirectory(prefix="akhbar-eval-") as tmp:
        cfg = config.with_overrides(home=Path(tmp), store={"collection": "eval"})
        bot = Akhbar(cfg, embedder=embedder, llm=llm)
        sources = {i: f"{Path(path).name}#p{i}" for i in range(len(paragraphs))}
        articles = [parse_extracted(ctx, sources[i], title=title) for i, (title, ctx) in enumerate(paragraphs)
                    if i not in held]
        t0 = time.perf_counter()
        report = bot.ingestor().ingest_articles(articles)
        ingest_s = time.perf_counter() - t0
        say(f"ingested {report.documents} paragraphs ({report.new_chunks} chunks) in {ingest_s:.1f}s; "
            f"{len(held)} held out")
        gold_doc: dict[int, str] = {}
        for i in range(len(paragraphs)):
            if i not in held:
                src = bot.manifest.source(sources[i])
                gold_doc[i] = src.doc_id if src else ""

        answerable = [q for q in sample if q.paragraph not in held]
        unanswerable = [q for q in sample if q.paragraph in held]
        retrieval: dict[str, dict[str, float]] = {}
        for mode in modes:
            ranks = []
            t = time.perf_counter()
            for q in answerable:
                hits = bot.retrieve(q.question, top_k=10, mode=mode)
                docs = list(dict.fromkeys(h.chunk.doc_id for h in hits))
                ranks.append(docs.index(gold_doc[q.paragraph]) + 1 if gold_doc[q.paragraph] in docs else 0)
            n = max(1, len(ranks))
            retrieval[mode] = {
                "recall@1": sum(1 for r in ranks if 0 < r <= 1) / n,
                "recall@5": sum(1 for r in ranks if 0 < r <= 5) / n,
                "recall@10": sum(1 for r in ranks if 0 < r <= 10) / n,
                "mrr@10": sum(1 / r for r in ranks if r) / n,
                "ms_per_query": (time.perf_counter() - t) * 1000 / n,
            }
            say(f"retrieval {mode}: recall@5 {retrieval[mode]['recall@5']:.3f}")
        result: dict[str, Any] = {
            "file": str(path), "paragraphs": len(paragraphs), "held_out_paragraphs": len(held),
            "questions": len(sample), "answerable": len(answerable), "unanswerable": len(unanswerable),
            "seed": seed, "retrieval_mode": cfg.retrieval.mode, "retrieval": retrieval,
            "ingest_s": round(ingest_s, 2),
        }
        if retrieval_only:
            return result

        rows: list[dict[str, Any]] = []
        for n_done, q in enumerate(answerable + unanswerable, start=1):
            ans = bot.ask(q.question)
            cited = [c.doc_id for c in ans.citations]
            gold = gold_doc.get(q.paragraph, "")
            rows.append({
                "id": q.qid, "question": q.question, "answers": list(q.answers), "reply": ans.text,
                "answerable": q.paragraph not in held, "refused": ans.refused,
                "f1": max((f1_score(ans.text, g) for g in q.answers), default=0.0),
                "em": any(exact_match(ans.text, g) for g in q.answers),
                "contained": any(contains(ans.text, g) for g in q.answers),
                "cited": len(cited), "cited_gold": sum(1 for d in cited if d == gold),
                "attributed": any(c.attributed for c in ans.citations),
                "seconds": ans.total_s, "first_token_s": ans.first_token_s, "prompt_tokens": ans.prompt_tokens,
                "language_mismatch": ans.diagnostics.language_mismatch is not None,
                "refused_by": _refused_by(ans) if ans.refused else "",
                # What the model actually wrote and what it was shown, for offline analysis
                # of the support check and the retrieval floor.
                "raw": ans.diagnostics.unsupported_answer or ans.text,
                "sources": [{"doc_id": s.doc_id, "score": round(s.score, 4), "excerpt": s.excerpt,
                             "gold": s.doc_id == gold} for s in ans.sources],
                "reader": ans.reader.value, **trust_fields(ans, q.answers),
            })
            if n_done % 10 == 0:
                say(f"answered {n_done}/{len(sample)}")
        ok = [r for r in rows if r["answerable"]]
        no = [r for r in rows if not r["answerable"]]
        cited_rows = [r for r in ok if r["cited"]]
        result["answers"] = {
            "f1": statistics.mean(r["f1"] for r in ok) if ok else 0.0,
            "exact_match": statistics.mean(float(r["em"]) for r in ok) if ok else 0.0,
            "gold_contained": statistics.mean(float(r["contained"]) for r in ok) if ok else 0.0,
            "citation_precision": (sum(r["cited_gold"] for r in cited_rows) / sum(r["cited"] for r in cited_rows)
                                   if cited_rows else 0.0),
            "citation_recall": statistics.mean(float(r["cited_gold"] > 0) for r in ok) if ok else 0.0,
            "attributed_rate": statistics.mean(float(r["attributed"]) for r in ok) if ok else 0.0,
            "refusal_rate_answerable": statistics.mean(float(r["refused"]) for r in ok) if ok else 0.0,
            "refusal_rate_unanswerable": statistics.mean(float(r["refused"]) for r in no) if no else 0.0,
            "language_mismatch_rate": statistics.mean(float(r["language_mismatch"]) for r in rows) if rows else 0.0,
            "seconds_p50": percentile([r["seconds"] for r in rows], 0.5),
            "seconds_p95": percentile([r["seconds"] for r in rows], 0.95),
            "first_token_s_p50": percentile([r["first_token_s"] for r in rows], 0.5),
            "prompt_tokens_mean": statistics.mean(r["prompt_tokens"] for r in rows) if rows else 0.0,
            "prompt_tokens_max": max((r["prompt_tokens"] for r in rows), default=0),
            # Which check refused: the retrieval floor, the model itself, or the support check.
            "refused_by_answerable": dict(Counter(r["refused_by"] for r in ok if r["refused"])),
            "refused_by_unanswerable": dict(Counter(r["refused_by"] for r in no if r["refused"])),
        }
        result["split"] = split
        result["trust"] = trust_scores(rows)
        result["rows"] = rows
        return result


def _refused_by(answer: Any) -> str:
    """Which check refused: ``Answer.refusal_reason`` (floor, no_span, echo,
    low_confidence, unsupported, model, …)."""
    return str(answer.refusal_reason or "model")


def format_table(result: dict[str, Any]) -> str:
    lines = [f"{result['file']}: {result['paragraphs']} paragraphs ({result['held_out_paragraphs']} held out), "
             f"{result['questions']} questions ({result['answerable']} answerable), seed {result['seed']}"]
    lines.append(f"{'retrieval':10}{'recall@1':>10}{'recall@5':>10}{'recall@10':>11}{'MRR@10':>9}{'ms/query':>10}")
    for mode, r in result["retrieval"].items():
        mark = " *" if mode == result["retrieval_mode"] else ""
        lines.append(f"{mode:10}{r['recall@1']:>10.3f}{r['recall@5']:>10.3f}{r['recall@10']:>11.3f}"
                     f"{r['mrr@10']:>9.3f}{r['ms_per_query']:>10.1f}{mark}")
    if "answers" in result:
        a = result["answers"]
        lines += [
            f"answers (retrieval {result['retrieval_mode']}): F1 {a['f1'] * 100:.1f}, EM {a['exact_match'] * 100:.1f}, "
            f"gold contained {a['gold_contained']:.3f}",
            f"citations: precision {a['citation_precision']:.3f}, recall {a['citation_recall']:.3f}, "
            f"attributed (no marker) {a['attributed_rate']:.3f}",
            f"refusals: answerable {a['refusal_rate_answerable']:.3f}, "
            f"unanswerable {a['refusal_rate_unanswerable']:.3f}; language mismatch {a['language_mismatch_rate']:.3f}",
            "refused by (answerable / unanswerable): " + ", ".join(
                f"{k} {a.get('refused_by_answerable', {}).get(k, 0)}/{a.get('refused_by_unanswerable', {}).get(k, 0)}"
                for k in sorted({*a.get("refused_by_answerable", {}), *a.get("refused_by_unanswerable", {})})),
            f"seconds per question p50 {a['seconds_p50']:.1f}, p95 {a['seconds_p95']:.1f}; first token p50 "
            f"{a['first_token_s_p50']:.1f}s; prompt tokens mean {a['prompt_tokens_mean']:.0f}, "
            f"max {a['prompt_tokens_max']}",
        ]
        if "trust" in result:
            lines.append(format_trust(result["trust"]))
    return "\n".join(lines)


# ------------------------------------------------------------------ news question sets (JSONL)
