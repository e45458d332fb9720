"""Trust figures of ``akhbar eval --json`` results, and the reliability diagram.

    python bench/trust.py RESULT.json [RESULT.json …] [--png docs/reliability.png]

For each result (a report split, never the one the confidence model was fitted on): short-
answer precision, coverage, useful replies, unanswerable questions given a short answer and
the expected calibration error (``rag.eval.trust_scores``), per language where the rows say
it; then one reliability diagram over all of them: the copied spans binned by the
confidence the decide stage gave them, against the share of them that were right.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.scoring import confidence_bins, format_trust, trust_scores


def reliability_png(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """Confidence bins (tenths) against the share right, with each bin's count."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display here
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    bins = confidence_bins(rows)
    xs, ys, ns = [b[0] for b in bins], [b[1] for b in bins], [b[2] for b in bins]
    ax.plot(xs, ys, "o-", color="#4f46e5", label="copied spans")
    for x, y, n in zip(xs, ys, ns):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (P right)", ylabel="share right", title=title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="akhbar eval --json outputs")
    ap.add_argument("--png", help="write the reliability diagram here")
    args = ap.parse_args()
    everything: list[dict[str, Any]] = []
    for name in args.results:
        result = json.loads(Path(name).read_text(encoding="utf-8"))
        rows = result["rows"]
        everything += rows
        print(f"{name} (split {result.get('split', '?')}, {len(rows)} questions)")
        print(f"  all: {format_trust(trust_scores(rows))}")
        for lang in sorted({r["language"] for r in rows if r.get("language")}):
            print(f"  {lang}: {format_trust(trust_scores([r for r in rows if r.get('language') == lang]))}")
    if args.png:
        reliability_png(everything, Path(args.png), f"{len(everything)} questions, report splits")
        print(f"(reliability diagram written to {args.png})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
