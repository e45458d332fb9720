"""The ``akhbar`` command line: ingest, ask, models, stats.

A thin shell over ``rag.Akhbar``: it parses arguments, prints, and turns ``AkhbarError``
into one readable line and exit status 1 (never a traceback). ``ask`` streams the answer
as it is generated, then lists the numbered sources.

This module holds the parser and ``main``; the commands are in ``rag.cli.corpus``
(building and keeping a collection), ``rag.cli.ask`` (questions, timelines, the chat UI)
and ``rag.cli.tools`` (models, evaluation, calibration, training the reader). Each
command imports what it needs when it runs, so the parser loads nothing heavy.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from rag.cli.ask import cmd_ask, cmd_chat, cmd_timeline, export_format
from rag.cli.common import err
from rag.cli.corpus import cmd_docs, cmd_doctor, cmd_ingest, cmd_remove, cmd_stats, cmd_vectors
from rag.cli.tools import cmd_calibrate, cmd_eval, cmd_models, cmd_train_reader
from rag.config import BACKENDS
from rag.errors import AkhbarError

REPO_READER = Path(__file__).resolve().parent.parent.parent / "reader"

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="akhbar", description="Ask questions of a news corpus, with citations.")
    p.add_argument("--config", help="TOML config file (default: $AKHBAR_CONFIG or <home>/akhbar.toml)")
    p.add_argument("--home", help="data directory (default: $AKHBAR_HOME or ~/.local/share/akhbar)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("ingest", help="add articles (files, directories, zips, feed or page URLs)")
    s.add_argument("paths", nargs="+", metavar="PATH|URL")
    s.add_argument("--collection")
    s.add_argument("--prune", action="store_true", help="also remove documents whose files are gone")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--quiet", action="store_true", help="no progress bar; errors and the summary line only")
    s.add_argument("--field", action="append", metavar="KEY=NAME", default=[],
                   help="the JSON field holding KEY (title, text, date, url, site, author) in this archive, "
                        "e.g. --field date=crawl_time --field site=paper; overrides ingest.fields")
    wait = s.add_mutually_exclusive_group()
    wait.add_argument("--wait", dest="wait", action="store_true", default=True,
                      help="return once every vector is computed (the default): the documents are answerable "
                           "(by BM25) as soon as the first phase ends")
    wait.add_argument("--no-wait", dest="wait", action="store_false",
                      help="return after the first phase; the vectors are computed by the next `akhbar chat` "
                           "(behind) or `akhbar vectors`")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("vectors", help="compute the vectors ingest left waiting (resumes an interrupted ingest)")
    s.add_argument("--collection")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--json", action="store_true", help="print where the phase stands as JSON")
    s.set_defaults(func=cmd_vectors)

    s = sub.add_parser("remove", help="remove a document (by id) or a source (by path or URL)")
    s.add_argument("target", metavar="DOC_ID|PATH")
    s.add_argument("--collection")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser("docs", help="list the documents of a collection")
    s.add_argument("--collection")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_docs)

    s = sub.add_parser("ask", help="answer a question from the collection, with numbered sources")
    s.add_argument("question")
    s.add_argument("--collection")
    s.add_argument("--json", action="store_true", help="print the full Answer as JSON")
    s.add_argument("--stream", action="store_true", help="stream the draft even when not on a terminal")
    s.add_argument("--backend", choices=BACKENDS)
    s.add_argument("--top-k", type=int)
    s.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published on or after this date")
    s.add_argument("--until", metavar="YYYY-MM-DD", help="only articles published on or before this date")
    s.add_argument("--site", action="append", help="only articles from this site (repeatable)")
    s.add_argument("--lang", action="append", choices=("ar", "en", "other"), help="only articles in this language")
    s.add_argument("--as-of", metavar="YYYY-MM-DD|newest",
                   help="the day time words in the question (yesterday, الأسبوع الماضي) count from "
                        "(default: answer.as_of, else today)")
    s.add_argument("--no-time-filter", action="store_true",
                   help="do not turn time words in the question into a date filter")
    s.add_argument("--export", metavar="FMT", type=export_format,
                   help="export the answer's citations: csl-json, bibtex, ris, csv, markdown or json")
    s.add_argument("--out", metavar="FILE", help="write the export to FILE (default: standard output)")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("timeline", help="the articles on a topic in date order, grouped into stories")
    s.add_argument("query")
    s.add_argument("--collection")
    s.add_argument("--since", metavar="YYYY-MM-DD")
    s.add_argument("--until", metavar="YYYY-MM-DD")
    s.add_argument("--site", action="append", help="only articles from this site (repeatable)")
    s.add_argument("--floor", type=float, help="relevance floor (default: retrieval.timeline_similarity)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--export", metavar="FMT", type=export_format,
                   help="export the listed articles: csl-json, bibtex, ris, csv, markdown or json")
    s.add_argument("--out", metavar="FILE", help="write the export to FILE (default: standard output)")
    s.set_defaults(func=cmd_timeline)

    s = sub.add_parser("doctor", help="check that the manifest and the vectors agree, and repair them")
    s.add_argument("--check", action="store_true", help="only report; change nothing (exit 1 if inconsistent)")
    s.add_argument("--collection")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_doctor)

    s = sub.add_parser("chat", help="open the browser chat (Gradio) on this collection")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=7860, help="0: any free port (the URL is printed)")
    s.add_argument("--auth", metavar="USER:PASS", help="require this login")
    s.add_argument("--collection")
    s.add_argument("--backend", choices=BACKENDS)
    s.set_defaults(func=cmd_chat)

    s = sub.add_parser("models", help="prepare or inspect the packaged models")
    s.add_argument("action", choices=("prepare", "status", "ollama-create"),
                   help="ollama-create: register the reader adapter with the Ollama server as its own model")
    s.add_argument("--small", action="store_true", help="also prepare the 0.5B model used by fast tests")
    s.add_argument("--no-prime", action="store_true",
                   help="(prepare) do not build the reader's caches in the data home (copy vocabulary, "
                        "instruction state) that the first question would otherwise build")
    s.add_argument("--name", default="akhbar-reader", help="(ollama-create) the new model's name")
    s.add_argument("--adapter", help="(ollama-create) adapter GGUF (default: llm.adapter's file)")
    s.add_argument("--base", help="(ollama-create) the Ollama model it applies to (default: llm.ollama_model)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_models)

    s = sub.add_parser("eval", help="measure retrieval, answers and citations on a SQuAD-format file, or on "
                                    "JSONL news question sets (bench/newsqa) over a corpus")
    s.add_argument("file", help="a SQuAD-format .json file, or a question set .jsonl")
    s.add_argument("more", nargs="*", help="more .jsonl question sets")
    s.add_argument("--corpus", nargs="+", metavar="PATH", help="(.jsonl) the articles the questions are about")
    s.add_argument("--split", help="calibration, report or all (default: report for .jsonl, all for SQuAD; a SQuAD "
                                   "file splits by article, every other title)")
    s.add_argument("--eval-home", metavar="DIR", help="(.jsonl) keep the ingested corpus in DIR and reuse it")
    s.add_argument("--retrieval-only", action="store_true")
    s.add_argument("--twins", action="store_true",
                   help="(.jsonl) also ask each answerable question with its gold article left out of retrieval "
                        "(an unanswerable near miss), scored apart")
    s.add_argument("--limit", type=int, default=200, help="questions to sample (0 = all; .jsonl: all by default)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--holdout", type=float, default=0.1,
                   help="fraction of paragraphs left out of the corpus: their questions must be refused")
    s.add_argument("--backend", choices=BACKENDS)
    s.add_argument("--json", metavar="OUT", help="write the full result, per question, to OUT")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("calibrate", help="re-derive the answer thresholds on the calibration split of JSONL "
                                         "question sets and (with --write) save them to the config file")
    s.add_argument("files", nargs="+", help="question sets (.jsonl); with --confidence or --ranker, "
                                          "`akhbar eval --json` results of calibration splits")
    s.add_argument("--corpus", nargs="+", metavar="PATH", help="the articles the questions are about")
    s.add_argument("--eval-home", metavar="DIR", help="keep the ingested corpus in DIR and reuse it")
    s.add_argument("--confidence", action="store_true",
                   help="fit the decide stage's confidence model on the copied spans of the given eval results and "
                        "write it to --model-out; the threshold for --precision goes to answer.min_confidence")
    s.add_argument("--ranker", action="store_true",
                   help="fit the candidate ranker (rag/answer/rank.py) on the candidates recorded in the given eval "
                        "results and write it to --model-out")
    s.add_argument("--precision", type=float, default=0.90, help="(--confidence) short-answer precision to hold")
    s.add_argument("--model-out", metavar="JSON",
                   help="default: rag/answer/confidence.json (--confidence), rag/answer/ranker.json (--ranker)")
    s.add_argument("--threshold-on", nargs="+", metavar="RESULT",
                   help="(--confidence) choose the threshold on these results' spans only (the model learns from all)")
    s.add_argument("--write", action="store_true", help="write the thresholds to --config or <home>/akhbar.toml "
                                                        "(its other settings are kept, its comments are not)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_calibrate)

    s = sub.add_parser("train-reader", help="teach the extractive reader: build the training set, train a LoRA "
                                            "adapter on the packaged GGUF and write it as a GGUF adapter")
    s.add_argument("--out", default=str(REPO_READER / "akhbar-reader.gguf"), help="adapter path (default: %(default)s)")
    s.add_argument("--data", nargs="*", metavar="JSONL", help="our news QA records (default: reader/data/*.jsonl)")
    s.add_argument("--corpus", default=str(REPO_READER.parent.parent / "shared" / "eval" / "saudinews"),
                   help="the SaudiNewsNet zips the records point into (default: %(default)s)")
    s.add_argument("--arcd", default=str(REPO_READER.parent.parent / "shared" / "eval" / "arcd" / "arcd-train.json"))
    s.add_argument("--no-arcd", action="store_true", help="train on our news records only")
    s.add_argument("--arcd-limit", type=int, default=150, help="a seeded sample of this many ARCD records (0 = all)")
    s.add_argument("--cloze", type=int, default=120, help="cloze records over SaudiNewsNet: a sentence's number or "
                                                          "date is the answer (0 = none)")
    s.add_argument("--withhold", type=float, default=0.05, help="share of answerable records also shown with the "
                                                                "answer's sentences withheld, taught as refusals")
    s.add_argument("--base", help="base GGUF (default: the configured llm.model)")
    s.add_argument("--epochs", type=float, default=1.0)
    s.add_argument("--limit", type=int, default=0, help="train on a seeded sample of this many records (0 = all)")
    s.add_argument("--rank", type=int, default=16)
    s.add_argument("--alpha", type=int, default=32)
    s.add_argument("--lr", type=float, default=2e-4)
    s.add_argument("--accumulate", type=int, default=8, help="examples per optimiser step")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--examples-only", action="store_true", help="build and write the training examples, then stop")
    s.add_argument("--dtype", choices=("auto", "float32", "bfloat16"), default="auto",
                   help="base weights while training: auto = bfloat16 where the CPU has it natively (default)")
    s.set_defaults(func=cmd_train_reader)

    s = sub.add_parser("stats", help="documents, chunks, models and backend of a collection")
    s.add_argument("--collection")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stats)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AkhbarError as e:
        err(f"akhbar: {e}")
        return 1
    except KeyboardInterrupt:
        err("akhbar: interrupted")
        return 130
