"""``akhbar ask``, ``timeline`` and ``chat``: questions of a collection, from the terminal
or the browser, and the citation exports of ``ask`` and ``timeline``. Building the
collection is ``rag.cli.corpus``'s.

``rag.akhbar``, ``rag.export`` and the Gradio UI are imported inside the commands, so
``akhbar --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rag.cli.common import err, load_config
from rag.errors import AkhbarError


def _export(text: str, args: argparse.Namespace, what: str) -> bool:
    """Write an export to ``--out`` (True) or print it (False: nothing else goes to stdout)."""
    if args.out and args.out != "-":
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as e:
            raise AkhbarError(f"cannot write the export to {args.out}: {e.strerror or e}") from e
        err(f"akhbar: wrote {args.export} export of {what} to {args.out}")
        return True
    print(text, end="")
    return False


def export_format(value: str) -> str:
    from rag.export import normalize_format

    try:
        return normalize_format(value)
    except AkhbarError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar
    from rag.retrieval import Filters
    from rag.types import Answer

    bot = Akhbar(load_config(args))
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
    if answer.refused and answer.diagnostics.reason:
        print(f"(refused: {answer.diagnostics.reason})", file=sys.stderr)
    sure = f" · confidence {answer.confidence:.2f}" if answer.confidence is not None else ""
    print(f"\n[{answer.kind.value}{sure} · {answer.backend}: {answer.model} · "
          f"first token {answer.first_token_s:.1f}s · total {answer.total_s:.1f}s · "
          f"prompt {answer.prompt_tokens} tokens · {bot.selection.reason}]",
          file=sys.stderr)
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar
    from rag.retrieval import Filters

    bot = Akhbar(load_config(args))
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


def cmd_chat(args: argparse.Namespace) -> int:
    from rag.akhbar import Akhbar

    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            raise AkhbarError("--auth must be USER:PASS")
        auth = (user, password)
    if args.host not in ("127.0.0.1", "localhost", "::1") and auth is None:
        err(f"akhbar: warning: serving on {args.host} without --auth: anyone who can reach this machine "
            "can read the archive and ask questions")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        from ui.app import launch
    except ImportError as e:
        raise AkhbarError(f"the chat UI needs gradio ({e}); run `make setup`") from e

    bot = Akhbar(load_config(args))

    def warm() -> None:
        # Models load and the prompt prefix is read before the URL is shown: the first
        # question then waits no longer than a later one.
        took = bot.warm()
        err(f"akhbar: models loaded and the prompt primed in {took:.1f}s ({bot.selection.reason})")

    launch(bot, host=args.host, port=args.port, auth=auth, announce=lambda m: print(m, flush=True), prepare=warm)
    return 0
