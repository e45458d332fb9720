"""Teaching the reader (rag.teach): the training set is verbatim, kept apart from what we
report on, and shaped like the run-time prompt; the adapter file is a GGUF LoRA with its card
and Modelfile (loaded on the real models in tests/integration/test_teach.py)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.config import PACKAGED_ADAPTER, Config
from rag.errors import ConfigError
from rag.models import active_adapter, adapter_info, known_sha256, modelfile
from rag.prompts import Prompts, chatml
from rag.teach import (
    CLOZE_DATE,
    DATA_DIR,
    HELD_DAYS,
    Example,
    Record,
    TrainError,
    arcd_records,
    chat_parts,
    clean_arcd_question,
    cloze_days,
    cloze_question,
    cloze_records,
    cpu_has_bf16,
    lora_tensors,
    newsqa_records,
    split_examples,
    train_dtype,
    withhold,
    write_adapter,
)
from rag.text import fold
from tests.conftest import REPO
from tests.support.eval_data import SHARED, needs_shared

DEV_FILES = sorted((REPO / "bench" / "newsqa").glob("*.jsonl"))
TRAIN_FILES = sorted(DATA_DIR.glob("*.jsonl"))


def _rows(files: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def _articles(day: str) -> dict[str, str]:
    with zipfile.ZipFile(SHARED / "saudinews" / f"{day}.zip") as z:
        return {a["url"]: a.get("content") or "" for n in z.namelist() for a in json.loads(z.read(n))}


# ----------------------------------------------------------------------- the data


def test_arcd_questions_lose_their_list_dashes_and_clipped_tails() -> None:
    assert clean_arcd_question(" - متى ولد جمال أحمد حمزة خاشقجي وتوفي؟ ال") == "متى ولد جمال أحمد حمزة خاشقجي وتوفي؟"
    assert clean_arcd_question("- من هو   جمال؟ ") == "من هو جمال؟"
    assert clean_arcd_question("ما عاصمة مصر") == "ما عاصمة مصر"


@needs_shared
def test_arcd_records_are_short_verbatim_factoid_spans() -> None:
    records = arcd_records(SHARED / "arcd" / "arcd-train.json")
    assert len(records) > 300
    for r in records:
        assert r.answer and r.answer in r.context, r.id
        assert len(r.answer.split()) <= 8, r.id
        assert not re.match(r"^\s*[-–]", r.question), r.id
        assert "؟" not in r.question or r.question.endswith("؟"), r.id


@needs_shared
def test_our_news_records_are_verbatim_spans_of_their_own_articles() -> None:
    assert len(TRAIN_FILES) >= 2
    rows = _rows(TRAIN_FILES)
    assert len(rows) >= 250
    by_day: dict[str, dict[str, str]] = {}
    for row in rows:
        assert row["day"] not in HELD_DAYS, row["id"]
        articles = by_day.setdefault(row["day"], _articles(row["day"]))
        assert row["url"] in articles, row["id"]
        if row["answerable"]:
            assert row["answer"] in articles[row["url"]], row["id"]
            assert fold(row["answer"]) not in fold(row["question"]), row["id"]
    # The loader agrees, and pairs each record with a distractor of the same day.
    records = newsqa_records(TRAIN_FILES, SHARED / "saudinews")
    assert len(records) == len(rows)
    assert all(r.distractor and r.distractor != r.context for r in records)


@needs_shared
def test_training_never_sees_the_reported_questions_their_articles_or_xquad() -> None:
    train = _rows(TRAIN_FILES)
    dev = _rows(DEV_FILES)
    norm = lambda q: " ".join(fold(q).split())
    assert not {norm(r["question"]) for r in train} & {norm(r["question"]) for r in dev}
    assert not {r["url"] for r in train} & {r["url"] for r in dev}
    # Nor the same story under another url: no training article shares a 12-word run with
    # an article the report questions are asked about.
    dev_text = "\n".join(_articles(d)[r["url"]] for d in HELD_DAYS for r in dev if r["day"] == d)
    dev_grams = {" ".join(w[i:i + 12]) for w in [dev_text.split()] for i in range(len(w) - 11)}
    for row in train:
        words = _articles(row["day"])[row["url"]].split()
        shared = [" ".join(words[i:i + 12]) for i in range(len(words) - 11) if " ".join(words[i:i + 12]) in dev_grams]
        assert not shared, (row["id"], shared[:1])
    xquad = json.loads((SHARED / "xquad" / "xquad.ar.json").read_text(encoding="utf-8"))
    x_questions = {norm(qa["question"]) for a in xquad["data"] for p in a["paragraphs"] for qa in p["qas"]}
    x_contexts = [p["context"] for a in xquad["data"] for p in a["paragraphs"]]
    arcd = arcd_records(SHARED / "arcd" / "arcd-train.json")
    assert not {norm(r.question) for r in arcd} & x_questions
    arcd_contexts = {r.context[:200] for r in arcd}
    assert not any(c[:200] in arcd_contexts for c in x_contexts)


def test_a_record_from_the_reported_days_is_refused(tmp_path: Path) -> None:
    day = sorted(HELD_DAYS)[0]
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps({"id": "x", "question": "q", "language": "ar", "answerable": False, "answer": None,
                             "aliases": [], "type": "who", "url": "u", "day": day, "split": "train"}) + "\n")
    with pytest.raises(TrainError, match=f"{day} is the news development set"):
        newsqa_records([f], tmp_path)


def _news_zip(path: Path, articles: list[str]) -> None:
    rows = [{"url": f"http://paper.example/{i}", "title": f"t{i}", "content": text, "source": "okaz",
             "date_extracted": "2015-07-21 10:00:00"} for i, text in enumerate(articles)]
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(path.stem + ".json", json.dumps(rows, ensure_ascii=False))


_FILLER = ("وأكد المتحدث الرسمي باسم الجهة المعنية أن العمل يسير وفق الخطة الموضوعة سلفا وأن المراحل المقبلة "
           "ستشهد تطورا ملحوظا في مستوى الخدمات المقدمة للمواطنين والمقيمين على حد سواء. ") * 4


def test_a_cloze_question_asks_for_the_figure_its_clause_surrounds() -> None:
    sentence = "وقال المدير، إن الحملة استهدفت 120 منزلا في حي النسيم بالرياض خلال الأسبوع الجاري، وفق الخطة."
    start = sentence.index("120")
    end = start + len("120 منزلا")
    q = cloze_question(sentence, start, end, "how_many", "منزلا")
    # The clause's own words, the counted noun after "كم", nothing of the other clauses.
    assert q == "كم منزلا إن الحملة استهدفت في حي النسيم بالرياض خلال الأسبوع الجاري؟"
    date = "وافتتح الأمير المعرض في عام 2014 بحضور عدد كبير من المسؤولين ورجال الأعمال في المنطقة"
    d = CLOZE_DATE.search(date)
    assert d and d.group(0) == "عام 2014"
    assert cloze_question(date, d.start(), d.end(), "when") == (
        "متى وافتتح الأمير المعرض بحضور عدد كبير من المسؤولين ورجال الأعمال؟")
    # Another figure left in the question would give the answer's neighbour away: none.
    assert cloze_question("وبلغ عدد الزوار 500 زائر و300 طالب في المعرض الذي أقيم أمس في جدة", 16, 25,
                          "how_many", "زائر") is None


def test_a_cloze_date_is_the_whole_date_in_every_spelling_of_the_month_table() -> None:
    # Hijri dates with their genitive "ذي", the Egyptian "يوليه", hamza and taa-marbuta
    # variants: the whole date is the answer, not the bare year after it.
    for text, whole in [
        ("وتبدأ الرحلات في 8 ذي القعدة 1436هـ من مطار جدة", "8 ذي القعدة 1436هـ"),
        ("وذلك يوم 25 من شهر يوليه عام 2015 م في القاهرة", "25 من شهر يوليه عام 2015 م"),
        ("حتى 3 ربيع الآخر 1436 وفق الجدول", "3 ربيع الآخر 1436"),
        ("منذ 4 جمادى الاولى الماضي", "4 جمادى الاولى"),
        ("في 17 كانون الاول الماضي", "17 كانون الاول"),
        ("في 3 آب الماضي", "3 آب"),
    ]:
        found = CLOZE_DATE.search(text)
        assert found and found.group(0) == whole, (text, found and found.group(0))
    # A month's name is a whole word, and "أب" is "a father" here, not the Levantine August.
    for text in ["وباع 12 مايكروفونا في المعرض", "طفل 3 من أب سعودي وأم مصرية"]:
        assert CLOZE_DATE.search(text) is None, text


def test_cloze_records_are_verbatim_figures_away_from_the_reported_days(tmp_path: Path) -> None:
    held_day = sorted(HELD_DAYS)[0]
    reported = ("وأعلنت الوزارة أن عدد المستفيدين من البرنامج الوطني للإسكان بلغ 4500 مستفيد في المنطقة الشرقية "
                "خلال الربع الأول من العام الجاري بحسب التقرير الصادر عنها أمس")
    _news_zip(tmp_path / f"{held_day}.zip", [reported + " وأوضح البيان أن الوزارة ستواصل تنفيذ خططها الرامية "
                                             "إلى توفير المساكن للمواطنين في جميع مناطق المملكة خلال السنوات المقبلة"])
    fresh = [_FILLER + "وأوضح مدير الشرطة أن الدوريات ضبطت 35 متهما في حي العزيزية بجدة خلال حملة أمنية "
             "استمرت أسبوعا كاملا. وبلغ عدد البلاغات 12 بلاغا عن سرقة المركبات في المحافظة خلال الشهر الماضي.",
             _FILLER + "وافتتح أمير المنطقة المستشفى الجديد في عام 2014 بحضور عدد كبير من المسؤولين والأهالي في "
             "المحافظة. وتبلغ سعة المستشفى 300 سرير لخدمة سكان القرى والمراكز التابعة للمحافظة."]
    # The same story re-run on a training day: it shares the reported sentence, so it is never used.
    rerun = _FILLER.replace("وأكد", "وذكر") + reported + " وأضاف المسؤول أن 20 مشروعا آخر ستطرح قريبا للمواطنين."
    _news_zip(tmp_path / "2015-07-21.zip", [*fresh, rerun])
    assert cloze_days(tmp_path) == ["2015-07-21"]
    records = cloze_records(tmp_path, ["2015-07-21"], 10, seed=0)
    assert len(records) == 2
    for r in records:
        assert r.origin == "cloze" and r.answer and r.context.count(r.answer) == 1
        assert not re.search(r"[0-9]", r.question) and r.answer not in r.question
        assert r.context != rerun and "4500" not in r.context
        assert r.distractor and r.distractor != r.context
    with pytest.raises(TrainError, match=f"{held_day} is the news development set"):
        cloze_records(tmp_path, [held_day], 10)


@needs_shared
def test_cloze_records_over_saudinews_never_touch_the_reported_stories() -> None:
    from rag.reader import question_type

    corpus = SHARED / "saudinews"
    records = cloze_records(corpus, cloze_days(corpus), 120, seed=0)
    assert len(records) == 120
    assert 30 <= sum(1 for r in records if CLOZE_DATE.fullmatch(r.answer or "")) <= 40
    dev = _rows(DEV_FILES)
    dev_text = "\n".join(_articles(d)[r["url"]] for d in HELD_DAYS for r in dev if r["day"] == d)
    dev_grams = {" ".join(w[i:i + 12]) for w in [dev_text.split()] for i in range(len(w) - 11)}
    for r in records:
        assert r.answer and r.context.count(r.answer) == 1, r.id
        assert question_type(r.question) in ("how_many", "when"), r.id
        words = r.context.split()
        assert not any(" ".join(words[i:i + 12]) in dev_grams for i in range(len(words) - 11)), r.id


def test_the_training_precision_follows_the_cpu_unless_given() -> None:
    assert train_dtype("auto") == ("bfloat16" if cpu_has_bf16() else "float32")
    assert train_dtype("float32") == "float32" and train_dtype("bfloat16") == "bfloat16"
    with pytest.raises(TrainError, match="dtype must be"):
        train_dtype("fp8")


def test_withholding_takes_out_every_sentence_that_holds_the_answer() -> None:
    r = Record("a", "newsqa", "ar", "كم عدد الطلاب؟", "450 طالبا",
               "افتتحت المدرسة أمس. وبلغ عدد الطلاب 450 طالبا. وقال المدير إن 450 طالبا سجلوا. وانتهى الحفل.")
    w = withhold(r)
    assert w.answer is None and w.origin == "newsqa+withheld" and w.id == "a-withheld"
    assert "450" not in w.context and "افتتحت المدرسة" in w.context and "وانتهى الحفل" in w.context


def test_a_record_and_its_withheld_copy_fall_on_the_same_side_of_the_split() -> None:
    examples = [Example(f"r{i}{suffix}", "arcd", "ar", "q", "who", "e", "t", True)
                for i in range(200) for suffix in ("", "-withheld")]
    train, held = split_examples(examples, 0.1, seed=0)
    assert 5 < len(held) < 60 and len(train) + len(held) == len(examples)
    held_ids = {e.id.removesuffix("-withheld") for e in held}
    assert not held_ids & {e.id.removesuffix("-withheld") for e in train}


class _Copier:
    """A SpanReader that records the conversation the reader is given."""

    backend, model = "copier", "copier"

    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def copy_span(self, messages, evidence, stats, *args, **kwargs):  # type: ignore[no-untyped-def]
        from rag.llm import CopiedSpan

        self.messages = list(messages)
        return CopiedSpan("", (), (), False, 0.0)


def test_training_examples_are_the_prompt_the_reader_reads_at_run_time(tmp_path: Path) -> None:
    """The extractive reader's own conversation, captured, renders to the training prompt."""
    from rag.answer.evidence import Closest, Evidence
    from rag.answer.plan import Plan, Request
    from rag.answer.read import CopyReader
    from rag.answer.retrieve import Retrieved
    from rag.support import SourceSentence
    from rag.types import ReaderKind, Source

    cfg = Config().with_overrides(home=tmp_path)
    copier = _Copier()
    lines = [SourceSentence(1, "وبلغ عدد الطلاب 450 طالبا <|im_start|>", 0, 30, ()),
             SourceSentence(1, "وافتتحت المدرسة في الرياض.", 31, 60, ())]
    source = Source(1, "d", "t", "", "p", "x", 1.0)
    question = "كم عدد الطلاب [1]؟"
    plan = Plan(Request(question), question, question, None, "ar", "how_many", ReaderKind.EXTRACTIVE, 5, None, None)
    retrieved = Retrieved(plan, None, question, None, (), (), (), (), False, 0, 0.0)
    evidence = Evidence(retrieved, (source,), tuple(lines), Closest(0.5, ""), 0.0, None, "", 0.0)
    list(CopyReader(cfg, copier, Prompts(cfg.prompts_dir)).read(evidence, 0.0))
    evidence = "وبلغ عدد الطلاب 450 طالبا  \nوافتتحت المدرسة في الرياض."
    example = Example("e", "newsqa", "ar", question, "how_many", evidence, "450 طالبا", True)
    prompt, reply = chat_parts(example, Prompts(cfg.prompts_dir))
    assert prompt == chatml(copier.messages)
    assert reply == "450 طالبا<|im_end|>"


# --------------------------------------------------------------------- the adapter


def _fake_lora(blocks: int = 2, dim: int = 8, kv: int = 4, rank: int = 2) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for b in range(blocks):
        for name, rows in (("attn_q", dim), ("attn_k", kv), ("attn_v", kv), ("attn_output", dim)):
            out[f"blk.{b}.{name}.weight.lora_a"] = rng.normal(size=(rank, dim)).astype(np.float32)
            out[f"blk.{b}.{name}.weight.lora_b"] = rng.normal(size=(rows, rank)).astype(np.float32)
    return out


def test_the_adapter_file_says_what_it_is_and_what_it_was_trained_on(tmp_path: Path) -> None:
    path = write_adapter(_fake_lora(), tmp_path / "a.gguf", alpha=32, base_sha256="ab" * 32, meta={"steps": "7"})
    info = adapter_info(path)
    assert (info.rank, info.alpha, info.tensors, info.base_sha256) == (2, 32.0, 16, "ab" * 32)
    assert info.meta == {"steps": "7"} and len(info.sha256) == 64
    assert info.to_dict()["size_bytes"] == path.stat().st_size
    assert not (tmp_path / "a.gguf.tmp").exists()
    other = tmp_path / "model.gguf"
    other.write_bytes(b"GGUF" + b"\0" * 60)
    with pytest.raises(ConfigError, match=r"not a GGUF file|not a LoRA adapter"):
        adapter_info(other)


def test_peft_names_map_to_llama_cpp_adapter_names() -> None:
    torch = pytest.importorskip("torch")

    class Model:
        def state_dict(self) -> dict[str, Any]:
            return {
                "base_model.model.model.layers.3.self_attn.q_proj.lora_A.default.weight": torch.zeros(2, 8),
                "base_model.model.model.layers.3.self_attn.o_proj.lora_B.default.weight": torch.zeros(8, 2),
                "base_model.model.model.layers.3.self_attn.q_proj.base_layer.weight": torch.zeros(8, 8),
                "base_model.model.model.layers.3.mlp.up_proj.lora_A.default.weight": torch.zeros(2, 8),
            }

    names = lora_tensors(Model())
    assert set(names) == {"blk.3.attn_q.weight.lora_a", "blk.3.attn_output.weight.lora_b"}
    assert names["blk.3.attn_q.weight.lora_a"].shape == (2, 8)


def test_the_modelfile_names_the_base_and_the_adapter_beside_it() -> None:
    text = modelfile(Path("/x/reader/akhbar-reader.gguf"), "qwen2.5-coder:1.5b")
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines == ["FROM qwen2.5-coder:1.5b", "ADAPTER ./akhbar-reader.gguf"]
    # Ollama's Modelfile grammar: an instruction word, then its argument.
    assert all(re.fullmatch(r"(FROM|ADAPTER) \S+", line) for line in lines)


def test_adapter_setting(tmp_path: Path) -> None:
    base = Config().with_overrides(home=tmp_path)
    assert base.with_overrides(llm={"adapter": "off"}).llm_adapter_path is None
    assert base.with_overrides(llm={"adapter": str(tmp_path / "x.gguf")}).llm_adapter_path == tmp_path / "x.gguf"
    auto = base.with_overrides(llm={"adapter": "auto"}).llm_adapter_path
    assert auto == (PACKAGED_ADAPTER if PACKAGED_ADAPTER.exists() else None)
    assert base.llm.adapter == "auto" and base.llm_adapter_path == auto  # on by default, on its own base
    with pytest.raises(ConfigError, match=r"llm\.adapter"):
        base.with_overrides(llm={"adapter": "yes please"})
    with pytest.raises(ConfigError, match="no adapter file"):
        active_adapter(base.with_overrides(llm={"adapter": str(tmp_path / "missing.gguf")}))
    # "auto" never applies an adapter to a GGUF it was not trained on.
    fake = write_adapter(_fake_lora(), tmp_path / "a.gguf", alpha=32, base_sha256="cd" * 32)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x")
    Path(str(model) + ".sha256").write_text("ef" * 32 + " 1\n")
    cfg = base.with_overrides(llm={"model": str(model), "adapter": "auto"})
    assert known_sha256(model) == "ef" * 32
    import rag.config as config_module

    saved = config_module.PACKAGED_ADAPTER
    config_module.PACKAGED_ADAPTER = fake
    try:
        assert active_adapter(cfg) is None
        Path(str(model) + ".sha256").write_text("cd" * 32 + " 1\n")
        assert active_adapter(cfg) == fake
    finally:
        config_module.PACKAGED_ADAPTER = saved
