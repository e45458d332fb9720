"""The reader's training set: question-answer records, the cloze questions made from news
sentences, and the examples the model is taught, split into train and held out.

Records come from ARCD's train split, our own questions over SaudiNewsNet days
(``reader/data/*.jsonl``) and cloze questions over those days; never from XQuAD, the news
development days, or a re-run of their stories. ``build_examples`` puts every record
through the run-time evidence selection, so an example is exactly the prompt the reader
reads at run time. This module trains nothing and loads no model (``rag.teach.train``).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rag.answer.evidence import select_sources
from rag.config import Config
from rag.errors import AkhbarError
from rag.prompts import Prompts, chatml, neutralize
from rag.reader import OPEN, is_echo, question_type
from rag.text import (
    BEFORE_DATE,
    GREGORIAN_MONTHS,
    HIJRI_MONTHS,
    NOT_COUNTED,
    detect_language,
    sentence_spans,
    spelled_pattern,
)
from rag.types import Chunk, Hit

# The news development set (bench/newsqa) is asked over these days: never trained on.
HELD_DAYS = frozenset({"2015-08-03", "2015-08-04"})
MAX_ANSWER_WORDS = 8


class TrainError(AkhbarError):
    """The training set or the training run cannot be built."""


@dataclass(frozen=True)
class Record:
    """A question with its article (``context``) and, optionally, an unrelated article
    shown beside it as retrieval would (``distractor``)."""

    id: str
    origin: str
    language: str
    question: str
    answer: str | None
    context: str
    title: str = ""
    aliases: tuple[str, ...] = ()
    distractor: str = ""
    distractor_title: str = ""


@dataclass(frozen=True)
class Example:
    """One training example: the reader's prompt parts and the reply it is taught."""

    id: str
    origin: str  # arcd / newsqa, with "+withheld" when the answer's sentences were taken out
    language: str
    question: str
    kind: str
    evidence: str
    target: str
    answerable: bool  # the evidence holds the answer (target is a span, not the refusal)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------- records


def clean_arcd_question(question: str) -> str:
    """ARCD's questions carry list dashes and a clipped word after the question mark
    (" - متى ولد …؟ ال")."""
    q = question.strip().lstrip("-–—• ").strip()
    if "؟" in q:
        q = q[: q.rindex("؟") + 1]
    elif "?" in q:
        q = q[: q.rindex("?") + 1]
    return " ".join(q.split())


def arcd_records(path: Path) -> list[Record]:
    """ARCD's train split as records: short (≤ 8 words) answers found at their offset,
    factoid questions only (why/how keep free generation at run time), no echoes."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TrainError(f"cannot read ARCD from {path}: {e}") from e
    out: list[Record] = []
    for article in data.get("data", []):
        paragraphs = [p.get("context", "") for p in article.get("paragraphs", [])]
        title = str(article.get("title", ""))
        for pi, para in enumerate(article.get("paragraphs", [])):
            context = para.get("context", "")
            # Another paragraph of the same article: a distractor on the same subject.
            other = paragraphs[(pi + 1) % len(paragraphs)] if len(paragraphs) > 1 else ""
            for qa in para.get("qas", []):
                answers = qa.get("answers") or []
                if not answers:
                    continue
                answer = answers[0].get("text", "").strip()
                start = answers[0].get("answer_start", -1)
                question = clean_arcd_question(qa.get("question", ""))
                if not answer or not question or len(answer.split()) > MAX_ANSWER_WORDS:
                    continue
                if context[start:start + len(answer)] != answer and answer not in context:
                    continue
                if question_type(question) == OPEN or is_echo(answer, question):
                    continue
                out.append(Record(f"arcd-{qa.get('id')}", "arcd", "ar", question, answer, context, title,
                                  distractor=other, distractor_title=title))
    return out


def _articles(corpus_dir: Path, day: str) -> list[dict[str, Any]]:
    path = Path(corpus_dir) / f"{day}.zip"
    try:
        with zipfile.ZipFile(path) as z:
            return [a for name in z.namelist() if name.endswith(".json") for a in json.loads(z.read(name))]
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise TrainError(f"cannot read {path}: {e}") from e


def newsqa_records(files: Iterable[Path], corpus_dir: Path, seed: int = 0) -> list[Record]:
    """Our own questions over SaudiNewsNet (``reader/data/*.jsonl``), each with its
    article and another article of the same day as the distractor."""
    rng = random.Random(seed)
    by_day: dict[str, list[dict[str, Any]]] = {}
    out: list[Record] = []
    for path in files:
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                day, url = row["day"], row["url"]
            except (ValueError, KeyError) as e:
                raise TrainError(f"{path}:{n}: not a training record ({e})") from e
            if day in HELD_DAYS:
                raise TrainError(f"{path}:{n}: day {day} is the news development set; it is never trained on")
            if day not in by_day:
                by_day[day] = [a for a in _articles(corpus_dir, day) if str(a.get("content", "")).strip()]
            articles = by_day[day]
            article = next((a for a in articles if a.get("url") == url), None)
            if article is None:
                raise TrainError(f"{path}:{n}: {url} is not in {day}.zip")
            answer = row.get("answer") if row.get("answerable") else None
            content = str(article["content"])
            if answer is not None and answer not in content:
                raise TrainError(f"{path}:{n}: the answer {answer!r} is not verbatim in its article")
            other = rng.choice(articles)
            while other is article and len(articles) > 1:
                other = rng.choice(articles)
            out.append(Record(str(row["id"]), "newsqa", str(row["language"]), str(row["question"]), answer,
                              content, str(article.get("title", "")), tuple(row.get("aliases") or ()),
                              str(other.get("content", "")), str(other.get("title", ""))))
    return out


# Cloze: a number or a date of a news sentence becomes the answer, and the rest of the
# sentence around it the question ("استهدفت الحملة 120 منزلا في حي النسيم" → "كم منزلا
# استهدفت الحملة في حي النسيم؟"). The untaught reader's commonest news error is another
# number of the same evidence; these teach which number the question's words point at.
# Every spelling of the month table; the Levantine August only as "آب": "3 من أب" is more often
# "3 from a father" than a date.
_AR_MONTH_NAMES = spelled_pattern([m for m in (*GREGORIAN_MONTHS, *HIJRI_MONTHS) if m != "اب"]) + "|آب"
CLOZE_DATE = re.compile(
    rf"(?<![\w])(?:(?:[12][0-9]|3[01]|0?[1-9])\s+(?:من\s+)?(?:شهر\s+)?(?:{_AR_MONTH_NAMES})(?!\w)(?:\s+(?:عام\s+)?"
    rf"(?:1[34][0-9][0-9]|20[0-9][0-9]|19[0-9][0-9])(?:\s?(?:هـ|م)(?!\w))?)?"
    rf"|(?:عام|سنة)\s+(?:1[34][0-9][0-9]|20[0-9][0-9]|19[0-9][0-9])(?:\s?(?:هـ|م)(?!\w))?"
    rf"|(?:1[34][0-9][0-9]|20[0-9][0-9]|19[0-9][0-9])\s?(?:هـ|م)(?!\w))")
# A number (not a year, a phone or an id) and the word it counts, when that word is a noun.
_CLOZE_NUMBER = re.compile(r"(?<![\w.,/:-])([0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,6}(?:\.[0-9]+)?"
                           r"(?:\s+(?:ألف|آلاف|مليون|ملايين|مليار|مليارات))?)"
                           r"(?:\s*(%|٪)|\s+([\u0621-\u064a]{3,}))?(?![\w.,/:-]|\s*-)")


def _cloze_words(text: str) -> list[str]:
    # Punctuation out, except a point or comma inside a number ("14.78", "2,120").
    text = re.sub(r"[«»\"“”()\[\]:؛;!؟?/]+|(?<![0-9])[.,]|[.,](?![0-9])", " ", text)
    return [w for w in text.split() if w]


def _clause(sentence: str, start: int, end: int) -> tuple[int, int]:
    """The clause of ``sentence`` around ``[start, end)``: between the commas and
    semicolons either side, so the question asks about the answer's own event."""
    a = max((m.end() for m in re.finditer(r"[،,؛;:]\s", sentence[:start])), default=0)
    m = re.search(r"[،,؛;:]\s", sentence[end:])
    return a, end + m.start() if m else len(sentence)


def cloze_question(sentence: str, start: int, end: int, kind: str, counted: str = "") -> str | None:
    """The question a cloze answer at ``sentence[start:end]`` answers: its question word,
    then up to 9 words before the answer and 7 after, or None when too little is left."""
    a, b = _clause(sentence, start, end)
    before, after = _cloze_words(sentence[a:start])[-9:], _cloze_words(sentence[end:b])[:7]
    if kind == "when":
        lead = "متى"
        while before and before[-1] in BEFORE_DATE:
            before.pop()
        if before and before[-1] in ("منذ", "ومنذ"):
            before.pop()
            lead = "منذ متى"
        words = [lead, *before, *after]
    else:
        words = ["كم", *([counted] if counted else []), *before, *after]
    if len(before) + len(after) < 5 or any(re.search(r"[0-9٠-٩]", w) for w in before + after):
        return None  # too little left to ask by, or another figure in the question
    return " ".join(words) + "؟"


def _grams(text: str, n: int = 12) -> set[int]:
    words = text.split()
    return {hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1)}


def cloze_records(corpus_dir: Path, days: Sequence[str], n: int, seed: int = 0) -> list[Record]:
    """``n`` cloze records (two numbers to each date) over SaudiNewsNet ``days``, at most
    one per article; each answer occurs once in its article, whose other number or date
    is then the near-miss the question has to tell apart."""
    rng = random.Random(seed)
    for day in days:
        if day in HELD_DAYS:
            raise TrainError(f"day {day} is the news development set; it is never trained on")
    # A story runs over several days: an article that shares a 12-word run with an article of
    # the development days may hold a reported answer, so it is never a cloze article.
    held = {g for day in sorted(HELD_DAYS) if (Path(corpus_dir) / f"{day}.zip").exists()
            for a in _articles(corpus_dir, day) for g in _grams(str(a.get("content", "")))}
    pool: list[Record] = []
    for day in days:
        articles = [a for a in _articles(corpus_dir, day) if len(str(a.get("content", "")).split()) >= 60
                    and not (_grams(str(a["content"])) & held)]
        rng.shuffle(articles)
        for article in articles:
            content = str(article["content"])
            found: list[tuple[str, str, str, str]] = []  # (kind, answer, question, sentence)
            for a, b in sentence_spans(content):
                sentence = content[a:b]
                if not 10 <= len(sentence.split()) <= 60:
                    continue
                for m in CLOZE_DATE.finditer(sentence):
                    if re.match(r"\s*[/\-0-9٠-٩]", sentence[m.end():]):
                        continue  # "29 أغسطس/ آب 1987": the date goes on
                    q = cloze_question(sentence, m.start(), m.end(), "when")
                    if q:
                        found.append(("when", m.group(0).strip(), q, sentence))
                for m in _CLOZE_NUMBER.finditer(sentence):
                    number, percent, noun = m.group(1), m.group(2), m.group(3)
                    near = sentence[max(0, m.start() - 30):m.end() + 12]
                    if re.fullmatch(r"(?:1[34]|19|20)[0-9][0-9]", number) or CLOZE_DATE.search(near):
                        continue  # a year or part of a date
                    if noun and (noun in NOT_COUNTED or noun.startswith(("ال", "و", "ف", "ب", "ل"))):
                        noun = None
                    end = m.end() if (noun or percent) else m.start(1) + len(number)
                    answer = sentence[m.start():end].strip()
                    q = cloze_question(sentence, m.start(), end, "how_many", noun or "")
                    if q:
                        found.append(("how_many", answer, q, sentence))
            # The answer once in the article, and at least one other candidate beside it.
            found = [f for f in found if content.count(f[1]) == 1 and question_type(f[2]) == f[0]]
            if len(found) < 2:
                continue
            _, answer, question, _ = rng.choice(found)
            pool.append(Record(f"cloze-{day}-{hashlib.sha256(question.encode()).hexdigest()[:10]}", "cloze", "ar",
                               question, answer, content, str(article.get("title", ""))))
    numbers = [r for r in pool if not CLOZE_DATE.fullmatch(r.answer or "")]
    dates = [r for r in pool if CLOZE_DATE.fullmatch(r.answer or "")]
    want_dates = min(len(dates), n // 3)
    out = rng.sample(dates, want_dates) + rng.sample(numbers, min(len(numbers), n - want_dates))
    # Another news article beside it, as retrieval would show one.
    result = []
    for r in out:
        others = [o for o in pool if o is not r]
        other = rng.choice(others) if others else None
        result.append(Record(r.id, r.origin, r.language, r.question, r.answer, r.context, r.title,
                             distractor=other.context if other else "", distractor_title=other.title if other else ""))
    return result


def withhold(record: Record) -> Record:
    """The record with every sentence that holds its answer taken out of the article:
    the evidence then lacks the fact, and the taught reply is the refusal."""
    assert record.answer is not None
    wanted = [record.answer, *record.aliases]
    kept = [record.context[a:b] for a, b in sentence_spans(record.context)
            if not any(w in record.context[a:b] for w in wanted)]
    return Record(record.id + "-withheld", record.origin + "+withheld", record.language, record.question, None,
                  " ".join(kept), record.title, (), record.distractor, record.distractor_title)


# --------------------------------------------------------------------------- examples


class _TokenCounter:
    """What evidence selection needs of an LLM: a token count (for its budget)."""

    backend = "count"
    model = "count"

    def __init__(self, count: Callable[[str], int]) -> None:
        self._count = count

    def count_tokens(self, text: str) -> int:
        return self._count(text)


def build_examples(config: Config, records: Sequence[Record], embedder: Any, count_tokens: Callable[[str], int],
                   withhold_share: float = 0.15, seed: int = 0) -> list[Example]:
    """Each record through the run-time evidence selection; the taught reply is the
    answer as the evidence spells it, or the refusal word when the evidence lacks it."""
    prompts = Prompts(config.prompts_dir)
    rng = random.Random(seed)
    todo = list(records)
    todo += [withhold(r) for r in records if r.answer is not None and rng.random() < withhold_share]
    out: list[Example] = []
    for r in todo:
        kind = question_type(r.question)
        if kind == OPEN:
            continue
        hits = [Hit(Chunk(f"{r.id}:a", f"{r.id}:a", r.context, 0, 0, len(r.context), title=r.title), 0.8)]
        if r.distractor:
            hits.append(Hit(Chunk(f"{r.id}:b", f"{r.id}:b", r.distractor, 0, 0, len(r.distractor),
                                  title=r.distractor_title), 0.6))
        _, shown, _ = select_sources(config, embedder, count_tokens, r.question, hits, extractive=True)
        if not shown:
            continue
        evidence = "\n".join(neutralize(s.text) for s in shown)
        lang = r.language if r.language in ("ar", "en") else detect_language(r.question)
        lang = lang if lang in ("ar", "en") else "en"
        found = next((a for a in ([r.answer, *r.aliases] if r.answer else []) if a and a in evidence), None)
        if r.answer is not None and found is None:
            # Selection missed the answer, or cut it across two evidence lines ("منذ يناير" |
            # "2014"): not taught either way, a refusal here would be a wrong label as often as not.
            continue
        target = found if found else prompts.text("reader_none", lang).strip()
        out.append(Example(r.id, r.origin, lang, r.question, kind, evidence, target, found is not None))
    return out


def chat_parts(example: Example, prompts: Prompts) -> tuple[str, str]:
    """The ChatML prompt exactly as the llama.cpp reader builds it, and the reply."""
    messages = prompts.reader_messages(example.language, example.evidence, example.question)
    return chatml(messages), example.target + "<|im_end|>"


def split_examples(examples: Sequence[Example], held_share: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Train and held-out examples, by a hash of the record's id (a record and its
    withheld copy fall on the same side)."""
    def held(e: Example) -> bool:
        base = e.id.removesuffix("-withheld")
        h = int(hashlib.sha256(f"{seed}:{base}".encode()).hexdigest(), 16)
        return (h % 1000) < held_share * 1000

    train = [e for e in examples if not held(e)]
    return train, [e for e in examples if held(e)]


def describe(examples: Sequence[Example]) -> dict[str, Any]:
    return {
        "examples": len(examples),
        "by_origin": dict(sorted(Counter(e.origin for e in examples).items())),
        "by_language": dict(sorted(Counter(e.language for e in examples).items())),
        "answerable": sum(e.answerable for e in examples),
        "refusal": sum(not e.answerable for e in examples),
        "by_type": dict(sorted(Counter(e.kind for e in examples).items())),
    }
