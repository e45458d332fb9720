"""Retrieval modes, filters, removals and the similarity floor on the real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import Akhbar, ConfigError
from rag.retrieval import Filters


@pytest.fixture()
def news_bot(bot: Akhbar, tmp_path: Path) -> Akhbar:
    corpus = tmp_path / "news"
    corpus.mkdir()
    records = [
        {"title": "محادثات أستانا", "text": "عقدت الدول الضامنة الجولة الثانية والعشرين من محادثات أستانا بشأن سوريا.",
         "date": "2024-11-20", "source": "wire-a", "url": "https://a.example/1"},
        {"title": "النفط", "text": "ارتفعت أسعار خام برنت إلى أعلى مستوى في ثلاثة أشهر بسبب المخاوف من الإمدادات.",
         "date": "2024-12-03", "source": "wire-b", "url": "https://b.example/2"},
        {"title": "Oil markets", "text": "Brent crude rose to a three-month high on supply worries, traders said.",
         "date": "2024-12-04", "source": "wire-b", "url": "https://b.example/3"},
        {"title": "Kazakh capital", "text": "The Zhambyl region hosted a trade fair that drew exhibitors from Almaty.",
         "date": "2023-05-01", "source": "wire-c", "url": "https://c.example/4"},
    ]
    (corpus / "news.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    report = bot.ingest(corpus)
    assert report.documents == 4
    return bot


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_modes_find_the_article(news_bot: Akhbar, mode: str) -> None:
    hits = news_bot.retrieve("سعر خام برنت", top_k=2, mode=mode)
    assert hits[0].chunk.title == "النفط"
    assert all(-1.0 <= h.score <= 1.0 for h in hits)  # dense cosine, whatever found it


def test_bm25_finds_a_rare_name(news_bot: Akhbar) -> None:
    hits = news_bot.retrieve("Zhambyl", top_k=1, mode="bm25")
    assert hits and hits[0].chunk.title == "Kazakh capital"
    assert news_bot.retrieve("Zhambyl", top_k=1, mode="hybrid")[0].chunk.title == "Kazakh capital"


def test_across_languages_the_lexical_ranking_votes_only_through_numbers(news_bot: Akhbar, tmp_path: Path) -> None:
    """An English question's BM25 matches in Arabic articles are stray Latin tokens (an
    e-mail address) unless they share one of its numbers; only the latter join the fusion."""
    more = tmp_path / "more"
    more.mkdir()
    rows = [{"title": "بريد القراء",
             "text": "للتواصل مع محرر الصفحة: zhambyl.fair@reader.example وننشر الرسائل كل أسبوع.",
             "date": "2024-12-05", "source": "wire-d", "url": "https://d.example/5"},
            {"title": "معرض ألماتي", "text": "زار 4817 شخصا المعرض التجاري في ألماتي هذا العام.",
             "date": "2024-12-05", "source": "wire-d", "url": "https://d.example/6"}]
    (more / "more.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    assert news_bot.ingest(more).documents == 2
    r = news_bot.retriever
    assert r.bm25 is not None
    question = "Did 4817 visitors come to the Zhambyl fair?"
    lexical = [cid for cid, _ in r.bm25.search(question, 20, r.generation(), r.store.all_texts)]
    chunks = r.store.get_chunks(lexical)
    title = {cid: chunks[cid].title for cid in lexical}
    assert {"بريد القراء", "معرض ألماتي", "Kazakh capital"} <= set(title.values())  # what BM25 alone matches
    kept = {title[cid] for cid in r._in_question_language(lexical, question)}
    assert kept == {"معرض ألماتي", "Kazakh capital"}, kept
    # An Arabic question's Latin words are names: its matches in every language stay.
    arabic_q = "ماذا استضاف إقليم Zhambyl؟"
    arabic = [cid for cid, _ in r.bm25.search(arabic_q, 20, r.generation(), r.store.all_texts)]
    assert "Kazakh capital" in {c.title for c in r.store.get_chunks(arabic).values()}
    assert r._in_question_language(arabic, arabic_q) == arabic


def test_filters_apply_to_every_mode(news_bot: Akhbar) -> None:
    for mode in ("dense", "bm25", "hybrid"):
        recent = news_bot.retrieve("oil prices", top_k=5, mode=mode, filters=Filters(date_from="2024-12-01"))
        assert {h.chunk.title for h in recent} <= {"النفط", "Oil markets"} and recent, mode
        english = news_bot.retrieve("oil prices", top_k=5, mode=mode, filters=Filters(languages=("en",)))
        assert {h.chunk.language for h in english} == {"en"}, mode
        site = news_bot.retrieve("سوريا", top_k=5, mode=mode, filters=Filters(sites=("wire-a",)))
        assert [h.chunk.site for h in site] == ["wire-a"], mode
        old = news_bot.retrieve("trade fair", top_k=5, mode=mode, filters=Filters(date_to="2023-12-31"))
        assert [h.chunk.title for h in old] == ["Kazakh capital"], mode
        # An article left out (the eval's unanswerable twins) is out of every mode's hits.
        kazakh = next(h.chunk.doc_id for h in news_bot.retrieve("Zhambyl trade fair", top_k=3, mode=mode))
        rest = news_bot.retrieve("Zhambyl trade fair", top_k=5, mode=mode, filters=Filters(exclude=(kazakh,)))
        assert kazakh not in {h.chunk.doc_id for h in rest} and (rest or mode == "bm25"), mode


def test_index_follows_removals(news_bot: Akhbar) -> None:
    assert news_bot.retrieve("Zhambyl", top_k=1, mode="bm25")
    doc = next(d for d in news_bot.documents() if d.title == "Kazakh capital")
    news_bot.remove(doc.doc_id)
    assert all(h.chunk.title != "Kazakh capital" for h in news_bot.retrieve("Zhambyl", top_k=3, mode="bm25"))


class _Counter:
    """Token counting only: selecting sources never generates."""

    backend, model = "count", "count"

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 3)


def test_only_articles_near_the_best_one_are_shown(news_bot: Akhbar, tmp_path: Path) -> None:
    from rag.answer.evidence import select_sources

    more = tmp_path / "more"
    more.mkdir()
    # The same story from another outlet, in other words: a near-tie that must stay.
    (more / "astana.jsonl").write_text(json.dumps(
        {"title": "جولة أستانا",
         "text": "اختتمت في أستانا الجولة الثانية والعشرون من المحادثات حول سوريا بين الدول الضامنة.",
         "date": "2024-11-21", "source": "wire-c", "url": "https://c.example/5"}, ensure_ascii=False) + "\n")
    news_bot.ingest(more)
    question = "متى عقدت الجولة الثانية والعشرون من محادثات أستانا بشأن سوريا؟"
    hits = news_bot.retrieve(question, top_k=4)
    assert len({h.chunk.doc_id for h in hits}) == 4  # the oil and trade-fair articles are retrieved too
    shown, sentences, _ = select_sources(news_bot.config, news_bot.embedder, _Counter().count_tokens, question, hits)
    assert {s.title for s in shown} == {"محادثات أستانا", "جولة أستانا"}, [s.title for s in shown]
    assert {s.number for s in sentences} == {1, 2}
    # A wide margin shows every retrieved article again.
    wide = news_bot.config.with_overrides(retrieval={"source_margin": 1.0})
    everything, _, _ = select_sources(wide, news_bot.embedder, _Counter().count_tokens, question, hits)
    assert len(everything) == 3 and len(everything) > len(shown)  # max_sentences = 3 sentences in all
    with pytest.raises(ConfigError, match="source_margin"):
        news_bot.config.with_overrides(retrieval={"source_margin": -0.1})


def test_an_article_that_clears_the_floor_stays_behind_a_question_echo(news_bot: Akhbar, tmp_path: Path) -> None:
    from rag.answer.evidence import select_sources

    question = "متى عقدت الجولة الثانية والعشرون من محادثات أستانا بشأن سوريا؟"
    more = tmp_path / "echo"
    more.mkdir()
    # Repeats the question word for word and holds no answer: it leads the scores.
    (more / "echo.jsonl").write_text(json.dumps(
        {"title": "أسئلة القراء", "text": question + " سؤال يطرحه كثير من القراء هذا الأسبوع.",
         "date": "2024-11-22", "source": "wire-d", "url": "https://d.example/6"}, ensure_ascii=False) + "\n")
    news_bot.ingest(more)
    hits = news_bot.retrieve(question, top_k=4)
    shown, _, _ = select_sources(news_bot.config, news_bot.embedder, _Counter().count_tokens, question, hits)
    assert shown[0].title == "أسئلة القراء" and "محادثات أستانا" in {s.title for s in shown}
    # The article stays because it clears the retrieval floor on its own, not by the margin.
    no_floor = news_bot.config.with_overrides(retrieval={"min_similarity": 0.0, "min_similarity_cross": 0.0})
    alone, _, _ = select_sources(no_floor, news_bot.embedder, _Counter().count_tokens, question, hits)
    assert [s.title for s in alone] == ["أسئلة القراء"]


def test_a_piece_holding_the_asked_type_is_preferred_for_the_copy_reader(news_bot: Akhbar, tmp_path: Path) -> None:
    """answer.evidence_type_bonus: for a how-many question the piece with a number is shown
    before one that only repeats the question's words."""
    from rag.answer.evidence import select_sources

    more = tmp_path / "typed"
    more.mkdir()
    (more / "clinic.jsonl").write_text(json.dumps(
        {"title": "عيادات متنقلة في القرى",
         "text": "أطلقت وزارة الصحة برنامج العيادات المتنقلة في القرى النائية لخدمة سكان القرى. "
                 "وقد زارت العيادات المتنقلة للوزارة 37 قرية نائية خلال الشهر الأول.",
         "date": "2024-11-25", "source": "wire-d", "url": "https://d.example/9"}, ensure_ascii=False) + "\n")
    news_bot.ingest(more)
    question = "كم قرية زارتها العيادات المتنقلة لوزارة الصحة في القرى النائية؟"
    hits = [h for h in news_bot.retrieve(question, top_k=4) if h.chunk.title == "عيادات متنقلة في القرى"]
    assert hits

    def shown(bonus: float) -> str:
        cfg = news_bot.config.with_overrides(answer={"evidence_units": 1, "evidence_type_bonus": bonus})
        _, sentences, _ = select_sources(cfg, news_bot.embedder, _Counter().count_tokens, question, hits,
                                         extractive=True, kind="how_many")
        return " ".join(s.text for s in sentences)

    assert "37" not in shown(0.0)  # the question's own words win on cosine and overlap alone
    assert "37" in shown(news_bot.config.answer.evidence_type_bonus)
