"""News-native questions against the real store: time words in a question become a date
window, said in the answer, resolved against the configured day, and ignored (with a note)
by an archive without dates."""

from __future__ import annotations

import json
from pathlib import Path

from rag import Akhbar, Filters
from tests.conftest import ScriptedLLM

STORIES = [  # one story on three days, and another paper's report of it without a date
    {"source": "okaz", "url": "http://okaz.com.sa/y/1", "date_extracted": "2015-08-09 10:00:00",
     "title": "غارات على صنعاء", "content": "شن التحالف غارات على مواقع الحوثيين في صنعاء أمس وأصيب عدد من المسلحين."},
    {"source": "aawsat", "url": "http://aawsat.com/y/2", "date_extracted": "2015-08-05 09:00:00",
     "title": "تقدم في عدن", "content": "تقدمت قوات الشرعية في عدن وسيطرت على مواقع جديدة للحوثيين في اليمن."},
    {"source": "alriyadh", "url": "http://alriyadh.com/y/3", "date_extracted": "2015-07-20 08:00:00",
     "title": "هدنة في اليمن", "content": "أعلنت الأمم المتحدة هدنة إنسانية في اليمن لم يلتزم بها الحوثيون."},
]
UNDATED = {"title": "اليمن اليوم", "text": "يعيش اليمن أزمة إنسانية بسبب الحرب والحوثيين في صنعاء وعدن."}


def _archive(folder: Path, dated: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = STORIES if dated else [{k: v for k, v in s.items() if k != "date_extracted"} for s in STORIES]
    (folder / "news.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                                       encoding="utf-8")
    if dated:
        (folder / "extra.jsonl").write_text(json.dumps(UNDATED, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def _asking(bot: Akhbar, n: int = 8) -> Akhbar:
    reply = ["شن التحالف غارات على صنعاء [1]."]
    return Akhbar(bot.config, embedder=bot.embedder, llm=ScriptedLLM(*([reply] * n)))  # type: ignore[arg-type]


def test_time_words_in_a_question_become_the_date_window_the_answer_states(bot: Akhbar, tmp_path: Path) -> None:
    bot.ingest(_archive(tmp_path / "news"))
    asking = _asking(bot)
    answer = asking.ask("ماذا قيل عن الحوثيين في اليمن أمس؟", as_of="2015-08-10")
    assert answer.window is not None
    assert (answer.window["since"], answer.window["until"], answer.window["text"]) == ("2015-08-09", "2015-08-09",
                                                                                     "أمس")
    assert answer.sources and {s.date[:10] for s in answer.sources} == {"2015-08-09"}
    assert answer.notes[0] == "البحث مقيّد بما نُشر يوم 2015-08-09 («أمس»)."
    # The date filter cannot see the undated report, and says so too.
    assert answer.extra["undated_documents"] == 1 and any("بلا تاريخ" in n for n in answer.notes[1:])
    assert answer.to_dict()["window"]["since"] == "2015-08-09"

    week = asking.ask("What did the papers say about the Houthis last week?", as_of="2015-08-10")
    assert week.window and (week.window["since"], week.window["until"]) == ("2015-08-03", "2015-08-09")
    assert {s.date[:10] for s in week.sources} <= {"2015-08-05", "2015-08-09"} and week.sources
    assert week.notes[0].startswith("Searched what was published from 2015-08-03 to 2015-08-09")

    # Taken off (the UI's chip): the same question over every date.
    every = asking.ask("ماذا قيل عن الحوثيين في اليمن أمس؟", as_of="2015-08-10", time_filter=False)
    assert every.window is None and len({s.date[:10] for s in every.sources}) > 1
    # Dates the asker gave explicitly win over the words.
    explicit = asking.ask("ماذا قيل عن الحوثيين في اليمن أمس؟", as_of="2015-08-10",
                          filters=Filters(date_from="2015-07-01", date_to="2015-07-31"))
    assert explicit.window is None and {s.date[:10] for s in explicit.sources} == {"2015-07-20"}


def test_the_reference_day_can_be_the_newest_article(bot: Akhbar, tmp_path: Path) -> None:
    bot.ingest(_archive(tmp_path / "news"))
    asking = Akhbar(bot.config.with_overrides(answer={"as_of": "newest"}), embedder=bot.embedder,
                    llm=ScriptedLLM(["غارات [1]."]))  # type: ignore[arg-type]
    assert asking.reference_date().isoformat() == "2015-08-09"
    answer = asking.ask("ماذا حدث في اليمن اليوم؟")
    assert answer.window and answer.window["since"] == "2015-08-09"
    assert {s.date[:10] for s in answer.sources} == {"2015-08-09"}


def test_an_archive_without_dates_ignores_time_words_and_says_so(bot: Akhbar, tmp_path: Path) -> None:
    bot.ingest(_archive(tmp_path / "news", dated=False))
    answer = _asking(bot).ask("ماذا قيل عن الحوثيين في اليمن الأسبوع الماضي؟", as_of="2015-08-10")
    assert answer.window is None and answer.sources
    assert "لا تحمل وثائق هذا الأرشيف تاريخًا" in answer.notes[0] and "«الأسبوع الماضي»" in answer.notes[0]
