"""Time expressions in questions (rag.when): a table of Arabic and English expressions,
both Arabic month series and Eastern digits, resolved against one reference day."""

from __future__ import annotations

from datetime import date

import pytest

from rag.when import OPEN_START, find_window, without

REF = date(2015, 8, 10)  # a Monday
D = date

# (question, since, until, the expression as matched)
TABLE: list[tuple[str, date | None, date | None, str]] = [
    # Arabic, relative
    ("ماذا قيل عن مهرجان بريدة للتمور أمس؟", D(2015, 8, 9), D(2015, 8, 9), "أمس"),
    ("ماذا حدث البارحة في جدة؟", D(2015, 8, 9), D(2015, 8, 9), "البارحة"),
    ("ما الذي نشر أول أمس عن الحج؟", D(2015, 8, 8), D(2015, 8, 8), "أول أمس"),
    ("ماذا حدث اليوم في الرياض؟", D(2015, 8, 10), D(2015, 8, 10), "اليوم"),
    ("ما أخبار اليمن في الأسبوع الماضي؟", D(2015, 8, 3), D(2015, 8, 9), "في الأسبوع الماضي"),
    ("ماذا قيل خلال الأسبوع المنصرم عن النفط؟", D(2015, 8, 3), D(2015, 8, 9), "خلال الأسبوع المنصرم"),
    ("ما أبرز الأخبار هذا الأسبوع؟", D(2015, 8, 4), D(2015, 8, 10), "هذا الأسبوع"),
    ("ماذا نشرت الصحف الشهر الماضي عن التعليم؟", D(2015, 7, 1), D(2015, 7, 31), "الشهر الماضي"),
    ("ما أخبار البورصة هذا الشهر؟", D(2015, 8, 1), D(2015, 8, 10), "هذا الشهر"),
    ("كم حاجا قدم العام الماضي؟", D(2014, 1, 1), D(2014, 12, 31), "العام الماضي"),
    ("ماذا تحقق هذا العام؟", D(2015, 1, 1), D(2015, 8, 10), "هذا العام"),
    ("ما الذي جرى خلال الأيام الثلاثة الماضية؟", D(2015, 8, 7), D(2015, 8, 10), "خلال الأيام الثلاثة الماضية"),
    ("ماذا حدث خلال الأسبوعين الماضيين؟", D(2015, 7, 27), D(2015, 8, 10), "خلال الأسبوعين الماضيين"),
    ("ما الجديد في آخر 5 أيام؟", D(2015, 8, 5), D(2015, 8, 10), "في آخر 5 أيام"),
    ("ماذا أعلن قبل يومين؟", D(2015, 8, 8), D(2015, 8, 8), "قبل يومين"),
    ("ماذا أعلن منذ ٣ أيام؟", D(2015, 8, 7), D(2015, 8, 7), "منذ ٣ أيام"),
    # Arabic, named months (both series) and years
    ("ما أخبار الحوثيين في أغسطس 2015؟", D(2015, 8, 1), D(2015, 8, 31), "في أغسطس 2015"),
    ("ماذا نشر منذ بداية أغسطس عن الحج؟", D(2015, 8, 1), D(2015, 8, 10), "منذ بداية أغسطس"),
    ("ماذا قيل منذ مطلع آب 2015؟", D(2015, 8, 1), D(2015, 8, 10), "منذ مطلع آب 2015"),
    ("ماذا حدث في تموز؟", D(2015, 7, 1), D(2015, 7, 31), "في تموز"),
    ("ما أخبار شهر يوليو الماضي؟", D(2015, 7, 1), D(2015, 7, 31), "شهر يوليو"),
    ("ما الذي جرى في كانون الثاني 2015؟", D(2015, 1, 1), D(2015, 1, 31), "في كانون الثاني 2015"),
    ("ماذا حدث في تشرين الأول؟", D(2014, 10, 1), D(2014, 10, 31), "في تشرين الأول"),
    ("ماذا حدث في شهر إبريل من عام 2015؟", D(2015, 4, 1), D(2015, 4, 30), "في شهر إبريل من عام 2015"),
    ("ما أخبار المملكة في عام 2014؟", D(2014, 1, 1), D(2014, 12, 31), "في عام 2014"),
    ("ماذا قيل في 5 أغسطس عن الحج؟", D(2015, 8, 5), D(2015, 8, 5), "في 5 أغسطس"),
    ("ماذا قيل يوم ١٠ أغسطس ٢٠١٥؟", D(2015, 8, 10), D(2015, 8, 10), "يوم ١٠ أغسطس ٢٠١٥"),
    ("ما الذي حدث بين 3 و9 أغسطس؟", D(2015, 8, 3), D(2015, 8, 9), "بين 3 و9 أغسطس"),
    ("ماذا نشر بين 1 يوليو و15 أغسطس 2015؟", D(2015, 7, 1), D(2015, 8, 15), "بين 1 يوليو و15 أغسطس 2015"),
    ("ما أخبار النفط من ١ أغسطس إلى ٥ أغسطس ٢٠١٥؟", D(2015, 8, 1), D(2015, 8, 5), "من ١ أغسطس إلى ٥ أغسطس ٢٠١٥"),
    ("ماذا نشر حتى 5 أغسطس؟", OPEN_START, D(2015, 8, 5), "حتى 5 أغسطس"),
    ("ماذا نشر قبل أغسطس 2015؟", OPEN_START, D(2015, 7, 31), "قبل أغسطس 2015"),
    ("ما أخبار 2015-08-05؟", D(2015, 8, 5), D(2015, 8, 5), "2015-08-05"),
    # English
    ("what did the papers say about Yemen last week?", D(2015, 8, 3), D(2015, 8, 9), "last week"),
    ("What happened yesterday in Riyadh?", D(2015, 8, 9), D(2015, 8, 9), "yesterday"),
    ("what happened the day before yesterday?", D(2015, 8, 8), D(2015, 8, 8), "the day before yesterday"),
    ("Any news today?", D(2015, 8, 10), D(2015, 8, 10), "today"),
    ("What was reported this week about oil?", D(2015, 8, 4), D(2015, 8, 10), "this week"),
    ("What did Okaz write last month?", D(2015, 7, 1), D(2015, 7, 31), "last month"),
    ("What changed last year?", D(2014, 1, 1), D(2014, 12, 31), "last year"),
    ("What happened in the past 10 days?", D(2015, 7, 31), D(2015, 8, 10), "in the past 10 days"),
    ("What was announced 3 days ago?", D(2015, 8, 7), D(2015, 8, 7), "3 days ago"),
    ("News on the Houthis in August 2015", D(2015, 8, 1), D(2015, 8, 31), "in August 2015"),
    ("What was said since the start of July?", D(2015, 7, 1), D(2015, 8, 10), "since the start of July"),
    ("What happened in 2014?", D(2014, 1, 1), D(2014, 12, 31), "in 2014"),
    ("What was reported on August 5, 2015?", D(2015, 8, 5), D(2015, 8, 5), "on August 5, 2015"),
    ("What happened between 3 and 9 August?", D(2015, 8, 3), D(2015, 8, 9), "between 3 and 9 August"),
    ("From 1 August to 5 August 2015, what happened?", D(2015, 8, 1), D(2015, 8, 5), "From 1 August to 5 August 2015"),
    ("What was published until the end of July 2015?", OPEN_START, D(2015, 7, 31), "until the end of July 2015"),
    ("What was published before August 2015?", OPEN_START, D(2015, 7, 31), "before August 2015"),
    # No time expression: nothing is filtered.
    ("ماذا قيل عن اليوم الوطني؟", None, None, ""),
    ("كم بلغت ميزانية 2015؟", None, None, ""),
    ("مارس اللاعب الرياضة منذ صغره", None, None, ""),
    ("ماذا قال أب الطفل؟", None, None, ""),
    ("Who won the match?", None, None, ""),
    ("ما اسم الحرفي الذي تحدث لصحيفة اليوم عن صناعة الفخار؟", None, None, ""),  # Al-Yaum, the paper
    ("كم بلغت كمية المواد المصادرة في عام 1434هـ؟", None, None, ""),  # a Hijri year
    ("كم ملفاً تعتزم الهيئة إدراجها خلال ثلاثة أشهر؟", None, None, ""),  # a duration ahead
]


def test_the_table_has_forty_expressions_in_both_languages() -> None:
    with_time = [row for row in TABLE if row[1] is not None]
    arabic = [row for row in with_time if any("\u0600" <= c <= "\u06ff" for c in row[0])]
    assert len(with_time) >= 40 and len(arabic) >= 20 and len(with_time) - len(arabic) >= 15


@pytest.mark.parametrize(("question", "since", "until", "text"), TABLE, ids=[row[0][:40] for row in TABLE])
def test_time_expressions_become_date_windows(question: str, since: date | None, until: date | None,
                                              text: str) -> None:
    window = find_window(question, REF)
    if since is None:
        assert window is None, window
        return
    assert window is not None
    assert (window.since, window.until, window.text) == (since, until, text)
    assert question[window.start:window.end] == text


def test_the_question_without_its_time_expression_is_what_retrieval_sees() -> None:
    q = "ماذا قيل عن مهرجان بريدة للتمور أمس؟"
    assert without(q, find_window(q, REF)) == "ماذا قيل عن مهرجان بريدة للتمور؟"  # type: ignore[arg-type]
    q = "From 1 August to 5 August 2015, what happened?"
    assert without(q, find_window(q, REF)) == "what happened?"  # type: ignore[arg-type]


def test_windows_read_in_the_question_language() -> None:
    w = find_window("ما أخبار اليمن في الأسبوع الماضي؟", REF)
    assert w is not None
    assert w.label("ar") == "بين 2015-08-03 و2015-08-09"
    assert w.label("en") == "from 2015-08-03 to 2015-08-09"
    day = find_window("yesterday", REF)
    assert day is not None and day.label("en") == "on 2015-08-09" and day.label("ar") == "يوم 2015-08-09"
    assert w.to_dict()["since"] == "2015-08-03"


def test_a_month_without_a_year_is_the_latest_one_not_after_the_reference() -> None:
    assert find_window("في سبتمبر", REF).since == D(2014, 9, 1)  # type: ignore[union-attr]
    assert find_window("in August", REF).until == D(2015, 8, 31)  # type: ignore[union-attr]
    assert find_window("في فبراير", D(2016, 3, 1)).until == D(2016, 2, 29)  # type: ignore[union-attr]
