"""`python bench/answer_time.py --home DIR [--n 30]`: what issue 31's extras cost in answer time.

The same news questions answered on one machine by two configurations, alternating question by
question so that a busy machine slows both alike: *before* (the greedy copy alone, 4 evidence
pieces within 220 tokens, no type bonus) and *now* (the defaults: beams and typed candidates
scored by the model and ranked, 6 pieces within 260 tokens). Prints the first-token and total
seconds (p50, p95) and the prompt tokens of each, with the CPU it ran on. ``--home`` is an eval
home holding the news days (`akhbar eval … --eval-home DIR` builds one).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import Akhbar, Config  # noqa: E402
from rag.eval import load_qa  # noqa: E402

NEWSQA = REPO / "bench" / "newsqa"
BEFORE = {"rank_candidates": False, "evidence_units": 4, "evidence_tokens": 220, "evidence_type_bonus": 0.0}


def cpu() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    shown = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if f in flags]
    return f"{name} ({', '.join(shown)})"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True, help="an eval home holding the news days")
    ap.add_argument("--n", type=int, default=30, help="answerable report-split questions to ask (each twice)")
    args = ap.parse_args()
    qs = [q for f in sorted(NEWSQA.glob("*.jsonl")) for q in load_qa(f) if q.split == "report" and q.answerable]
    qs = qs[:: max(1, len(qs) // args.n)][: args.n]
    now = Akhbar(Config.load().with_overrides(home=Path(args.home)))
    before = Akhbar(now.config.with_overrides(answer=BEFORE), embedder=now.embedder, llm=now.llm)
    now.warm()
    times: dict[str, list[tuple[float, float, int]]] = {"before": [], "now": []}
    for i, q in enumerate(qs):
        order = [("before", before), ("now", now)] if i % 2 == 0 else [("now", now), ("before", before)]
        for name, bot in order:
            a = bot.ask(q.question)
            times[name].append((a.first_token_s, a.total_s, a.prompt_tokens))
    print(f"{len(qs)} answerable news questions (report split), each asked by both; CPU: {cpu()}")
    print(f"{'':8}{'first token p50':>16}{'p95':>7}{'total p50':>11}{'p95':>7}{'prompt tokens':>15}")
    for name, rows in times.items():
        first, total, tokens = zip(*rows)
        print(f"{name:8}{pct(list(first), 0.5):>16.2f}{pct(list(first), 0.95):>7.2f}"
              f"{pct(list(total), 0.5):>11.2f}{pct(list(total), 0.95):>7.2f}{statistics.mean(tokens):>15.0f}")
    ratio = pct([t for _, t, _ in times["now"]], 0.5) / max(1e-9, pct([t for _, t, _ in times["before"]], 0.5))
    print(f"total p50, now / before: {ratio:.2f} (issue 31: ≤ 1.3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
