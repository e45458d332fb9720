"""Follow-up questions: rewrite validation."""

from __future__ import annotations

from rag.answer.plan import clean_rewrite


def test_clean_rewrite_accepts_faithful_questions() -> None:
    q = "وكم اجتماعًا عقدت في إطارها؟"
    assert clean_rewrite("كم اجتماعًا عقدت في إطار عملية أستانا؟", q) == "كم اجتماعًا عقدت في إطار عملية أستانا؟"
    assert clean_rewrite("السؤال المعاد صياغته: كم اجتماعًا عقدت في إطار عملية أستانا؟\nشرح", q) == \
        "كم اجتماعًا عقدت في إطار عملية أستانا؟"
    en = "Since when have they been meeting?"
    assert clean_rewrite("Since when have Russia, Iran and Turkey been meeting?", en) == \
        "Since when have Russia, Iran and Turkey been meeting?"


def test_clean_rewrite_rejects_unfaithful_output() -> None:
    q = "وكم اجتماعًا عقدت في إطارها؟"
    assert clean_rewrite("أجتماعًا عقدت في إطاره.", q) is None  # the question word is gone
    assert clean_rewrite("عقد 22 اجتماعا.", q) is None  # answered instead
    assert clean_rewrite("How many meetings were held?", q) is None  # wrong language
    assert clean_rewrite("", q) is None
