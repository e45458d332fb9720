from rag.citations import parse_markers
from rag.text import content_words, overlap


def test_valid_markers_kept_in_order_of_use() -> None:
    p = parse_markers("A [2]. B [1][2]. C [1, 2].", 2)
    assert p.numbers == (2, 1)
    assert p.invalid == ()
    assert p.text == "A [2]. B [1][2]. C [1][2]."


def test_invalid_markers_removed_and_reported() -> None:
    p = parse_markers("Twenty-two meetings [1] [7]. Also [0].", 2)
    assert p.numbers == (1,)
    assert p.invalid == ("[7]", "[0]")
    assert "[7]" not in p.text and "[0]" not in p.text
    assert p.text == "Twenty-two meetings [1]. Also."


def test_marker_after_the_full_stop_moves_inside_the_sentence() -> None:
    p = parse_markers("There have been 22 meetings. [1] Next one [2]؟", 2)
    assert p.text == "There have been 22 meetings [1]. Next one [2]؟"


def test_eastern_arabic_digits_and_arabic_comma() -> None:
    p = parse_markers("منذ عام 2017 [١، ٢].", 2)
    assert p.numbers == (1, 2)
    assert p.text == "منذ عام 2017 [1][2]."


def test_mixed_list_keeps_valid_part() -> None:
    p = parse_markers("x [1, 9]", 2)
    assert p.numbers == (1,) and p.invalid == ("[1, 9]",) and p.text == "x [1]"


def test_content_words_unify_clitics_and_alef() -> None:
    assert "روسيا" in content_words("وروسيا")
    assert content_words("أستانا") == content_words("استانا")


def test_overlap_counts_shared_content_words() -> None:
    assert overlap("عُقد 22 اجتماعًا بهذا الشكل", "وقد عقد ما مجموعه 22 اجتماعا بهذا الشكل") == 1.0
    assert overlap("لا علاقة", "الطقس مشمس في القاهرة") == 0.0
