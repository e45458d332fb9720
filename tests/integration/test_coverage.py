"""Questions about the coverage on a real SaudiNewsNet story that several papers carried
(bench/stories s08, Mobily's first-half loss): the papers and dates come from the archive's
records, each cited, in the asker's language; directly and as a follow-up."""

from __future__ import annotations

import json
import zipfile

import pytest

from rag import Akhbar, Config
from rag.embedder import SentenceTransformerEmbedder
from rag.llm import LlamaCppLLM
from rag.types import ReaderKind
from tests.conftest import REPO
from tests.support.eval_data import SHARED

NEWS = SHARED / "saudinews"
pytestmark = pytest.mark.skipif(not (NEWS / "2015-08-02.zip").exists(), reason="../shared/eval is not here")


def _articles(day: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    with zipfile.ZipFile(NEWS / f"{day}.zip") as zf:
        for name in sorted(zf.namelist()):
            if name.endswith(".json"):
                out.extend(json.loads(zf.read(name).decode("utf-8")))
    return out


@pytest.fixture(scope="module")
def story() -> dict[str, object]:
    stories = json.loads((REPO / "bench" / "stories" / "stories.json").read_text(encoding="utf-8"))["stories"]
    return next(s for s in stories if s["id"] == "s08")


@pytest.fixture(scope="module")
def news_bot(tmp_path_factory: pytest.TempPathFactory, prepared_config: Config, embedder: SentenceTransformerEmbedder,
             llm_15b: LlamaCppLLM, story: dict[str, object]) -> Akhbar:
    """The story's articles from the archive, and a dozen others of the same days."""
    urls = {a["url"] for a in story["articles"]}  # type: ignore[attr-defined]
    days = sorted({a["day"] for a in story["articles"]})  # type: ignore[attr-defined]
    rows = [a for day in days for a in _articles(day) if a.get("url") in urls]
    rows += [a for a in _articles(days[0]) if a.get("url") not in urls][:12]
    folder = tmp_path_factory.mktemp("mobily")
    (folder / "news.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                                       encoding="utf-8")
    bot = Akhbar(prepared_config.with_overrides(home=tmp_path_factory.mktemp("home")), embedder=embedder,
                 llm=llm_15b)
    assert bot.ingest(folder).documents >= 3
    return bot


def _papers(answer_sites: set[str]) -> set[str]:
    return {s for s in answer_sites if s}


@pytest.mark.slow
@pytest.mark.store
def test_a_question_naming_the_story_lists_the_papers_that_carried_it(news_bot: Akhbar) -> None:
    answer = news_bot.ask("ما الصحف التي نشرت خبر خسائر موبايلي في النصف الأول؟")
    assert answer.reader is ReaderKind.ARCHIVE and not answer.refused, answer.to_dict()
    papers = _papers({c.site for c in answer.citations})
    assert len(papers) >= 3, answer.text
    assert answer.text.startswith("نشرت الخبر: ") and all(p in answer.text for p in papers)
    assert all(c.date.startswith("2015-08-0") and c.quote and c.url for c in answer.citations)
    assert [c.number for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert "موبايلي" in answer.citations[0].title


@pytest.mark.slow
@pytest.mark.store
def test_a_follow_up_asks_about_the_story_in_focus_in_either_language(news_bot: Akhbar) -> None:
    conv = news_bot.conversation()
    first = conv.ask("كم بلغت خسائر موبايلي في النصف الأول من 2015؟")
    assert first.citations, first.to_dict()
    english = conv.ask("Which newspapers reported it?")
    assert english.reader is ReaderKind.ARCHIVE and english.text.startswith("Reported by: "), english.text
    assert english.citations[0].doc_id == first.citations[0].doc_id
    assert len(_papers({c.site for c in english.citations})) >= 3
    when = conv.ask("متى نُشر؟")
    assert when.text.startswith("نُشر في 2015-08-0"), when.text
    # Nothing in focus and no story named: said plainly, not guessed.
    lone = news_bot.ask("من نشر هذا الخبر؟")
    assert lone.refused and "no story in focus" in lone.diagnostics.reason
