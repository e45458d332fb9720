#!/usr/bin/env python3
"""Validate the Akhbar news-QA question files against the SaudiNewsNet corpus.

    python3 bench/newsqa/check.py FILE.jsonl [FILE2.jsonl ...] [--corpus DIR] [--fix-split]

Each line of each FILE is one JSON object with exactly the keys
id, question, language, answerable, answer, aliases, type, url, day, split.
Every problem is printed as ``FILE:LINE id: problem``; a summary follows.
Exit status 1 when any problem was found (proportion warnings do not fail).

Rules checked:
- answerable: ``answer`` (leading/trailing whitespace stripped) occurs verbatim
  in the ``content`` of exactly one of the corpus articles, whose url is
  ``url`` and which sits in the zip named ``day``; at most 8 words; not
  contained in the question.
- unanswerable: ``answer`` is null, ``aliases`` empty, ``url`` exists in the
  zip named ``day``.
- with ``--train`` (reader training data): split == "train", and an answer need only
  occur verbatim in its own article.
- split == "calibration" iff int(sha256(id).hexdigest(), 16) % 3 == 0, else
  "report" (``--fix-split`` rewrites the files with the right split first).

Standard library only (Python 3.11).
"""
from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import re
import sys
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path

KEYS = ("id", "question", "language", "answerable", "answer", "aliases",
        "type", "url", "day", "split")
TYPES = ("who", "what", "when", "where", "how_many", "how_much", "which")
LANGS = ("ar", "en")
SPLITS = ("calibration", "report")
MAX_ANSWER_WORDS = 8
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Arabic-Indic (U+0660..) and Extended Arabic-Indic (U+06F0..) digits -> ASCII.
DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
WARN_AR = (0.60, 0.72)
WARN_UNANS = (0.17, 0.25)
SEP = "\x00"
TRAIN = [False]  # --train: reader training data (split "train"; the answer need only be in its own article)


def default_corpus() -> Path:
    return Path(__file__).resolve().parents[3] / "shared" / "eval" / "saudinews"


def expected_split(qid: str) -> str:
    h = int(hashlib.sha256(qid.encode("utf-8")).hexdigest(), 16)
    return "calibration" if h % 3 == 0 else "report"


class Corpus:
    """All articles of all zips; one big string for fast substring counting."""

    def __init__(self, folder: Path):
        zips = sorted(folder.glob("*.zip"))
        if not zips:
            raise SystemExit(f"check.py: no zips in corpus folder {folder}")
        self.by_day: dict[str, dict[str, str]] = {}   # day -> url -> content
        self.urls: list[str] = []
        self.days: list[str] = []
        parts: list[str] = []
        self.starts: list[int] = []
        pos = 0
        for zp in zips:
            day = zp.stem
            articles = {}
            with zipfile.ZipFile(zp) as zf:
                for name in zf.namelist():
                    if not name.endswith(".json"):
                        continue
                    for art in json.loads(zf.read(name).decode("utf-8")):
                        content = art.get("content") or ""
                        url = art["url"]
                        articles[url] = content
                        self.urls.append(url)
                        self.days.append(day)
                        self.starts.append(pos)
                        parts.append(content)
                        pos += len(content) + len(SEP)
            self.by_day[day] = articles
        self.text = SEP.join(parts)
        self.n = len(self.urls)

    def find(self, needle: str) -> list[int]:
        """Indexes of the articles whose content contains needle (each once)."""
        hits: list[int] = []
        if not needle or SEP in needle:
            return hits
        start = 0
        while True:
            i = self.text.find(needle, start)
            if i < 0:
                return hits
            k = bisect.bisect_right(self.starts, i) - 1
            hits.append(k)
            # continue after the end of this article
            start = self.starts[k + 1] if k + 1 < self.n else len(self.text)


def script_counts(text: str) -> tuple[int, int]:
    arabic = latin = 0
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith("ARABIC"):
            arabic += 1
        elif name.startswith("LATIN"):
            latin += 1
    return arabic, latin


def digits_of(text: str) -> str:
    return "".join(ch for ch in text.translate(DIGITS) if ch.isdigit() and ch.isascii())


def norm_words(text: str) -> list[str]:
    text = text.translate(DIGITS).casefold()
    text = re.sub(r"[\u064B-\u0652\u0640]", "", text)  # harakat, tatweel
    return re.findall(r"\w+", text)


def is_echo(answer: str, question: str) -> bool:
    """The answer is already in the question (verbatim, or all of its words)."""
    a = " ".join(norm_words(answer))
    q = " ".join(norm_words(question))
    if not a:
        return False
    if a in q:
        return True
    qwords = set(norm_words(question))
    # Arabic proclitics on question words: و ف ب ل ك and the article ال
    stripped = set()
    for w in qwords:
        stripped.add(w)
        m = re.match(r"^(?:[وف])?(?:[بلك])?(.+)$", w)
        if m:
            stripped.add(m.group(1))
    awords = norm_words(answer)
    return all(w in qwords or w in stripped for w in awords)


def check_record(rec, corpus: Corpus, problems: list[str]) -> None:
    """Append problem strings (without the FILE:LINE id prefix) to problems."""
    if set(rec) != set(KEYS):
        missing = [k for k in KEYS if k not in rec]
        extra = [k for k in rec if k not in KEYS]
        if missing:
            problems.append(f"missing keys {missing}")
        if extra:
            problems.append(f"unexpected keys {extra}")
    qid = rec.get("id")
    question = rec.get("question")
    lang = rec.get("language")
    answerable = rec.get("answerable")
    answer = rec.get("answer")
    aliases = rec.get("aliases")
    qtype = rec.get("type")
    url = rec.get("url")
    day = rec.get("day")
    split = rec.get("split")

    if not isinstance(qid, str) or not qid.strip():
        problems.append("id must be a non-empty string")
    if not isinstance(question, str) or not question.strip():
        problems.append("question must be a non-empty string")
        question = ""
    if lang not in LANGS:
        problems.append(f"language must be one of {LANGS}, got {lang!r}")
    elif question:
        ar, la = script_counts(question)
        if lang == "ar" and not (ar > 0 and ar >= 4 * la):
            problems.append(f"question is not in Arabic script (arabic={ar}, latin={la} letters)")
        if lang == "en" and not (la > 0 and la >= 9 * ar):
            problems.append(f"question is not in Latin script (arabic={ar}, latin={la} letters)")
    if not isinstance(answerable, bool):
        problems.append("answerable must be true or false")
    if qtype not in TYPES:
        problems.append(f"type must be one of {TYPES}, got {qtype!r}")
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        problems.append("aliases must be a list of non-empty strings")
        aliases = []
    if not isinstance(url, str) or not url:
        problems.append("url must be a non-empty string")
        url = None
    if not isinstance(day, str) or not DAY_RE.match(day):
        problems.append(f"day must be YYYY-MM-DD, got {day!r}")
        day = None
    elif day not in corpus.by_day:
        problems.append(f"day {day} has no zip in the corpus")
        day = None
    if TRAIN[0]:
        if split != "train":
            problems.append(f"split must be 'train' with --train, got {split!r}")
    elif split not in SPLITS:
        problems.append(f"split must be one of {SPLITS}, got {split!r}")
    elif isinstance(qid, str) and split != expected_split(qid):
        problems.append(f"split is {split!r}, the rule gives {expected_split(qid)!r} (use --fix-split)")

    if answerable is True:
        if not isinstance(answer, str) or not answer.strip():
            problems.append("answerable record needs a non-empty string answer")
            return
        ans = answer.strip()
        nwords = len(ans.split())
        if nwords > MAX_ANSWER_WORDS:
            problems.append(f"answer has {nwords} words (max {MAX_ANSWER_WORDS})")
        if question and is_echo(ans, question):
            problems.append("answer is contained in the question (echo)")
        adig = digits_of(ans)
        if adig:
            for al in aliases:
                if digits_of(al) != adig:
                    problems.append(f"alias {al!r} has digits {digits_of(al)!r}, answer has {adig!r}")
        hits = corpus.find(ans)
        if TRAIN[0] and url is not None and day is not None:
            # Training data: the answer must be in its own article; other articles may repeat it.
            content = corpus.by_day[day].get(url)
            if content is None:
                problems.append(f"url not found in {day}.zip")
            elif ans not in content:
                problems.append("answer is not verbatim in the url's article")
        elif len(hits) != 1:
            where = ", ".join(f"{corpus.days[k]} {corpus.urls[k]}" for k in hits[:3])
            more = " …" if len(hits) > 3 else ""
            problems.append(f"answer occurs in {len(hits)} articles, must be exactly 1"
                            + (f" ({where}{more})" if hits else ""))
        else:
            k = hits[0]
            if url is not None and corpus.urls[k] != url:
                problems.append(f"answer is only in {corpus.days[k]} {corpus.urls[k]}, not in url")
            elif day is not None and corpus.days[k] != day:
                problems.append(f"gold article is in {corpus.days[k]}.zip, not in {day}.zip")
    elif answerable is False:
        if answer is not None:
            problems.append("unanswerable record must have answer null")
        if aliases:
            problems.append("unanswerable record must have empty aliases")
        if url is not None and day is not None:
            content = corpus.by_day[day].get(url)
            if content is None:
                problems.append(f"url not found in {day}.zip")
            elif not content.strip():
                problems.append("reference article has empty content")


def fix_split(path: Path) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    out, changed = [], 0
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        if isinstance(rec, dict) and isinstance(rec.get("id"), str):
            want = expected_split(rec["id"])
            if rec.get("split") != want:
                rec["split"] = want
                changed += 1
                line = json.dumps(rec, ensure_ascii=False)
        out.append(line)
    if changed:
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--corpus", type=Path, default=default_corpus(),
                    help="folder with the YYYY-MM-DD.zip files (default: %(default)s)")
    ap.add_argument("--fix-split", action="store_true",
                    help="rewrite the files with the split given by the id hash, then check")
    ap.add_argument("--train", action="store_true",
                    help="reader training data: split 'train', the answer verbatim in its own article")
    args = ap.parse_args(argv)
    TRAIN[0] = args.train

    if args.fix_split:
        for f in args.files:
            n = fix_split(f)
            print(f"{f}: fixed split of {n} records")

    corpus = Corpus(args.corpus)
    nproblems = 0
    seen_ids: dict[str, str] = {}
    seen_q: dict[str, str] = {}
    cells: Counter = Counter()
    types: Counter = Counter()
    types_by: Counter = Counter()
    total = 0

    def report(where: str, qid, msg: str) -> None:
        nonlocal nproblems
        nproblems += 1
        print(f"{where} {qid if isinstance(qid, str) else '?'}: {msg}")

    for f in args.files:
        try:
            lines = f.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            report(f"{f}:0", None, f"cannot read: {e}")
            continue
        for lineno, line in enumerate(lines, 1):
            where = f"{f}:{lineno}"
            if not line.strip():
                report(where, None, "empty line")
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                report(where, None, f"not JSON: {e}")
                continue
            if not isinstance(rec, dict):
                report(where, None, "not a JSON object")
                continue
            qid = rec.get("id")
            probs: list[str] = []
            check_record(rec, corpus, probs)
            if isinstance(qid, str):
                if qid in seen_ids:
                    probs.append(f"duplicate id (first at {seen_ids[qid]})")
                else:
                    seen_ids[qid] = where
            q = rec.get("question")
            if isinstance(q, str):
                key = " ".join(q.split())
                if key in seen_q:
                    probs.append(f"duplicate question (first at {seen_q[key]})")
                else:
                    seen_q[key] = where
            for p in probs:
                report(where, qid, p)
            total += 1
            lang = rec.get("language")
            ans = rec.get("answerable")
            cells[(lang, ans, rec.get("split"))] += 1
            types[rec.get("type")] += 1
            types_by[(rec.get("type"), ans)] += 1

    # ---- summary
    print(f"\n== {total} records in {len(args.files)} file(s), corpus {corpus.n} articles in "
          f"{len(corpus.by_day)} zips")
    print(f"{'language':<9}{'answerable':<12}{'calibration':>12}{'report':>8}{'total':>7}")
    for lang in LANGS:
        for ans in (True, False):
            c = cells[(lang, ans, "calibration")]
            r = cells[(lang, ans, "report")]
            print(f"{lang:<9}{str(ans).lower():<12}{c:>12}{r:>8}{c + r:>7}")
    other = total - sum(cells[(lang_, a, s)] for lang_ in LANGS for a in (True, False) for s in SPLITS)
    if other:
        print(f"(plus {other} records with invalid language/answerable/split)")
    print("types (answerable/unanswerable): " + ", ".join(
        f"{t} {types[t]} ({types_by[(t, True)]}/{types_by[(t, False)]})" for t in TYPES if types[t]))
    if total:
        n_ar = sum(v for (lang_, _, _), v in cells.items() if lang_ == "ar")
        n_un = sum(v for (_, a, _), v in cells.items() if a is False)
        n_cal = sum(v for (_, _, s), v in cells.items() if s == "calibration")
        p_ar, p_un = n_ar / total, n_un / total
        print(f"arabic {p_ar:.1%} (target about 2/3), unanswerable {p_un:.1%} (target about 1/5), "
              f"calibration {n_cal / total:.1%}")
        if not WARN_AR[0] <= p_ar <= WARN_AR[1]:
            print(f"WARNING: Arabic share {p_ar:.1%} outside {WARN_AR[0]:.0%}–{WARN_AR[1]:.0%}")
        if not WARN_UNANS[0] <= p_un <= WARN_UNANS[1]:
            print(f"WARNING: unanswerable share {p_un:.1%} outside "
                  f"{WARN_UNANS[0]:.0%}–{WARN_UNANS[1]:.0%}")
    print(f"{nproblems} problem(s)" if nproblems else "OK: no problems")
    return 1 if nproblems else 0


if __name__ == "__main__":
    sys.exit(main())
