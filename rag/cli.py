"""The ``akhbar`` command line: ingest, ask, models, stats.

A thin shell over ``rag.Akhbar``: it parses arguments, prints, and turns ``AkhbarError``
into one readable line and exit status 1 (never a traceback). ``ask`` streams the answer
as it is generated, then lists the numbered sources.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.config import BACKENDS, Config
from rag.errors import AkhbarError

REPO_READER = Path(__file__).resolve().parent.parent / "reader"


def _config(args: argparse.Namespace) -> Config:
    cfg = Config.load(args.config)
    overrides: dict[str, Any] = {}
    if args.home:
        overrides["home"] = Path(args.home)
    if getattr(args, "collection", None):
        overrides["store"] = {"collection": args.collection}
    if getattr(args, "backend", None):
        overrides["llm"] = {"backend": args.backend}
    if getattr(args, "top_k", None):
        overrides["retrieval"] = {"top_k": args.top_k}
    return cfg.with_overrides(**overrides) if overrides else cfg


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class _Bar:
    """A tqdm bar over files with documents/s and chunks/s, on stderr."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, p: Any) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=p.files_total, unit="file", file=sys.stderr, dynamic_ncols=True,
                            desc="ingest", mininterval=0.5)
        import time

        elapsed = max(1e-6, time.monotonic() - p.started)
        self.bar.n = p.files_done
        self.bar.set_postfix_str(f"{p.documents / elapsed:.1f} docs/s, {p.chunks / elapsed:.1f} chunks/s",
                                 refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar
    from rag.config import parse_pairs

    bot = Akhbar(_config(args))
    fields = parse_pairs(",".join(args.field), "--field")
    bar = None if args.quiet or args.json or not sys.stderr.isatty() else _Bar()
    try:
        report = bot.ingest(*args.paths, prune=args.prune, progress=bar, fields=fields)
    finally:
        if bar:
            bar.close()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for source, reason in report.errors:
            print(f"error: {source}: {reason}")
        for source, message in report.notes:
            # --quiet keeps the warnings (a file or a corpus with no dates), not the field lists.
            if not args.quiet or "No dates" in message or not source:
                print(f"note: {source + ': ' if source else ''}{message}")
        extras = [f"{n} {label}" for n, label in ((report.duplicates, "duplicates"),
                  (report.near_duplicates, "near-duplicates"), (report.replaced, "replaced"),
                  (report.pruned, "pruned")) if n]
        if extras and not args.quiet:
            print("(" + ", ".join(extras) + ")")
        print(report.summary())
    return 1 if report.documents == 0 and report.errors else 0


def cmd_remove(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    removed = Akhbar(_config(args)).remove(args.target)
    if not removed:
        print(f"nothing removed: no document or source {args.target!r}")
        return 1
    for source in removed.sources:
        print(f"removed source {source}")
    for doc_id in removed.documents:
        print(f"removed document {doc_id}")
    if not removed.documents:
        print("(the document stays: other sources still carry the same story)")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    docs = Akhbar(_config(args)).documents()
    if args.json:
        print(json.dumps([d.to_dict() for d in docs], ensure_ascii=False, indent=2))
        return 0
    for d in docs:
        more = f" (+{len(d.sources) - 1} more sources)" if len(d.sources) > 1 else ""
        first = d.sources[0].source if d.sources else "-"
        print(f"{d.doc_id}  {d.date[:10] or '----------'}  {d.chunks:>3} chunks  "
              f"{d.site or '-'}  {d.title}  [{first}{more}]")
    print(f"{len(docs)} documents")
    return 0


def _export(text: str, args: argparse.Namespace, what: str) -> bool:
    """Write an export to ``--out`` (True) or print it (False: nothing else goes to stdout)."""
    if args.out and args.out != "-":
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as e:
            raise AkhbarError(f"cannot write the export to {args.out}: {e.strerror or e}") from e
        _err(f"akhbar: wrote {args.export} export of {what} to {args.out}")
        return True
    print(text, end="")
    return False


def _export_format(value: str) -> str:
    from rag.export import normalize_format

    try:
        return normalize_format(value)
    except AkhbarError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar
    from rag.retrieval import Filters
    from rag.types import Answer

    bot = Akhbar(_config(args))
    filters = Filters(date_from=args.since or "", date_to=args.until or "", sites=tuple(args.site or ()),
                      languages=tuple(args.lang or ()))
    answer: Answer | None = None
    streaming = not args.json and (sys.stdout.isatty() or args.stream)
    draft: list[str] = []
    for item in bot.ask_stream(args.question, filters=None if filters.empty() else filters, as_of=args.as_of,
                               time_filter=not args.no_time_filter):
        if isinstance(item, Answer):
            answer = item
        else:
            draft.append(item)
            if streaming:
                print(item, end="", flush=True)
    assert answer is not None
    if args.export and not _export(answer.export(args.export), args, f"{len(answer.citations)} citation(s)"):
        return 0
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if not streaming:
        print(answer.text)
    elif answer.text != "".join(draft).strip():
        # Markers were removed or sources attributed: show the checked text too.
        print("\n\n" + answer.text)
    else:
        print()
    if answer.citations:
        print()
        label = "المصادر" if answer.language == "ar" else "Sources"
        print(f"{label}:")
        for c in answer.citations:
            flag = " (attributed by overlap: the model wrote no marker)" if c.attributed else ""
            page = (f", ص {c.page}" if answer.language == "ar" else f", p. {c.page}") if c.page else ""
            print(f"  [{c.number}] {c.title} — {c.source_path}{page}{flag}")
    for note in answer.notes:
        print(f"({note})")
    if answer.invalid_markers:
        print(f"(removed {len(answer.invalid_markers)} marker(s) pointing at no source: "
              f"{' '.join(answer.invalid_markers)})")
    if answer.refused and answer.extra.get("reason"):
        print(f"(refused: {answer.extra['reason']})", file=sys.stderr)
    print(f"\n[{answer.backend}: {answer.model} · first token {answer.first_token_s:.1f}s · "
          f"total {answer.total_s:.1f}s · prompt {answer.prompt_tokens} tokens · {bot.selection.reason}]",
          file=sys.stderr)
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar
    from rag.retrieval import Filters

    bot = Akhbar(_config(args))
    filters = Filters(date_from=args.since or "", date_to=args.until or "", sites=tuple(args.site or ()))
    t = bot.timeline(args.query, filters=None if filters.empty() else filters, floor=args.floor)
    if args.export:
        _export(t.export(args.export), args, f"{len(t.entries)} article(s)")
        return 0
    if args.json:
        print(json.dumps(t.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if not t.entries:
        print(f"no article reaches the relevance floor {t.floor:g} for {args.query!r}")
        return 0
    print(f"{len(t.entries)} articles in {t.stories} stories on {args.query!r} (relevance floor {t.floor:g})")
    for day, n in t.per_day().items():
        print(f"  {day}  {'█' * n} {n}")
    for entry in t.entries:
        also = f"  (+{len(entry.also)} copies)" if entry.also else ""
        print(f"\n[{entry.story}] {entry.date[:10] or '----------'}  {entry.site or '-'}  {entry.title}{also}")
        print(f"    {entry.sentence}")
        if entry.url:
            print(f"    {entry.url}")
    if t.undated:
        print(f"\n({t.undated} of them have no date: listed last)")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    result = Akhbar(_config(args)).doctor(repair=not args.check)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        f = result.found
        print(f"{f.documents} documents, {f.chunks_in_store} chunks in the store: "
              f"{f.pending_documents} interrupted, {f.documents_missing_vectors} missing vectors, "
              f"{f.orphan_chunks} orphan chunks")
        for a in result.actions:
            print(f"repaired: {a}")
        if result.consistent:
            print("consistent: the manifest and the vector store agree")
        elif args.check:
            print("not consistent: run `akhbar doctor` (without --check) to repair")
        elif result.after:
            print(f"now {result.after.documents} documents, {result.after.chunks_in_store} chunks")
    return 1 if args.check and not result.consistent else 0


def cmd_chat(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            raise AkhbarError("--auth must be USER:PASS")
        auth = (user, password)
    if args.host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        _err(f"akhbar: warning: serving on {args.host} without --auth: anyone who can reach this machine "
             "can read the archive and ask questions")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        from ui.app import launch
    except ImportError as e:
        raise AkhbarError(f"the chat UI needs gradio ({e}); run `make setup`") from e

    bot = Akhbar(_config(args))

    def warm() -> None:
        # Models load and the prompt prefix is read before the URL is shown: the first
        # question then waits no longer than a later one.
        took = bot.warm()
        _err(f"akhbar: models loaded and the prompt primed in {took:.1f}s ({bot.selection.reason})")

    launch(bot, host=args.host, port=args.port, auth=auth, announce=lambda m: print(m, flush=True), prepare=warm)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from rag import models

    cfg = _config(args)
    if args.action == "ollama-create":
        return cmd_ollama_create(args, cfg)
    if args.action == "prepare":
        done = models.prepare(cfg, include_small=args.small, progress=_err)
        for name, path in done.items():
            print(f"{name}: {path}")
        return 0
    st = models.status(cfg)
    if args.json:
        print(json.dumps(st, indent=2))
        return 0
    emb = st["embedding"]
    print(f"models dir: {st['models_dir']}")
    print(f"embedding  {emb['name']}: {'ready' if emb['ready'] else 'NOT PREPARED'} ({emb['path']})")
    for name, info in st["llm"].items():
        mark = " (configured)" if info.get("configured") else ""
        print(f"llm        {name}{mark}: {'ready' if info['ready'] else 'NOT PREPARED'} ({info['path']})")
    ad = st["adapter"]
    if ad["path"]:
        state = "loaded by the reader" if ad["active"] else "NOT USED"
        print(f"adapter    {ad['setting']}: {state} ({ad['path']})")
        if "sha256" in ad:
            match = "yes" if ad["matches_base"] else "NO"
            print(f"           sha256 {ad['sha256']}, {ad['size_bytes'] / 1e6:.1f} MB, rank {ad['rank']}")
            print(f"           trained on base sha256 {ad['base_sha256']}; matches the configured GGUF: {match}")
        if ad.get("problem"):
            print(f"           {ad['problem']}")
    else:
        print(f"adapter    {ad['setting']}: none")
    missing = not emb["ready"] or not any(i["ready"] for i in st["llm"].values() if i.get("configured"))
    return 1 if missing else 0


def cmd_ollama_create(args: argparse.Namespace, cfg: Config) -> int:
    from rag.llm import create_ollama_model

    adapter = Path(args.adapter) if args.adapter else cfg.llm_adapter_path
    if adapter is None:
        _err("akhbar: no adapter: give --adapter PATH or set llm.adapter")
        return 1
    modelfile = create_ollama_model(cfg, adapter, args.name, base=args.base, progress=_err)
    print(f"created Ollama model {args.name} (FROM {args.base or cfg.llm.ollama_model} + ADAPTER {adapter.name})")
    print(f"Modelfile written to {modelfile}")
    print(f"use it with: AKHBAR_LLM_OLLAMA_MODEL={args.name} (or llm.ollama_model in the config)")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    st = Akhbar(_config(args)).stats()
    if args.json:
        print(json.dumps(st.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"collection   {st.collection}  ({st.home})")
    print(f"documents    {st.documents}  ({st.dated_documents} with a date)")
    print(f"chunks       {st.chunks}")
    emb = st.embedding_model
    print(f"embedding    {emb.name} ({'ready' if emb.ready else 'not prepared'})")
    llm = st.llm
    print(f"llm backend  {llm.backend_setting} (Ollama {llm.ollama_model} at {llm.ollama_host}, "
          f"else {llm.gguf})")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag import eval as ev

    cfg = _config(args)
    if args.file.endswith(".jsonl"):
        files = [Path(args.file), *(Path(f) for f in args.more)]
        result = ev.run_qa(cfg, files, args.corpus or [], split=args.split,
                           home=Path(args.eval_home) if args.eval_home else None,
                           limit=0 if args.limit == 200 else args.limit, progress=None if args.quiet else _err)
        print(ev.format_qa_table(result))
    else:
        result = ev.run(cfg, Path(args.file), limit=args.limit, seed=args.seed, holdout=args.holdout,
                        retrieval_only=args.retrieval_only, progress=None if args.quiet else _err)
        print(ev.format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"(written to {args.json})")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from rag.calibrate import calibrate, write_settings

    cfg = _config(args)
    result = calibrate(cfg, [Path(f) for f in args.files], args.corpus or [],
                       home=Path(args.eval_home) if args.eval_home else None, progress=None if args.quiet else _err)
    print(f"calibration split: {result['questions']} questions, {result['extractive']} read by copying")
    for key, value in result["settings"].items():
        print(f"  {key} = {value}")
    if args.write:
        target = Path(args.config) if args.config else cfg.home / "akhbar.toml"
        write_settings(target, result["settings"])
        print(f"written to {target}")
    return 0


def cmd_train_reader(args: argparse.Namespace) -> int:
    from rag import teach

    cfg = _config(args)
    data = [Path(f) for f in args.data] if args.data is not None else sorted(teach.DATA_DIR.glob("*.jsonl"))
    arcd = None if args.no_arcd else Path(args.arcd)
    info = teach.run(cfg, Path(args.out), data_files=data, corpus_dir=Path(args.corpus), arcd=arcd,
                     arcd_limit=args.arcd_limit, cloze=args.cloze, withhold_share=args.withhold,
                     epochs=args.epochs, limit=args.limit, rank=args.rank,
                     alpha=args.alpha, lr=args.lr, accumulate=args.accumulate, seed=args.seed,
                     base=Path(args.base) if args.base else None, examples_only=args.examples_only,
                     dtype=args.dtype, log=_err)
    if info is None:
        return 0
    print(f"adapter   {info.path}")
    print(f"sha256    {info.sha256}")
    print(f"base      sha256 {info.base_sha256}")
    print(f"card      {Path(info.path).with_suffix('.md')}")
    return 0


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
    s.set_defaults(func=cmd_ingest)

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
    s.add_argument("--export", metavar="FMT", type=_export_format,
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
    s.add_argument("--export", metavar="FMT", type=_export_format,
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
    s.add_argument("--split", default="report", help="(.jsonl) calibration, report or all (default: report)")
    s.add_argument("--eval-home", metavar="DIR", help="(.jsonl) keep the ingested corpus in DIR and reuse it")
    s.add_argument("--retrieval-only", action="store_true")
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
    s.add_argument("files", nargs="+", help="question sets (.jsonl)")
    s.add_argument("--corpus", nargs="+", metavar="PATH", help="the articles the questions are about")
    s.add_argument("--eval-home", metavar="DIR", help="keep the ingested corpus in DIR and reuse it")
    s.add_argument("--write", action="store_true", help="write the thresholds to --config or <home>/akhbar.toml")
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
        _err(f"akhbar: {e}")
        return 1
    except KeyboardInterrupt:
        _err("akhbar: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
