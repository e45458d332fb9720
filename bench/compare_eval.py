"""Compare two `akhbar eval --json` outputs question by question: the guard for a change that
must leave answers as they were (reply, refusal and its reason, reader, citations, the gold
article's rank).

    python bench/compare_eval.py before.json after.json

Timings are left out; source scores are compared to 3 places and log-probabilities to 2, so
another float32 engine's rounding does not count as a change. Prints each differing question
and its fields, then the count; exits 1 when any differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TIMING = {"seconds", "first_token_s", "retrieval_ms", "total_s", "prompt_tokens"}
ROUNDED = ("closest_similarity", "span_logprob", "none_logprob", "first_logprob")


def key_fields(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in TIMING}
    if isinstance(out.get("sources"), list):
        out["sources"] = [{**s, "score": round(s["score"], 3)} if isinstance(s, dict) and "score" in s else s
                          for s in out["sources"]]
    for k in ROUNDED:
        if isinstance(out.get(k), float):
            out[k] = round(out[k], 2)
    return out


def main(argv: list[str]) -> int:
    before, after = (json.loads(Path(p).read_text(encoding="utf-8"))["rows"] for p in argv[:2])
    if len(before) != len(after):
        print(f"different question counts: {len(before)} and {len(after)}")
        return 1
    differ = 0
    for x, y in zip(before, after):
        fx, fy = key_fields(x), key_fields(y)
        if fx == fy:
            continue
        differ += 1
        print("DIFF", x.get("id"))
        for k in sorted(set(fx) | set(fy)):
            if fx.get(k) != fy.get(k):
                print(f"   {k}: {str(fx.get(k))[:150]!r} -> {str(fy.get(k))[:150]!r}")
    print(f"{len(before)} questions, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
