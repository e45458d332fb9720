import pytest

from ingest.article import parse_article
from ingest.chunker import chunk_article
from rag import IngestError
from tests.conftest import SEEDS

SEED = next(SEEDS.glob("*.txt"))


def _seed():  # type: ignore[no-untyped-def]
    text = SEED.read_text(encoding="utf-8")
    return text, parse_article(text, str(SEED))


def test_seed_title_byline_and_language() -> None:
    _, a = _seed()
    assert a.title == "موسكو: روسيا وإيران وتركيا على اتصال وثيق بشأن الصراع في سوريا"
    # The byline is glued to the first sentence in the scraped text; it is split off.
    assert a.byline.startswith("محمد السيد")
    assert a.language == "ar"


def test_seed_noise_is_not_body() -> None:
    _, a = _seed()
    body = a.body()
    assert "اقرأ أيضاً" not in body
    assert "سوريا: الجيش يسيطر على بلدة طوبا شمال شرق حماة" not in body  # related headline
    assert "كوريا الشمالية وروسيا تؤكدان" not in body  # "read also" list item
    assert "كتب-" not in body
    assert body.startswith("أعلنت موسكو")
    assert "منذ يناير2017" in body and "22 اجتماعًا" in body
    # The paragraph after the link list is still article text.
    assert "وقال عراقجي في مؤتمر صحفي" in body


def test_chunks_are_exact_slices_within_limit() -> None:
    text, a = _seed()

    def words(s: str) -> int:  # a stand-in token count for this unit test
        return len(s.split())

    chunks = chunk_article(a, words, 40)
    assert len(chunks) > 2
    for i, c in enumerate(chunks):
        assert c.text == text[c.start:c.end]
        assert words(c.text) <= 40
        assert c.index == i and c.doc_id == a.doc_id and c.content_hash == a.content_hash
        assert not c.text[0].isspace() and not c.text[-1].isspace()
    # Nothing of the body is lost between chunks.
    joined = " ".join(c.text for c in chunks).split()
    assert joined == a.body().split()


def test_long_sentence_is_cut_at_word_boundaries() -> None:
    text = "عنوان\n" + " ".join(f"كلمة{i}" for i in range(100)) + "."
    a = parse_article(text, "long.txt")
    chunks = chunk_article(a, lambda s: len(s.split()), 30)
    assert [len(c.text.split()) for c in chunks] == [30, 30, 30, 10]
    assert all(c.text.split()[0].startswith("كلمة") for c in chunks)


@pytest.mark.parametrize("text", ["", "   \n\n", "عنوان فقط\n"])
def test_no_body_is_a_clear_error(text: str) -> None:
    with pytest.raises(IngestError, match=r"x\.txt"):
        parse_article(text, "x.txt")


def test_english_layout() -> None:
    text = ("Talks resume in Astana\nBy Jane Roe\nDelegates met on Monday. They agreed to meet again.\n"
            "Read also\n- Other story\n")
    a = parse_article(text, "en.txt")
    assert a.title == "Talks resume in Astana" and a.byline == "Jane Roe"
    assert a.body() == "Delegates met on Monday. They agreed to meet again."
    assert a.language == "en"
