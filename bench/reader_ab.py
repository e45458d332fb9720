"""`python bench/reader_ab.py [--n 40] [--adapter PATH]`: the reader with and without its LoRA adapter on the same
prompts, side by side: the held-out examples of the adapter's own training run
(reader/akhbar-reader.examples.jsonl, held_out = true: never trained on), read by
copy-constrained decoding exactly as at run time.

Prints, for each reader, exact span accuracy (the copied span is the taught answer),
refusals on the held-out refusal examples, and time to the end of the copy (p50, p95),
with the two readers alternating prompt by prompt so that a busy machine slows both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import Config  # noqa: E402
from rag.llm import GenerationStats, LlamaCppLLM  # noqa: E402
from rag.prompts import Prompts  # noqa: E402
from rag.reader import span_can_end, typed_starts  # noqa: E402

EXAMPLES = REPO / "reader" / "akhbar-reader.examples.jsonl"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40, help="held-out examples to read (0 = all)")
    ap.add_argument("--adapter", default="auto", help="the adapter: auto (the packaged one) or a .gguf path "
                                                      "(its run's examples are read beside it)")
    args = ap.parse_args()
    examples = EXAMPLES if args.adapter == "auto" else Path(args.adapter).with_suffix(".examples.jsonl")
    if not examples.exists():
        print(f"(no {examples}: run make train-reader)")
        return 0
    rows = [json.loads(line) for line in examples.read_text(encoding="utf-8").splitlines() if line.strip()]
    held = [r for r in rows if r["held_out"]][: args.n or None]
    base = Config.load().with_overrides(llm={"backend": "llamacpp"})
    prompts = Prompts(base.prompts_dir)
    readers = {name: LlamaCppLLM(base.llm_model_path, base.with_overrides(llm={"adapter": setting}))
               for name, setting in (("untaught", "off"), ("adapter", args.adapter))}
    if readers["adapter"].adapter is None:
        print("(the packaged adapter does not apply to the configured GGUF)")
        return 0
    results: dict[str, dict[str, list[float]]] = {n: {"right": [], "refused": [], "seconds": []} for n in readers}
    for i, ex in enumerate(held):
        messages = prompts.reader_messages(ex["language"], ex["evidence"], ex["question"])
        none = prompts.text("reader_none", ex["language"]).strip()
        starts = typed_starts(ex["evidence"], ex["kind"])
        order = list(readers.items()) if i % 2 == 0 else list(reversed(readers.items()))
        for name, reader in order:
            t = time.perf_counter()
            copied = reader.copy_span(messages, ex["evidence"], GenerationStats(), 24, starts,
                                      ex["kind"] not in ("how_many", "how_much"), none, span_can_end(ex["kind"]))
            results[name]["seconds"].append(time.perf_counter() - t)
            text = copied.text.strip()
            if ex["answerable"]:
                results[name]["right"].append(float(text == ex["target"]))
            else:
                # The copy cannot write the refusal word; the reader refuses when the model
                # would rather have written it than any span: its first-token log-probability wins.
                first = copied.logprobs[0] if copied.logprobs else -99.0
                results[name]["refused"].append(float(copied.none_logprob > first or not copied.stopped))
    answerable = sum(1 for r in held if r["answerable"])
    print(f"{len(held)} held-out examples ({answerable} answerable), read by copying:")
    print(f"{'reader':10}{'exact span':>12}{'refusal wins':>14}{'p50 s':>8}{'p95 s':>8}")
    for name, r in results.items():
        secs = sorted(r["seconds"])
        p95 = secs[min(len(secs) - 1, int(0.95 * len(secs)))]
        print(f"{name:10}{statistics.mean(r['right'] or [0]):>12.2f}{statistics.mean(r['refused'] or [0]):>14.2f}"
              f"{statistics.median(secs):>8.2f}{p95:>8.2f}")
    ratio = statistics.median(results["adapter"]["seconds"]) / statistics.median(results["untaught"]["seconds"])
    print(f"adapter / untaught, median seconds per read: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
