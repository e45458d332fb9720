"""A synthetic news archive for benchmarks and crash tests, built from real text: the
seed article and XQuAD paragraphs (Arabic and English, ../shared/eval/xquad/).

Each article joins three paragraphs from different XQuAD articles under a title taken from
the first paragraph's opening words, in the seed's plain-text layout, so articles are
distinct (no near-duplicates) yet read like news. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
XQUAD = REPO.parent / "shared" / "eval" / "xquad"


def paragraphs(language: str = "ar") -> list[tuple[str, str]]:
    """(article title, paragraph) for every XQuAD paragraph; the seed article if absent."""
    path = XQUAD / f"xquad.{language}.json"
    if not path.exists():
        # Without ../shared: 240 distinct word-sampled paragraphs from the seed's vocabulary
        # (not readable news, but distinct enough that dedupe keeps every article), about as
        # long as XQuAD's: the crash tests need 36 articles to fill more than one write batch.
        seed = next((REPO / "seeds").glob("*.txt")).read_text(encoding="utf-8")
        vocab = sorted(set(seed.split()))
        rng = random.Random(language)
        return [("seed", " ".join(rng.choice(vocab) for _ in range(150)) + ".") for _ in range(240)]
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [(a["title"], p["context"]) for a in data for p in a["paragraphs"]]


def articles(n: int, seed: int = 0, languages: tuple[str, ...] = ("ar", "en")) -> Iterator[tuple[str, str]]:
    """(file name, text) for ``n`` articles."""
    rng = random.Random(seed)
    pools = {lang: paragraphs(lang) for lang in languages}
    for i in range(n):
        lang = languages[i % len(languages)]
        pool = pools[lang]
        picks = rng.sample(range(len(pool)), 3)
        paras = [pool[j][1] for j in picks]
        words = paras[0].split()
        title = " ".join(words[:8])
        byline = "كتب- فريق التحرير" if lang == "ar" else "By the newsroom"
        body = "\n".join(paras)
        yield f"{i:06d}_{lang}.txt", f"{title}\n{byline}\n{body}\n"


def write_archive(dest: Path, n: int, seed: int = 0) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in articles(n, seed):
        p = dest / name
        p.write_text(text, encoding="utf-8")
        out.append(p)
    return out
