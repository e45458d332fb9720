"""`python bench/stories.py [--fit]`: "also reported by" and the coverage timeline against the
hand list of stories in bench/stories/stories.json: 10 stories that ran in at least 3 papers
of SaudiNewsNet, every article of each found and read by hand.

The list is split in two: the odd stories (s01, s03, …) are the calibration half, the even
ones the report half. ``--fit`` chooses, on the calibration half only,
- the same-story rule (``retrieval.story_similarity``, ``story_similarity_low``,
  ``story_lexical``: cosine ≥ high, or cosine ≥ low with a BM25 share ≥ lexical), from a grid:
  of the rules whose also-reported-by line of a story's main document (the one holding most
  of its articles) names ≥ 90% of the papers that carried it, the one whose added documents
  are most often on the story, then the one naming most papers, then the stricter;
- ``retrieval.timeline_similarity``: the lowest query floor at which the timeline of the
  story's query keeps a precision ≥ 0.9 against the story's articles;
then the figures are printed for the report half at the configured (or fitted) values:
papers named / papers that carried the story, and the timeline's precision and recall.

The collection is the one `make bench-scale` builds (~/.cache/akhbar/bench-scale, all of
SaudiNewsNet) when it exists, else the story days and the days within
``retrieval.story_days`` of them (2015-07-31..08-04, 7,505 articles) are ingested into
~/.cache/akhbar/bench-stories: same-story links are the same on both; the timeline has a
week fewer distractors. An unchanged re-ingest runs first, so a collection made
before copies kept their metadata gets it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import Akhbar, Config  # noqa: E402
from rag.akhbar import story_linked  # noqa: E402
from rag.sites import site_name, site_table  # noqa: E402

STORIES = REPO / "bench" / "stories" / "stories.json"
CORPUS = REPO.parent / "shared" / "eval" / "saudinews"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "akhbar"
TARGET = 0.9


def _open() -> Akhbar:
    stories = json.loads(STORIES.read_text(encoding="utf-8"))["stories"]
    scale = CACHE / "bench-scale"
    home = scale if (scale / "manifest.sqlite").exists() else CACHE / "bench-stories"
    bot = Akhbar(Config.load().with_overrides(home=home, llm={"backend": "llamacpp"}))
    # The story days and every day within story_days of one: what same_story can reach.
    reach = bot.config.retrieval.story_days
    days = {(date.fromisoformat(a["day"]) + timedelta(days=k)).isoformat()
            for s in stories for a in s["articles"] for k in range(-reach, reach + 1)}
    files = ([CORPUS / f"{d}.zip" for d in sorted(days) if (CORPUS / f"{d}.zip").exists()] if home != scale
             else sorted(CORPUS.glob("*.zip")))
    t = time.perf_counter()
    report = bot.ingest(files)
    print(f"collection {home}: {report.summary()} ({time.perf_counter() - t:.0f}s)")
    return bot


class Rule:
    """``Akhbar.same_story``'s rule: cosine ≥ ``high``, or cosine ≥ ``low`` with a BM25
    share ≥ ``lexical`` (0: cosine only)."""

    def __init__(self, high: float, low: float = 1.0, lexical: float = 0.0) -> None:
        self.high, self.low, self.lexical = high, low, lexical

    def links(self, cosine: float, share: float) -> bool:
        return story_linked(cosine, share, self.high, self.low, self.lexical)

    def config(self) -> dict[str, float]:
        return {"story_similarity": self.high, "story_similarity_low": self.low, "story_lexical": self.lexical}

    def __str__(self) -> str:
        return (f"cosine ≥ {self.high}" + (f", or cosine ≥ {self.low} and BM25 share ≥ {self.lexical}"
                                           if self.lexical > 0 else ""))


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
        # The main document's candidates on any floor: (doc, cosine, BM25 share, its papers).
        self.neighbours = []
        for other, score, lex in bot.story_links(self.main, floor=-1.0, lexical=True):
            o = bot.manifest.doc(other)
            sites = {o.site} if o else set()
            sites |= {a.site for a in bot.also_reported(other, stories=False)}
            self.neighbours.append((other, score, lex, sites))

    def linked(self, rule: Rule) -> list[tuple[str, set[str]]]:
        return [(d, sites) for d, score, lex, sites in self.neighbours if rule.links(score, lex)]

    def named(self, rule: Rule) -> set[str]:
        out = {self.main_site} | self.merged
        for _, sites in self.linked(rule):
            out |= sites
        return out

    def coverage(self, rule: Rule) -> float:
        return len(self.named(rule) & self.papers) / len(self.papers)

    def precision(self, rule: Rule) -> float:
        """Of the other documents the line adds, the share that are this story's."""
        added = [d for d, _ in self.linked(rule)]
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
    rc = bot.config.retrieval
    rule = Rule(rc.story_similarity, rc.story_similarity_low, rc.story_lexical)
    timeline_floor = rc.timeline_similarity
    if args.fit:
        highs = [round(0.85 + 0.005 * i, 3) for i in range(25)]
        print("\ncalibration half (" + ", ".join(s.id for s in calibration) + "): also-reported-by, cosine only")
        print(f"{'floor':>7}{'papers named':>14}{'precision':>11}")
        for f in highs:
            cov = sum(s.coverage(Rule(f)) for s in calibration) / len(calibration)
            prec = sum(s.precision(Rule(f)) for s in calibration) / len(calibration)
            print(f"{f:>7.3f}{cov:>14.2f}{prec:>11.2f}")
        # Every rule on the grid; of those naming ≥ 90% of the papers on the calibration
        # stories, the one adding the fewest documents from other stories, then the one naming
        # the most papers (room for the report half), then the stricter.
        rules: list[Rule] = []
        for h in highs:
            rules.append(Rule(h))
            for low in [round(0.85 + 0.01 * i, 2) for i in range(9)]:
                if low < h:
                    rules.extend(Rule(h, low, round(0.05 * j, 2)) for j in range(1, 13))
        scored = []
        for r in rules:
            cov = sum(s.coverage(r) for s in calibration) / len(calibration)
            prec = sum(s.precision(r) for s in calibration) / len(calibration)
            if cov >= TARGET:
                scored.append((round(prec, 4), round(cov, 4), r.high, r.lexical, r.low, r))
        if scored:
            prec, cov, _, _, _, rule = max(scored, key=lambda t: t[:5])
            print(f"fitted: {rule} (calibration: papers named {cov:.2f}, precision {prec:.2f}; "
                  f"{len(scored)} of {len(rules)} rules name ≥ {TARGET:.0%})")
        else:
            rule = Rule(min(highs))
            print(f"no rule names ≥ {TARGET:.0%} of the papers on the calibration half; {rule}")
        bot = Akhbar(bot.config.with_overrides(retrieval=rule.config()), embedder=bot.embedder)
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

    bot = Akhbar(bot.config.with_overrides(retrieval={**rule.config(), "timeline_similarity": timeline_floor}),
                 embedder=bot.embedder)
    print("\nreport half (" + ", ".join(s.id for s in report) + f"), same story: {rule}, "
          f"timeline floor {timeline_floor}:")
    covs, precs, tprecs, trecs = [], [], [], []
    for s in report:
        named = s.named(rule)
        covs.append(s.coverage(rule))
        precs.append(s.precision(rule))
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
              f"{s.precision(rule):.2f}")
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
