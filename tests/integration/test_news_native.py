"""News-native questions against the real store: time words in a question become a date
window, said in the answer, resolved against the configured day, and ignored (with a note)
by an archive without dates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def _asking(bot: Akhbar, n: int = 8, reply: list[str] | None = None) -> Akhbar:
    reply = reply or ["شن التحالف غارات على صنعاء [1]."]
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
    assert answer.diagnostics.undated_documents == 1 and any("بلا تاريخ" in n for n in answer.notes[1:])
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


def test_relative_words_count_from_the_newest_article_of_an_old_archive(bot: Akhbar, tmp_path: Path) -> None:
    """No day given, and today is years after the archive: "اليوم" is its newest article's day,
    and the answer says it counted from there."""
    bot.ingest(_archive(tmp_path / "news"))
    assert not bot.config.answer.as_of
    answer = _asking(bot).ask("ماذا حدث في اليمن اليوم؟")
    assert answer.window and (answer.window["since"], answer.window["anchor"]) == ("2015-08-09", "2015-08-09")
    assert {s.date[:10] for s in answer.sources} == {"2015-08-09"}
    assert "أحدث مقال" in answer.notes[0] and "2015-08-09" in answer.notes[0], answer.notes
    english = _asking(bot).ask("What did the papers say about the Houthis last week?")
    assert english.window and (english.window["since"], english.window["until"]) == ("2015-08-02", "2015-08-08")
    assert "newest article (2015-08-09)" in english.notes[0]


def test_an_archive_without_dates_ignores_time_words_and_says_so(bot: Akhbar, tmp_path: Path) -> None:
    bot.ingest(_archive(tmp_path / "news", dated=False))
    answer = _asking(bot).ask("ماذا قيل عن الحوثيين في اليمن الأسبوع الماضي؟", as_of="2015-08-10")
    assert answer.window is None and answer.sources
    assert "لا تحمل وثائق هذا الأرشيف تاريخًا" in answer.notes[0] and "«الأسبوع الماضي»" in answer.notes[0]


WIRE = "أعلنت وزارة المالية أن إيرادات الميزانية بلغت 200 مليار ريال في النصف الأول من العام بزيادة ملحوظة."
COPIES = [  # one wire story, run by three papers over two days
    {"source": "okaz", "url": "http://okaz.com.sa/w/1", "date_extracted": "2015-08-03 10:00:00",
     "title": "200 مليار إيرادات الميزانية", "content": WIRE},
    {"source": "almadina", "url": "http://al-madina.com/w/2", "date_extracted": "2015-08-03 12:00:00",
     "title": "إيرادات الميزانية", "content": WIRE},
    {"source": "alriyadh", "url": "http://alriyadh.com/w/3", "date_extracted": "2015-08-04 08:00:00",
     "title": "المالية: 200 مليار", "content": WIRE},
]


def _wire_answer(bot: Akhbar, tmp_path: Path) -> Any:
    folder = tmp_path / "wire"
    folder.mkdir()
    (folder / "wire.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in COPIES) + "\n",
                                       encoding="utf-8")
    report = bot.ingest(folder)
    assert report.duplicates == 2 and len(bot.documents()) == 1, report.to_dict()
    reply = ["بلغت إيرادات الميزانية 200 مليار ريال في النصف الأول من العام [1]."]
    return _asking(bot, reply=reply).ask("ما إيرادات الميزانية في النصف الأول؟")


def test_a_syndicated_story_lists_the_other_papers_that_ran_it(bot: Akhbar, tmp_path: Path) -> None:
    answer = _wire_answer(bot, tmp_path)
    (doc,) = bot.documents()
    assert len(doc.sources) == 3 and {s.site for s in doc.sources} == {"عكاظ", "المدينة", "الرياض"}
    cite = answer.citations[0]
    own = (cite.site, cite.url)
    also = {(a.site, a.date[:10], a.url) for a in cite.also}
    assert own not in {(a.site, a.url) for a in cite.also} and len(also) == 2
    assert {a.site for a in cite.also} | {cite.site} == {"عكاظ", "المدينة", "الرياض"}
    assert answer.sources[0].also == cite.also
    assert answer.to_dict()["citations"][0]["also"][0]["url"].startswith("http://")


def test_also_reported_by_is_in_the_card_and_in_every_export(bot: Akhbar, tmp_path: Path) -> None:
    import csv
    import io

    import bibtexparser
    import rispy

    from tests.support.csl import csl_render as _csl_render
    from ui.render import also_summary, source_cards

    answer = _wire_answer(bot, tmp_path)
    cite = answer.citations[0]
    others = sorted(a.site for a in cite.also)
    card = source_cards([answer], {})
    summary = also_summary(cite.also)
    assert summary.startswith("وردت أيضًا في: ") and all(site in summary for site in others)
    assert summary in card.replace("&quot;", '"') and all(a.url in card for a in cite.also)

    csl = json.loads(answer.export("csl-json"))[0]["note"]
    assert "Also reported by:" in csl and all(site in csl for site in others)
    assert _csl_render(answer.export("csl-json"))  # and citeproc reads it
    bib = bibtexparser.parse_string(answer.export("bibtex")).entries[0].fields_dict["note"].value
    assert "Also reported by:" in bib and all(site in bib for site in others)
    ris = rispy.loads(answer.export("ris"))[0]
    notes = ris.get("notes") or ris.get("note") or []
    assert any("Also reported by:" in n and all(site in n for site in others) for n in notes), ris
    row = next(csv.DictReader(io.StringIO(answer.export("csv"))))
    assert all(site in row["also_reported_by"] for site in others)
    assert "Also reported by" in answer.export("markdown")


def test_the_timeline_lists_a_topic_in_date_order_grouped_into_stories(bot: Akhbar, tmp_path: Path) -> None:
    import csv
    import io

    import bibtexparser
    import rispy

    folder = _archive(tmp_path / "news")
    (folder / "wire.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in COPIES) + "\n",
                                       encoding="utf-8")
    bot.ingest(folder)
    t = bot.timeline("الحوثيين في اليمن", floor=0.0)
    dated = [e.date for e in t.entries if e.date]
    assert dated == sorted(dated) and len(t.entries) == 5  # 3 Yemen reports, the undated one, the wire story
    assert [e.date for e in t.entries][-1] == ""  # undated last
    assert t.undated == 1 and t.per_day() == {"2015-07-20": 1, "2015-08-03": 1, "2015-08-05": 1, "2015-08-09": 1}
    wire = next(e for e in t.entries if "الميزانية" in e.sentence)
    # The syndicated copies are one entry with the other papers under it, not three entries.
    assert len(wire.also) == 2 and {a.site for a in wire.also} == {"المدينة", "الرياض"}
    yemen = [e for e in t.entries if e is not wire]
    assert wire.story not in {e.story for e in yemen}
    texts = [r["content"] for r in STORIES + COPIES] + [UNDATED["text"]]
    assert all(any(e.sentence in text for text in texts) for e in t.entries)  # a sentence of its article
    assert "الحوثي" in next(e for e in t.entries if e.title == "غارات على صنعاء").sentence
    # Relevance, not a top k: a high floor lists only what is close to the query.
    assert len(bot.timeline("الحوثيين في اليمن", floor=0.99).entries) < len(t.entries)
    # In the six export formats, read back by their parsers.
    assert len(json.loads(t.export("csl-json"))) == len(t.entries)
    assert len(bibtexparser.parse_string(t.export("bibtex")).entries) == len(t.entries)
    assert len(rispy.loads(t.export("ris"))) == len(t.entries)
    assert len(list(csv.DictReader(io.StringIO(t.export("csv"))))) == len(t.entries)
    assert json.loads(t.export("json"))["entries"][0]["date"] == "2015-07-20T08:00:00"
    assert t.export("markdown").count("[^") >= 2 * len(t.entries)


def test_the_timeline_keeps_to_its_filters(bot: Akhbar, tmp_path: Path) -> None:
    bot.ingest(_archive(tmp_path / "news"))
    t = bot.timeline("الحوثيين في اليمن", filters=Filters(date_from="2015-08-01", date_to="2015-08-31"), floor=0.0)
    assert t.entries and {e.date[:7] for e in t.entries} == {"2015-08"}


def test_time_words_that_date_the_event_do_not_hide_the_article_that_reports_it(bot: Akhbar,
                                                                               tmp_path: Path) -> None:
    """"Revenue in July" is answered by an August article: when nothing in the window is as close
    to the question as the best article outside it, every date is searched, and the answer says so."""
    folder = _archive(tmp_path / "news")
    (folder / "wire.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in COPIES) + "\n",
                                       encoding="utf-8")
    bot.ingest(folder)
    reply = ["بلغت إيرادات الميزانية 200 مليار ريال في النصف الأول من العام [1]."]
    answer = _asking(bot, reply=reply).ask("كم بلغت إيرادات الميزانية في يوليو 2015؟", as_of="2015-08-10")
    assert answer.window is None and "فبُحث في كل التواريخ" in answer.notes[0] and "«في يوليو 2015»" in answer.notes[0]
    assert any("الميزانية" in s.title or "مليار" in s.title for s in answer.sources)


MATCH = [  # one match reported by two papers in their own words, and another match that day
    {"source": "okaz", "url": "http://okaz.com.sa/m/1", "date_extracted": "2015-08-02 21:00:00",
     "title": "أرسنال يتوج بالدرع الخيرية",
     "content": "توج أرسنال بلقب الدرع الخيرية بعد فوزه على تشيلسي بهدف دون رد على ملعب ويمبلي، سجله "
                "أوكسليد تشامبرلين في الدقيقة 24، في أول فوز لأرسين فينجر على جوزيه مورينيو."},
    {"source": "alriyadh", "url": "http://alriyadh.com/m/2", "date_extracted": "2015-08-03 08:00:00",
     "title": "فينجر يكسر عقدة مورينيو",
     "content": "نجح المدرب أرسين فينجر أخيرا في التغلب على جوزيه مورينيو، إذ قاد أرسنال إلى انتصار "
                "على تشيلسي في مباراة الدرع الخيرية بملعب ويمبلي بهدف تشامبرلين الرائع."},
    {"source": "sabq", "url": "http://sabq.org/m/3", "date_extracted": "2015-08-02 22:00:00",
     "title": "برشلونة يفوز على إشبيلية",
     "content": "فاز برشلونة على إشبيلية بخمسة أهداف مقابل أربعة في كأس السوبر الأوروبي بملعب تبليسي، "
                "وسجل بيدرو هدف الفوز في الوقت الإضافي للمدرب لويس إنريكي."},
]


def test_a_rewrite_of_the_story_is_linked_by_the_names_it_shares(bot: Akhbar, tmp_path: Path) -> None:
    folder = tmp_path / "match"
    folder.mkdir()
    (folder / "match.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in MATCH) + "\n",
                                        encoding="utf-8")
    bot.ingest(folder)
    doc = {d.title: d.doc_id for d in bot.documents()}
    okaz, riyadh, barca = (doc[r["title"]] for r in MATCH)
    links = {d: (cos, share) for d, cos, share in bot.story_links(okaz, floor=-1.0, lexical=True)}
    # The rewrite shares the match's names (a third of the lead's BM25 weight here), the
    # other match only the football words.
    assert links[riyadh][1] > 2 * links[barca][1], links
    low = min(links[riyadh][0], links[barca][0]) - 0.01
    share = (links[riyadh][1] + links[barca][1]) / 2
    cosine_only = Akhbar(bot.config.with_overrides(retrieval={"story_similarity": 0.999}), embedder=bot.embedder)
    assert cosine_only.same_story(okaz) == []
    named = Akhbar(bot.config.with_overrides(retrieval={"story_similarity": 0.999, "story_similarity_low": low,
                                                        "story_lexical": share}), embedder=bot.embedder)
    assert [d for d, _ in named.same_story(okaz)] == [riyadh]
    assert {a.site for a in named.also_reported(okaz)} == {"الرياض"}
