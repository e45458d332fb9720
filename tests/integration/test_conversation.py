"""Follow-up questions: real conversations on the seed."""

from __future__ import annotations

import pytest

from rag import Akhbar, AkhbarError
from rag.conversation import Conversation


def test_chat_needs_a_final_user_message(bot: Akhbar) -> None:
    with pytest.raises(AkhbarError, match="last message"):
        Conversation.from_messages(bot.stream, [{"role": "user", "content": "q"},
                                                {"role": "assistant", "content": "a"}])
    conv, q = Conversation.from_messages(bot.stream, [
        {"role": "system", "content": "ignored"}, {"role": "user", "content": "first?"},
        {"role": "assistant", "content": "one"}, {"role": "user", "content": "and then?"}])
    assert q == "and then?" and [t.question for t in conv.turns] == ["first?"]


@pytest.mark.slow
def test_arabic_follow_up_is_retrieved_with_its_context(seeded_bot: Akhbar) -> None:
    conv = seeded_bot.conversation()
    first = conv.ask("منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟")
    assert "2017" in first.text
    follow = conv.ask("وكم اجتماعًا عقدت في إطارها؟")
    assert "22" in follow.text, follow.to_dict()
    assert follow.question == "وكم اجتماعًا عقدت في إطارها؟"
    assert follow.diagnostics.standalone in ("rewritten", "context")
    assert "أستانا" in str(follow.diagnostics.standalone_question)
    assert follow.citations and "22" in follow.citations[0].quote
    assert len(conv.turns) == 2


@pytest.mark.slow
def test_a_follow_up_gets_no_date_filter_from_the_last_answer(seeded_bot: Akhbar) -> None:
    """The first answer is "منذ يناير2017"; the follow-up names no time, so it is searched
    over every date and says nothing about dates (the seed has none to filter on)."""
    conv = seeded_bot.conversation()
    assert "2017" in conv.ask("منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟").text
    follow = conv.ask("وما الدول الثلاث الضامنة؟")
    assert follow.notes == () and follow.window is None, follow.to_dict()


@pytest.mark.slow
def test_chat_api_with_english_history(seeded_bot: Akhbar) -> None:
    answer = seeded_bot.chat([
        {"role": "user", "content": "How many Astana-format meetings have been held?"},
        {"role": "assistant", "content": "There have been 22 Astana-format meetings held [1]."},
        {"role": "user", "content": "Since when have they been meeting?"},
    ])
    assert "2017" in answer.text and answer.language == "en" and answer.citations, answer.to_dict()


@pytest.mark.slow
def test_follow_up_names_the_three_guarantor_states(seeded_bot: Akhbar) -> None:
    conv = seeded_bot.conversation()
    conv.ask("منذ متى تجتمع روسيا وإيران وتركيا ضمن عملية أستانا؟")
    follow = conv.ask("وما الدول الثلاث الضامنة؟")
    assert not follow.refused, follow.to_dict()
    for country in ("روسيا", "إيران", "تركيا"):
        assert country in follow.text, follow.text
    assert follow.text.count("تركيا") == 1  # not "روسيا، تركيا وتركيا"
    assert follow.citations and follow.citations[0].source_path.endswith("000_dcd787653053976f.txt")
