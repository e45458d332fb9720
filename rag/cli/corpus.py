"""``akhbar ingest``, ``vectors``, ``docs``, ``remove``, ``stats`` and ``doctor``: building a
collection and looking after it. Asking it questions is ``rag.cli.ask``'s.

``rag.akhbar`` (and through it the models and the store) and tqdm are imported inside the
commands, so ``akhbar --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from rag.cli.common import load_config
from rag.config import parse_pairs


class _Bar:
    """A tqdm bar over files with documents/s and chunks/s, on stderr: ingest's first phase."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, p: Any) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=p.files_total, unit="file", file=sys.stderr, dynamic_ncols=True,
                            desc="1/2 text", mininterval=0.5)
        elapsed = max(1e-6, time.monotonic() - p.started)
        self.bar.n = p.files_done
        self.bar.set_postfix_str(f"{p.documents / elapsed:.1f} docs/s, {p.chunks / elapsed:.1f} chunks/s",
                                 refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _VectorBar:
    """A tqdm bar over the chunks waiting for vectors, with chunks/s: the second phase."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, p: Any) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.first = p.pending + p.done
            self.bar = tqdm(total=self.first, unit="chunk", file=sys.stderr, dynamic_ncols=True,
                            desc="2/2 vectors", mininterval=0.5)
        self.bar.n = self.first - p.pending
        self.bar.set_postfix_str(f"{p.rate:.1f} chunks/s", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    bot = Akhbar(load_config(args))
    fields = parse_pairs(",".join(args.field), "--field")
    show = not (args.quiet or args.json or not sys.stderr.isatty())
    bar, vbar = (_Bar(), _VectorBar()) if show else (None, None)

    try:
        report = bot.ingest(*args.paths, prune=args.prune, progress=bar, fields=fields, wait=args.wait,
                            vector_progress=_after_text(bar, vbar), behind=False)
    finally:
        for b in (bar, vbar):
            if b:
                b.close()
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
        if report.pending_vectors:
            print(f"searchable now (BM25); {report.pending_vectors} chunks wait for their vectors: "
                  "`akhbar vectors` computes them, and `akhbar chat` does behind")
        print(report.summary())
    return 1 if report.documents == 0 and report.errors else 0


def _after_text(bar: Any, vbar: Any) -> Any:
    """The vector phase's progress: closes the first bar, says the text is searchable, draws
    the second."""
    said = [False]

    def tick(p: Any) -> None:
        if not said[0]:
            said[0] = True
            if bar:
                bar.close()
            if vbar is not None and p.pending:
                print(f"searchable now (BM25); computing vectors for {p.pending} chunks "
                      "(Ctrl-C stops; `akhbar vectors` resumes)", file=sys.stderr, flush=True)
        if vbar is not None and p.pending + p.done:
            vbar(p)

    return tick


def cmd_vectors(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    bot = Akhbar(load_config(args))
    vbar = None if args.quiet or args.json or not sys.stderr.isatty() else _VectorBar()
    try:
        status = bot.complete_vectors(vbar)
    finally:
        if vbar:
            vbar.close()
    if args.json:
        print(json.dumps(status.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"{status.done} chunks embedded ({status.rate:.1f} chunks/s); {status.pending} waiting; "
              f"{status.total} in all")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    removed = Akhbar(load_config(args)).remove(args.target)
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

    docs = Akhbar(load_config(args)).documents()
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


def cmd_doctor(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    result = Akhbar(load_config(args)).doctor(repair=not args.check)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        f = result.found
        print(f"{f.documents} documents, {f.chunks_in_store} chunks in the store: "
              f"{f.pending_documents} interrupted, {f.documents_missing_vectors} missing vectors, "
              f"{f.orphan_chunks} orphan chunks, {f.chunks_waiting_for_vectors} chunks waiting for vectors")
        for a in result.actions:
            print(f"repaired: {a}")
        if result.consistent:
            print("consistent: the manifest and the vector store agree")
        elif args.check:
            print("not consistent: run `akhbar doctor` (without --check) to repair")
        elif result.after:
            print(f"now {result.after.documents} documents, {result.after.chunks_in_store} chunks")
    return 1 if args.check and not result.consistent else 0


def cmd_stats(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    st = Akhbar(load_config(args)).stats()
    if args.json:
        print(json.dumps(st.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"collection   {st.collection}  ({st.home})")
    print(f"documents    {st.documents}  ({st.dated_documents} with a date)")
    waiting = f"  ({st.pending_vectors} waiting for vectors: `akhbar vectors`)" if st.pending_vectors else ""
    print(f"chunks       {st.chunks}{waiting}")
    emb = st.embedding_model
    print(f"embedding    {emb.name} ({'ready' if emb.ready else 'not prepared'})")
    llm = st.llm
    print(f"llm backend  {llm.backend_setting} (Ollama {llm.ollama_model} at {llm.ollama_host}, "
          f"else {llm.gguf})")
    return 0
