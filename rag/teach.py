"""Teaching the reader: the training set, a LoRA run on the packaged GGUF, and the adapter
written as a llama.cpp GGUF LoRA.

``akhbar train-reader`` (``make train-reader``) runs it end to end:

1. **Records** (``arcd_records``, ``newsqa_records``, ``cloze_records``): question-answer
   pairs we may train on. ARCD's train split (Arabic Wikipedia, MIT), our own questions over
   SaudiNewsNet days that are not the news development set (``reader/data/*.jsonl``, checked
   by ``bench/newsqa/check.py --train``), and self-supervised cloze questions over those
   days: a sentence's number or date is the answer and the rest of its clause the question.
   Never XQuAD, never the news development days, nor a re-run of their stories.
2. **Examples** (``build_examples``): each record goes through the run-time evidence
   selection (``Responder.select_sources``, clause-sized pieces, the same budget), so the
   model is taught on exactly the prompt it reads at run time: the reader instruction,
   the evidence lines and the question, answered by the verbatim span as the evidence
   spells it, or by the refusal word for questions the article does not answer. An
   answerable record whose answer selection missed is left out. A share of answerable records is also shown
   with every sentence holding the answer withheld, so the refusal is taught on the
   near-misses that cause invented answers.
3. **Training** (``train``): transformers loads the GGUF (dequantised to bfloat16 where the
   CPU multiplies it natively, else float32), peft
   puts a LoRA on the attention projections, and a plain seeded loop trains on the answer
   tokens only. The loss curve and a held-out loss before and after go to the model card.
4. **Export** (``write_adapter``): the LoRA matrices as a GGUF adapter
   (``general.type = adapter``) with the base model's sha256 recorded, which llama.cpp
   (``lora_path``) and Ollama (``ADAPTER``) load.

torch, transformers and peft are imported inside the functions that need them. This
module does not evaluate the taught reader; ``rag.eval`` does, with ``llm.adapter``
turned on or off.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.config import Config
from rag.errors import AkhbarError
from rag.models import AdapterInfo, adapter_info
from rag.prompts import Prompts, chatml, neutralize
from rag.reader import OPEN, is_echo, question_type
from rag.text import GREGORIAN_MONTHS, HIJRI_MONTHS, detect_language, sentence_spans, spelled_pattern

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "reader" / "data"
ADAPTER_PATH = REPO / "reader" / "akhbar-reader.gguf"
ARCD_PATH = REPO.parent / "shared" / "eval" / "arcd" / "arcd-train.json"
SAUDINEWS_DIR = REPO.parent / "shared" / "eval" / "saudinews"
# The news development set (bench/newsqa) is asked over these days: never trained on.
HELD_DAYS = frozenset({"2015-08-03", "2015-08-04"})
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
_GGUF_NAMES = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output"}
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
_NOT_COUNTED = frozenset(
    "في من إلى الى على عن مع منذ خلال حتى أو او ثم بين عند لدى قبل بعد الف ألف مليون مليار ملايين آلاف "  # noqa: SIM905
    "الاف بالمئة بالمائة المائة منها منهم منهن بينها بينهم فيها فيهم عليها لها لهم له".split())
_DROP_BEFORE_DATE = frozenset(("في", "خلال", "يوم", "بتاريخ", "وفي"))


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
        while before and before[-1] in _DROP_BEFORE_DATE:
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
                    if noun and (noun in _NOT_COUNTED or noun.startswith(("ال", "و", "ف", "ب", "ل"))):
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
    from rag.answer import Responder
    from rag.types import Chunk, Hit

    responder = Responder(config, None, embedder, _TokenCounter(count_tokens))  # type: ignore[arg-type]
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
        _, shown, _ = responder.select_sources(r.question, hits, extractive=True)
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


# --------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    steps: int
    tokens: int
    seconds: float
    losses: list[float] = field(default_factory=list)  # mean answer-token loss per optimiser step
    held_before: float = math.nan
    held_after: float = math.nan
    held_accuracy_before: float = math.nan  # greedy next-token accuracy on held-out answers
    held_accuracy_after: float = math.nan
    settings: dict[str, Any] = field(default_factory=dict)


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX): there a bfloat16
    matmul runs ~3 x faster than a float32 one (measured on a 2-core EPYC); elsewhere
    torch emulates it, slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def train_dtype(setting: str) -> str:
    """``auto``: bfloat16 base weights where the CPU has native bfloat16, else float32."""
    if setting not in ("auto", "float32", "bfloat16"):
        raise TrainError(f"dtype must be auto, float32 or bfloat16, not {setting!r}")
    if setting == "auto":
        return "bfloat16" if cpu_has_bf16() else "float32"
    return setting


def load_base(gguf_path: Path, dtype: str = "float32") -> tuple[Any, Any]:
    """transformers' model and tokenizer from the packaged GGUF, weights dequantised to
    ``dtype`` (the LoRA matrices peft adds stay float32 either way)."""
    import os

    os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF conversion bar, 339 lines of it in a log
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name,
                                                     dtype=getattr(torch, dtype))
    except Exception as e:
        raise TrainError(f"transformers cannot load {gguf_path}: {e}") from e
    return model, tokenizer


def _encode(tokenizer: Any, prompt: str, reply: str, max_tokens: int) -> tuple[list[int], int]:
    """The token ids of prompt + reply, and how many at the end are the reply's."""
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    r = tokenizer(reply, add_special_tokens=False)["input_ids"]
    p = p[-(max_tokens - len(r)):] if len(p) + len(r) > max_tokens else p
    return p + r, len(r)


def _reply_logits(model: Any, ids: list[int], n_reply: int) -> tuple[Any, Any]:
    """Logits at the positions that predict the reply, and the reply's ids. Only those
    positions go through the 150k-word output layer (a tenth of the model's work)."""
    import torch

    out = model(input_ids=torch.tensor([ids]), logits_to_keep=n_reply + 1)
    return out.logits[0, :-1].float(), torch.tensor(ids[-n_reply:])


def _held_loss(model: Any, batches: Sequence[tuple[list[int], int]]) -> tuple[float, float]:
    import torch

    if not batches:
        return math.nan, math.nan
    total, n, right = 0.0, 0, 0
    model.eval()
    with torch.no_grad():
        for ids, n_reply in batches:
            logits, gold = _reply_logits(model, ids, n_reply)
            total += float(torch.nn.functional.cross_entropy(logits, gold, reduction="sum"))
            n += n_reply
            right += int((logits.argmax(-1) == gold).sum())
    model.train()
    return total / max(n, 1), right / max(n, 1)


def train(examples: Sequence[Example], held: Sequence[Example], base_gguf: Path, prompts: Prompts, *,
          rank: int = 16, alpha: int = 32, lr: float = 2e-4, epochs: float = 1.0, accumulate: int = 8,
          max_tokens: int = 512, seed: int = 0, threads: int = 0, dtype: str = "float32",
          loaded: tuple[Any, Any] | None = None, log: Callable[[str], None] = print) -> tuple[Any, TrainResult]:
    """A seeded LoRA run on the answer tokens; returns the peft model and the figures.
    ``loaded``: ``load_base``'s (model, tokenizer) for ``base_gguf``, trained on a copy
    (the original stays as it was), for runs that share one load."""
    import copy
    import os

    import torch
    from peft import LoraConfig, get_peft_model

    torch.set_num_threads(threads or os.cpu_count() or 1)
    t0 = time.perf_counter()
    if loaded is not None:
        model, tokenizer = copy.deepcopy(loaded[0]), loaded[1]
    else:
        model, tokenizer = load_base(base_gguf, dtype)
        log(f"train-reader: base model loaded in {time.perf_counter() - t0:.0f}s")
    # Seeded after the load, so a run on a shared load starts where a fresh one does.
    torch.manual_seed(seed)
    random.seed(seed)
    model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=list(TARGETS),
                                             task_type="CAUSAL_LM", bias="none"))
    encoded = [_encode(tokenizer, *chat_parts(e, prompts), max_tokens) for e in examples]
    held_enc = [_encode(tokenizer, *chat_parts(e, prompts), max_tokens) for e in held]
    order = list(range(len(encoded)))
    rng = random.Random(seed)
    schedule: list[int] = []
    full, part = int(epochs), epochs - int(epochs)
    for _ in range(full):
        rng.shuffle(order)
        schedule += order
    if part > 0:
        rng.shuffle(order)
        schedule += order[: round(part * len(order))]
    steps = max(1, math.ceil(len(schedule) / accumulate))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    warmup = max(1, steps // 10)

    def rate(s: int) -> float:  # linear warm-up, then linear decay to 5%
        return min(1.0, (s + 1) / warmup) * max(0.05, 1 - max(0, s + 1 - warmup) / max(1, steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    result = TrainResult(steps=steps, tokens=0, seconds=0.0, settings={
        "rank": rank, "alpha": alpha, "lr": lr, "epochs": epochs, "accumulate": accumulate, "seed": seed,
        "targets": list(TARGETS), "max_tokens": max_tokens, "train_examples": len(examples),
        "held_examples": len(held), "threads": torch.get_num_threads(), "dtype": dtype})
    result.held_before, result.held_accuracy_before = _held_loss(model, held_enc)
    log(f"train-reader: held-out answer loss before {result.held_before:.3f} "
        f"(token accuracy {result.held_accuracy_before:.3f}); {steps} steps of {accumulate}")
    model.train()
    t_train = time.perf_counter()
    for step in range(steps):
        chunk = schedule[step * accumulate:(step + 1) * accumulate]
        answer_tokens = sum(encoded[i][1] for i in chunk)
        step_loss = 0.0
        for i in chunk:
            ids, n_reply = encoded[i]
            logits, gold = _reply_logits(model, ids, n_reply)
            # Summed over the step's answer tokens, so a long answer weighs what its tokens weigh.
            loss = torch.nn.functional.cross_entropy(logits, gold, reduction="sum") / answer_tokens
            loss.backward()
            step_loss += float(loss.detach())
            result.tokens += len(ids)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        result.losses.append(step_loss)
        elapsed = time.perf_counter() - t_train
        if step % 5 == 0 or step == steps - 1:
            log(f"train-reader: step {step + 1}/{steps} loss {step_loss:.3f} "
                f"({result.tokens / elapsed:.0f} tokens/s, {elapsed / 60:.1f} min)")
    result.seconds = time.perf_counter() - t_train
    result.held_after, result.held_accuracy_after = _held_loss(model, held_enc)
    log(f"train-reader: held-out answer loss after {result.held_after:.3f} "
        f"(token accuracy {result.held_accuracy_after:.3f})")
    return model, result


# ----------------------------------------------------------------------------- export


def lora_tensors(model: Any) -> dict[str, Any]:
    """peft's LoRA matrices under llama.cpp's adapter tensor names (``blk.N.attn_q.weight.lora_a``).
    peft's A is (rank, in) and B is (out, rank); GGUF reverses the axes, which is the layout
    llama.cpp checks against the base weight."""
    out: dict[str, Any] = {}
    pattern = re.compile(r"layers\.(\d+)\.self_attn\.(\w+)\.lora_([AB])\.(?:default\.)?weight$")
    for name, tensor in model.state_dict().items():
        m = pattern.search(name)
        if not m or m.group(2) not in _GGUF_NAMES:
            continue
        block, proj, which = m.groups()
        out[f"blk.{block}.{_GGUF_NAMES[proj]}.weight.lora_{which.lower()}"] = tensor.detach().float().cpu().numpy()
    if not out:
        raise TrainError("the model has no LoRA matrices on the attention projections")
    return out


def write_adapter(tensors: dict[str, Any], path: Path, alpha: float, base_sha256: str, arch: str = "qwen2",
                  meta: dict[str, str] | None = None) -> Path:
    """A GGUF LoRA adapter (float16 matrices) that llama.cpp and Ollama load on top of
    the base model; written beside and renamed, so a failed write leaves no adapter."""
    import gguf
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch=arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_name("akhbar-reader")
    writer.add_string("akhbar.base_sha256", base_sha256)
    for key, value in (meta or {}).items():
        writer.add_string(f"akhbar.{key}", value)
    for name in sorted(tensors):
        writer.add_tensor(name, np.ascontiguousarray(tensors[name], dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return path


def model_card(result: TrainResult, data: dict[str, Any], held: dict[str, Any], info: AdapterInfo,
               base: str, evaluation: str = "") -> str:
    """The adapter's card: data, settings, steps, loss curve, held-out loss, evaluation."""
    losses = result.losses
    every = max(1, len(losses) // 20)
    curve = "\n".join(f"| {i + 1} | {sum(losses[i:i + every]) / len(losses[i:i + every]):.3f} |"
                      for i in range(0, len(losses), every))
    return "\n".join([
        "# akhbar-reader: a LoRA adapter for the extractive reader",
        "",
        f"- base model: {base} (sha256 {info.base_sha256})",
        f"- adapter: `{Path(info.path).name}`, {info.size_bytes / 1e6:.1f} MB, sha256 {info.sha256}",
        f"- rank {info.rank}, alpha {info.alpha:g}, on {', '.join(TARGETS)}; {info.tensors} tensors (float16)",
        f"- built by `akhbar train-reader` (`make train-reader`) with: `{json.dumps(result.settings)}`",
        "",
        "## Data",
        "",
        "Every example is the reader's run-time prompt: the reader instruction, the evidence lines chosen by",
        "`Responder.select_sources` from the record's article and one distractor article, and the question;",
        "the reply is the answer as the evidence spells it, or the refusal word for a question the article does",
        "not answer or whose answer's sentences were withheld (an answerable record whose answer selection missed",
        "is left out).",
        "Sources: ARCD train (MIT), our questions over SaudiNewsNet days other than the news development",
        "days (`reader/data/`), and cloze questions over those days (`cloze_records`: a sentence's number or",
        "date is the answer, the rest of its clause the question; no article that shares a 12-word run with",
        "a development-day article). No XQuAD, no development-set day.",
        "",
        f"- train: `{json.dumps(data, ensure_ascii=False)}`",
        f"- held out: `{json.dumps(held, ensure_ascii=False)}`",
        "",
        "## Training",
        "",
        f"- {result.steps} optimiser steps, {result.tokens} tokens, {result.seconds / 60:.1f} min "
        f"({result.tokens / max(result.seconds, 1e-9):.0f} tokens/s)",
        f"- held-out answer loss: {result.held_before:.3f} before, {result.held_after:.3f} after; "
        f"answer-token accuracy {result.held_accuracy_before:.3f} → {result.held_accuracy_after:.3f}",
        "",
        "| step | loss (mean over the steps from here) |",
        "|---|---|",
        curve,
        "",
        "## Evaluation",
        "",
        evaluation or "Run `make bench` (reader with and without the adapter).",
        "",
    ])


# ---------------------------------------------------------------------------- command


def training_embedder(config: Config) -> Any:
    """The embedder that chooses the training examples' evidence: the configured model in
    float32 on every CPU, not ``embed.precision``, whose "auto" is bfloat16 where the CPU has
    it, so that the same command builds the same training set on any machine (the shipped
    set, chosen in bfloat16 on an EPYC, and a float32 rebuild on a Xeon differed in the
    evidence of 2 of the 389 examples both hold)."""
    from rag.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(config.embed_model_path, batch_size=config.embed.batch_size,
                                       name=config.embed.model, precision="float32")


def cloze_days(corpus_dir: Path) -> list[str]:
    """The SaudiNewsNet days cloze examples may come from: every one but the development days."""
    return sorted(p.stem for p in Path(corpus_dir).glob("*.zip") if p.stem not in HELD_DAYS)


def records(data_files: Sequence[Path], corpus_dir: Path, arcd: Path | None, arcd_limit: int = 0,
            seed: int = 0, cloze: int = 0) -> list[Record]:
    """Our news records, ``cloze`` cloze records, then ARCD's (a seeded sample of
    ``arcd_limit`` when given)."""
    out = newsqa_records(data_files, corpus_dir, seed) if data_files else []
    if cloze:
        out += cloze_records(corpus_dir, cloze_days(corpus_dir), cloze, seed)
    if arcd is not None:
        more = arcd_records(arcd)
        if arcd_limit and len(more) > arcd_limit:
            more = random.Random(seed).sample(more, arcd_limit)
        out += more
    if not out:
        raise TrainError("no training records: give reader/data/*.jsonl and/or ARCD")
    return out


def run(config: Config, out: Path, *, data_files: Sequence[Path], corpus_dir: Path, arcd: Path | None,
        arcd_limit: int = 0, cloze: int = 0, withhold_share: float = 0.05, epochs: float = 1.0, limit: int = 0,
        held_share: float = 0.1, rank: int = 16,
        alpha: int = 32, lr: float = 2e-4, accumulate: int = 8, seed: int = 0, base: Path | None = None,
        examples_only: bool = False, dtype: str = "auto", log: Callable[[str], None] = print) -> AdapterInfo | None:
    """Build the examples, train, write the adapter, its card and the examples it saw
    (``examples_only``: stop after writing the examples)."""
    from rag.llm import LlamaCppLLM

    base_path = Path(base) if base else config.llm_model_path
    if not base_path.is_file():
        raise TrainError(f"base model not found at {base_path}; run `akhbar models prepare`")
    t0 = time.perf_counter()
    recs = records(data_files, corpus_dir, arcd, arcd_limit, seed, cloze)
    if limit:  # a small run (the test suite's): a seeded sample of the records
        recs = random.Random(seed).sample(recs, min(limit, len(recs)))
    embedder = training_embedder(config)
    counter = LlamaCppLLM(base_path, config)
    examples = build_examples(config, recs, embedder, counter.count_tokens, withhold_share=withhold_share, seed=seed)
    train_set, held = split_examples(examples, held_share, seed)
    if not train_set:
        raise TrainError("no training examples after evidence selection")
    log(f"train-reader: {len(train_set)} training and {len(held)} held-out examples from {len(recs)} records "
        f"in {time.perf_counter() - t0:.0f}s: {json.dumps(describe(train_set), ensure_ascii=False)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".examples.jsonl"), "w", encoding="utf-8") as fh:
        for e in train_set:
            fh.write(json.dumps({**e.to_dict(), "held_out": False}, ensure_ascii=False) + "\n")
        for e in held:
            fh.write(json.dumps({**e.to_dict(), "held_out": True}, ensure_ascii=False) + "\n")
    tokens = [counter.count_tokens("".join(chat_parts(e, Prompts(config.prompts_dir)))) for e in train_set]
    log(f"train-reader: {sum(tokens)} training tokens (mean {sum(tokens) / len(tokens):.0f}); "
        f"examples in {out.with_suffix('.examples.jsonl')}")
    if examples_only:
        return None
    prompts = Prompts(config.prompts_dir)
    model, result = train(train_set, held, base_path, prompts, rank=rank, alpha=alpha, lr=lr, epochs=epochs,
                          accumulate=accumulate, seed=seed, threads=config.llm.threads,
                          dtype=train_dtype(dtype), log=log)
    from rag.models import sha256_file

    base_sha = sha256_file(base_path)
    write_adapter(lora_tensors(model), out, alpha, base_sha,
                  meta={"train": json.dumps(result.settings), "steps": str(result.steps),
                        "held_loss": f"{result.held_before:.4f} -> {result.held_after:.4f}"})
    info = adapter_info(out)
    card = model_card(result, describe(train_set), describe(held), info, base_path.name)
    out.with_suffix(".md").write_text(card, encoding="utf-8")
    (out.with_suffix(".losses.json")).write_text(json.dumps(
        {"losses": result.losses, "held_before": result.held_before, "held_after": result.held_after,
         "held_accuracy_before": result.held_accuracy_before, "held_accuracy_after": result.held_accuracy_after,
         "settings": result.settings, "seconds": result.seconds, "tokens": result.tokens}, indent=1),
        encoding="utf-8")
    log(f"train-reader: adapter {out} ({info.size_bytes / 1e6:.1f} MB) in {(time.perf_counter() - t0) / 60:.1f} min")
    return info
