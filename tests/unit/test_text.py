from rag.text import detect_language, normalize_for_embedding, sentence_spans, strip_diacritics


def test_strip_diacritics_and_tatweel() -> None:
    assert strip_diacritics("عُقِدَ اجتمـــاعًا") == "عقد اجتماعا"
    assert strip_diacritics("Hello") == "Hello"


def test_normalize_presentation_forms_and_spaces() -> None:
    # U+FEFB is the lam-alef ligature presentation form; NFKC turns it into two letters.
    assert normalize_for_embedding("\ufefb  بأس\n\n") == "لا بأس"


def test_detect_language() -> None:
    assert detect_language("منذ متى تجتمع روسيا؟") == "ar"
    assert detect_language("How many meetings?") == "en"
    assert detect_language("ما هو F-16؟") == "ar"
    assert detect_language("1234 ...") == "other"


def test_sentence_spans_arabic_and_latin_marks() -> None:
    text = "الجملة الأولى. هل هذه ثانية؟ نعم؛ ثالثة!\nسطر جديد بلا نقطة"
    parts = [text[a:b] for a, b in sentence_spans(text)]
    assert parts == ["الجملة الأولى.", "هل هذه ثانية؟", "نعم؛", "ثالثة!", "سطر جديد بلا نقطة"]


def test_sentence_spans_do_not_split_numbers_or_words() -> None:
    text = "Version 2.5 was released. It costs $3.50 today."
    parts = [text[a:b] for a, b in sentence_spans(text)]
    assert parts == ["Version 2.5 was released.", "It costs $3.50 today."]


def test_sentence_spans_offsets_map_back() -> None:
    text = '  قال: "نعم." ثم غادر.  '
    for a, b in sentence_spans(text):
        assert text[a:b] == text[a:b].strip() and text[a:b]
