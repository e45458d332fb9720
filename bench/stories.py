"""`python bench/stories.py [--fit]`: "also reported by" and the coverage timeline against the
hand list of stories in bench/stories/stories.json: 10 stories that ran in at least 3 papers
of SaudiNewsNet, every article of each found and read by hand.

The list is split in two: the odd stories (s01, s03, …) are the calibration half, the even
ones the report half. ``--fit`` chooses, on the calibration half only,
- ``retrieval.story_similarity``: the highest cosine floor at which the also-reported-by
  line of a story's main document (the one holding most of its articles) names ≥ 90% of the
  papers that carried it;
- ``retrieval.timeline_similarity``: the lowest query floor at which the timeline of the
  story's query keeps a precision ≥ 0.9 against the story's articles;
then the figures are printed for the report half at the configured (or fitted) values:
papers named / papers that carried the story, and the timeline's precision and recall.

The collection is the one `make bench-scale` builds (~/.cache/akhbar/bench-scale, all of
SaudiNewsNet) when it exists, else the story days are ingested into
~/.cache/akhbar/bench-stories. An unchanged re-ingest runs first, so a collection made
before copies kept their metadata gets it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import Akhbar, Config  # noqa: E402
from rag.sites import site_name, site_table  # noqa: E402

STORIES = REPO / "bench" / "stories" / "stories.json"
CORPUS = REPO.parent / "shared" / "eval" / "saudinews"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "akhbar"
TARGET = 0.9


def _open() -> Akhbar:
    stories = json.loads(STORIES.read_text(encoding="utf-8"))["stories"]
    scale = CACHE / "bench-scale"
    home = scale if (scale / "manifest.sqlite").exists() else CACHE / "bench-stories"
    days = sorted({a["day"] for s in stories for a in s["articles"]})
    files = [CORPUS / f"{d}.zip" for d in days] if home != scale else sorted(CORPUS.glob("*.zip"))
    bot = Akhbar(Config.load().with_overrides(home=home, llm={"backend": "llamacpp"}))
    t = time.perf_counter()
    report = bot.ingest(files)
    print(f"collection {home}: {report.summary()} ({time.perf_counter() - t:.0f}s)")
    return bot


class Story:
    def __init__(self, raw: dict, bot: Akhbar, doc_of_url: dict[str, str]) -> None:
        self.id, self.label, self.query = raw["id"], raw["label_en"], raw["query_ar"]
        table = site_table()
        self.papers = {site_name(p, table) for p in raw["papers"]}
        self.docs = Counter(doc_of_url[a["url"]] for a in raw["articles"] if a["url"] in doc_of_url)
        self.missing = [a["url"] for a in raw["articles"] if a["url"] not in doc_of_url]
        self.main = self.docs.most_common(1)[0][0] if self.docs else ""
        row = bot.manifest.doc(self.main)
        self.main_site = row.site if row else ""
        self.merged = {a.site for a in bot.also_reported(self.main, stories=False)}
        # The main document's neighbours on any floor: (doc, cosine, its papers).
        self.neighbours = []
        for other, score in bot.same_story(self.main, floor=-1.0):
            o = bot.manifest.doc(other)
            sites = {o.site} if o else set()
            sites |= {a.site for a in bot.also_reported(other, stories=False)}
            self.neighbours.append((other, score, sites))

    def named(self, floor: float) -> set[str]:
        out = {self.main_site} | self.merged
        for _, score, sites in self.neighbours:
            if score >= floor:
                out |= sites
        return out

    def coverage(self, floor: float) -> float:
        return len(self.named(floor) & self.papers) / len(self.papers)

    def precision(self, floor: float) -> float:
        """Of the other documents the line adds, the share that are this story's."""
        added = [d for d, score, _ in self.neighbours if score >= floor]
        return sum(d in self.docs for d in added) / len(added) if added else 1.0


def timeline_scores(bot: Akhbar, story: Story, floor: float) -> tuple[float, float, int]:
    """(precision, recall, articles listed) of the timeline of the story's query."""
    listed = {e.doc_id for e in bot.timeline(story.query, floor=floor).entries}
    right = sum(d in story.docs for d in listed)
    return (right / len(listed) if listed else 1.0), right / len(story.docs), len(listed)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", action="store_true", help="fit both floors on the calibration half first")
    args = ap.parse_args()
    bot = _open()
    raw = json.loads(STORIES.read_text(encoding="utf-8"))["stories"]
    doc_of_url = {s.url: s.doc_id for s in bot.manifest.all_sources() if s.url}
    stories = [Story(r, bot, doc_of_url) for r in raw]
    calibration = [s for i, s in enumerate(stories) if i % 2 == 0]
    report = [s for i, s in enumerate(stories) if i % 2 == 1]
    story_floor = bot.config.retrieval.story_similarity
    timeline_floor = bot.config.retrieval.timeline_similarity
    if args.fit:
        grid = [round(0.85 + 0.005 * i, 3) for i in range(25)]
        print("\ncalibration half (" + ", ".join(s.id for s in calibration) + "): also-reported-by")
        print(f"{'floor':>7}{'papers named':>14}{'precision':>11}")
        good = []
        for f in grid:
            cov = sum(s.coverage(f) for s in calibration) / len(calibration)
            prec = sum(s.precision(f) for s in calibration) / len(calibration)
            print(f"{f:>7.3f}{cov:>14.2f}{prec:>11.2f}")
            if cov >= TARGET:
                good.append(f)
        story_floor = max(good) if good else min(grid)
        print(f"fitted retrieval.story_similarity = {story_floor}")
        bot = Akhbar(bot.config.with_overrides(retrieval={"story_similarity": story_floor}), embedder=bot.embedder)
        print("\ncalibration half: timeline of each story's query (articles past the floor and their stories)")
        print(f"{'floor':>7}{'precision':>11}{'recall':>8}{'listed':>8}")
        ok = []
        for f in [round(0.885 + 0.005 * i, 3) for i in range(10)]:
            rows = [timeline_scores(bot, s, f) for s in calibration]
            prec = sum(r[0] for r in rows) / len(rows)
            rec = sum(r[1] for r in rows) / len(rows)
            print(f"{f:>7.3f}{prec:>11.2f}{rec:>8.2f}{sum(r[2] for r in rows):>8}")
            if prec >= TARGET:
                ok.append(f)
        timeline_floor = min(ok) if ok else 0.95
        print(f"fitted retrieval.timeline_similarity = {timeline_floor}")

    bot = Akhbar(bot.config.with_overrides(retrieval={"story_similarity": story_floor,
                                                      "timeline_similarity": timeline_floor}), embedder=bot.embedder)
    print("\nreport half (" + ", ".join(s.id for s in report) + f"), story floor {story_floor}, "
          f"timeline floor {timeline_floor}:")
    covs, precs, tprecs, trecs = [], [], [], []
    for s in report:
        named = s.named(story_floor)
        covs.append(s.coverage(story_floor))
        precs.append(s.precision(story_floor))
        t = bot.timeline(s.query, floor=timeline_floor)
        listed = {e.doc_id for e in t.entries}
        tp = sum(d in s.docs for d in listed) / len(listed) if listed else float("nan")
        tr = sum(d in s.docs for d in listed) / len(s.docs)
        if listed:  # an empty timeline has no precision; its recall (0) counts
            tprecs.append(tp)
        trecs.append(tr)
        print(f"\n{s.id} {s.label[:72]}")
        print(f"  hand: {sum(s.docs.values())} articles in {len(s.papers)} papers ({len(s.docs)} documents after "
              f"merging copies)" + (f"; {len(s.missing)} urls not in the collection" if s.missing else ""))
        print(f"  also reported by (main document) names {len(named & s.papers)}/{len(s.papers)} papers; "
              f"missing {'، '.join(sorted(s.papers - named)) or '-'}; added documents on the story "
              f"{s.precision(story_floor):.2f}")
        print(f"  timeline of {s.query!r}: {len(listed)} articles in {t.stories} stories, precision {tp:.2f}, "
              f"recall {tr:.2f}")
    n = len(report)
    print(f"\nreport half: also-reported-by names {sum(covs) / n:.2f} of the papers (target ≥ 0.90), "
          f"precision of the added documents {sum(precs) / n:.2f}; timeline precision "
          f"{sum(tprecs) / max(1, len(tprecs)):.2f} over the {len(tprecs)} non-empty timelines (target ≥ 0.90), "
          f"recall {sum(trecs) / n:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
