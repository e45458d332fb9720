"""Support check logic with the real embedding model (cross-lingual)."""

from dataclasses import replace

from rag.embedder import SentenceTransformerEmbedder
from rag.support import SourceSentence, check, numbers_in, source_numbers

S_YEAR = "وكانت هذه القوى الثلاث تجتمع لمناقشة مستقبل سوريا السياسي كجزء من عملية أستانا منذ يناير2017."
S_22 = "وقد عُقد ما مجموعه 22 اجتماعًا بهذا الشكل، لكن تركيا تعتقد أن التعنت السوري أدى إلى عدم إحراز تقدم."


def _sources(embedder: SentenceTransformerEmbedder) -> list[SourceSentence]:
    vecs = embedder.embed_passages([S_YEAR, S_22])
    return [SourceSentence(1, S_YEAR, 0, len(S_YEAR), tuple(vecs[0])),
            SourceSentence(2, S_22, 100, 100 + len(S_22), tuple(vecs[1]))]


def test_supported_answers_in_both_languages(embedder: SentenceTransformerEmbedder) -> None:
    src = _sources(embedder)
    en = check("There have been 22 Astana-format meetings held [2].", src, embedder.embed_passages)
    assert [s.supported for s in en] == [True] and en[0].best_source == 2 and en[0].cited == (2,)
    assert en[0].quote == S_22 and (en[0].quote_start, en[0].quote_end) == (100, 100 + len(S_22))
    ar = check("منذ يناير 2017 [1].", src, embedder.embed_passages)
    assert ar[0].supported and ar[0].best_source == 1


def test_model_memory_is_not_supported(embedder: SentenceTransformerEmbedder) -> None:
    src = _sources(embedder)
    for text in ("The 2018 FIFA World Cup was won by France.", "The capital of Japan is Tokyo.",
                 "فازت فرنسا بكأس العالم 2018."):
        assert not check(text, src, embedder.embed_passages)[0].supported, text


def test_a_number_missing_from_the_sources_is_unsupported(embedder: SentenceTransformerEmbedder) -> None:
    src = _sources(embedder)
    assert not check("There have been 23 Astana-format meetings held.", src, embedder.embed_passages)[0].supported
    assert numbers_in("عام ٢٠١٧ و 3.5") == {"2017", "3.5"}
    # Thousands separators, with or without a space after them (the model writes "40, 000").
    assert numbers_in("40,000") == numbers_in("40, 000") == numbers_in("٤٠٬٠٠٠") == {"40000"}
    assert numbers_in("1,5 مليار") == {"1.5"}
    # "711.988" may be European-style thousands: "711,988" and "711988" read the same.
    assert {"711.988", "711988"} <= numbers_in("711.988")


def test_number_words_in_a_source_back_digits_in_the_answer(embedder: SentenceTransformerEmbedder) -> None:
    assert {"5"} <= source_numbers("افتُتح المترو على خمس مراحل")
    assert {"3"} <= source_numbers("والثلاثة الباقون") and {"9"} <= source_numbers("تتحكم فيها تسع دول")
    assert {"40", "1940"} <= source_numbers("في الأربعينات") and {"2"} <= source_numbers("two interceptions")
    assert source_numbers("ستكون المرحلة الأولى") == set()  # no number word, only letters that start one
    metro = "افتُتح المترو على خمس مراحل بين عامي 1980 و1984."
    src = [SourceSentence(1, metro, 0, len(metro), tuple(embedder.embed_passages([metro])[0]))]
    assert check("افتُتح المترو على 5 مراحل [1].", src, embedder.embed_passages)[0].supported
    assert not check("افتُتح المترو على 7 مراحل [1].", src, embedder.embed_passages)[0].supported
    # A bare value is backed by the sentence that states it, which is then the quote.
    other = "وكان أول نظام للنقل بالسكك الحديدية الخفيفة في بريطانيا."
    two = [SourceSentence(1, other, 0, len(other), tuple(embedder.embed_passages([other])[0])),
           replace(src[0], start=100, end=100 + len(metro))]
    bare = check("5 [1].", two, embedder.embed_passages)[0]
    assert bare.supported and bare.quote == metro and bare.supported_by == (1,)
    assert not check("7 [1].", two, embedder.embed_passages)[0].supported


def test_a_span_worked_out_from_two_stated_numbers_counts(embedder: SentenceTransformerEmbedder) -> None:
    theatre = "كان المسرح الصيفي قيد العمل من 1870 إلى 1939."
    src = [SourceSentence(1, theatre, 0, len(theatre), tuple(embedder.embed_passages([theatre])[0]))]
    ok = check("كان المسرح الصيفي قيد العمل من 1870 إلى 1939، أي 69 عامًا [1].", src, embedder.embed_passages)
    assert ok[0].supported
    wrong = check("كان المسرح الصيفي قيد العمل من 1870 إلى 1939، أي 65 عامًا [1].", src, embedder.embed_passages)
    assert not wrong[0].supported
