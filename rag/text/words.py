"""Word lists of Arabic and English, in one place: stop words (one list per use, since
matching answers and ranking a whole archive want different ones) and question words; and
the content-word overlap that evidence selection, the support check and follow-up rewrites
share. Pure; no model."""

from __future__ import annotations

import calendar
import re

from rag.text.arabic import (
    AR_UNIFY,
    ARABIC_CHAR,
    EASTERN_DIGITS,
    GREGORIAN_MONTHS,
    HIJRI_MONTHS,
    LEXICAL_UNIFY,
    fold,
    strip_clitic,
)
from rag.text.sentences import normalize_for_embedding

# Not content when an answer's words are matched against a source sentence.
OVERLAP_STOP = frozenset(
    "the a an of in on at to and or is are was were be been by for with from that this it as "
    "في من على إلى الى عن ان أن إن و او أو ما لا لم هذا هذه ذلك التي الذي كان كانت قد مع بين"
    .translate(AR_UNIFY)
    .split()
)
# Not indexed by BM25 (broader: pronouns and particles that every article has).
LEXICAL_STOP = frozenset("""
the a an of in on at to and or is are was were be been being by for with from that this these those it its as
into than then there their they he she his her we our you your i not no but if so do does did has have had
what which who whom whose when where why how
في من على الى عن ان او ما لا لم لن هذا هذه ذلك تلك التي الذي الذين كان كانت قد مع بين ثم حتى كل بعد قبل
عند اي هو هي هم هن نحن انت انا به بها له لها فيه فيها منه منها عليه عليها الي وقد وفي ومن وعلى ان كما ايضا
""".translate(LEXICAL_UNIFY).split())
# A reply that starts with one of these and then only repeats the question restates it.
ASKING = frozenset(fold(w) for w in (
    "متى", "ما", "ماذا", "من", "كم", "كيف", "أين", "لماذا", "هل", "أي",
    "when", "what", "who", "whom", "how", "where", "why", "which", "whose"))
# The word that makes a question what it is ("how many", "since when"); a rewrite keeps it.
INTERROGATIVES = ("كم", "متى", "أين", "اين", "من", "ما", "ماذا", "لماذا", "كيف", "هل", "أي", "اي", "لمن",
                  "how", "what", "when", "where", "who", "whom", "which", "why", "whose", "is", "are", "was",
                  "were", "do", "does", "did", "can", "could")

_WORD = re.compile(r"\w+")


def interrogative(text: str) -> str | None:
    """The first question word of ``text`` (a "و"/"ف" written onto an Arabic one removed)."""
    words = [w.strip("؟?،,.").lower().removeprefix("و").removeprefix("ف") if ARABIC_CHAR.match(w)
             else w.strip("؟?،,.").lower() for w in text.split()]
    return next((w for w in words if w in INTERROGATIVES), None)


def content_words(text: str) -> set[str]:
    norm = normalize_for_embedding(text).lower().translate(AR_UNIFY).translate(EASTERN_DIGITS)
    words = set()
    for w in _WORD.findall(norm):
        if w in OVERLAP_STOP:
            continue
        # "وروسيا" and "روسيا", "بالجيش" and "الجيش" meet.
        w = strip_clitic(w)
        words.add(w)
    return words


def shared_words(question: str, text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds one of the question's content words (clitics and letter forms
    aside): (start, end) of each such word, for highlighting."""
    wanted = content_words(question)
    out = []
    for m in _WORD.finditer(text):
        w = strip_clitic(m.group().lower().translate(AR_UNIFY).translate(EASTERN_DIGITS))
        if w in wanted and m.group().lower() not in OVERLAP_STOP:
            out.append((m.start(), m.end()))
    return out


def overlap(answer: str, source_text: str) -> float:
    """Share of the answer's content words found in the source."""
    a = content_words(answer)
    if not a:
        return 0.0
    return len(a & content_words(source_text)) / len(a)


# Question-word patterns, tried in order, on the folded question (alef forms and taa
# marbuta unified, diacritics gone, lower case). The first that matches decides.
QUESTION_TYPES_AR: tuple[tuple[str, str], ...] = (
    ("open", r"^(لماذا|لم |كيف(?! يبلغ)|هل |اشرح|لخص|قارن|صف |ما (سبب|اسباب|اهميه|دلاله|موقف|راي|الفرق|اثر)"
             r"|ماذا (قال|يعني|تعني))"),
    ("how_much", r"^(بكم|كم (تبلغ|يبلغ|بلغت|بلغ|تكلفه|قيمه|سعر|مبلغ|ميزانيه|حجم|مساحه|طول|ارتفاع|نسبه)"
                 r"|ما (قيمه|تكلفه|مبلغ|سعر|حجم|ميزانيه|مساحه|نسبه|مقدار|طول|ارتفاع|كلفه|اجمالي)"
                 r"|ما هي (قيمه|تكلفه|نسبه|مساحه|ميزانيه))"),
    ("how_many", r"^(كم|ما عدد|ما هو عدد|ما مجموع|ما اجمالي عدد)"),
    ("when", r"^(متى|في اي (عام|سنه|يوم|شهر|تاريخ|وقت)|ما تاريخ|ما موعد|منذ متى|الى متى|حتى متى)"),
    ("where", r"^(اين|الى اين|من اين|في اي (مدينه|دوله|مكان|منطقه|محافظه|مستشفى|حي|موقع)"
              r"|ما (مكان|موقع)|الى اي (مدينه|دوله|مكان))"),
    ("who", r"^(من |من$|ما اسم|ما هو اسم|ما هي اسم|لمن |مع من|عن من|بمن |على من)"),
    ("which", r"^(اي |ايه |في اي |الى اي |باي |لاي |من اي )"),
    ("event", r"^(ماذا|ما الذي|وماذا) (حدث|جرى|حصل|يحدث|يجري|يحصل)"),
    ("what", r"^(ما |ماذا|ما$|وما )"),
)
QUESTION_TYPES_EN: tuple[tuple[str, str], ...] = (
    ("open", r"^(why|how (?!many|much|long|old|far|big|large|high|tall)|explain|summari[sz]e|compare|describe"
             r"|what (is|was|were|are) the (reason|reasons|significance|impact|difference))"),
    ("how_much", r"^(how much|what (is|was|were|are) the (cost|price|value|amount|budget|size|area|total|rate"
                 r"|percentage|share|length|height)|how (long|big|large|high|tall|far|old))"),
    ("how_many", r"^(how many|what (is|was) the (number|total number|count))"),
    ("when", r"^(when|what (year|date|day|month|time)|since when|until when|on what date|in what year)"),
    ("where", r"^(where|in (what|which) (city|country|place|region|province|town|hospital|neighbou?rhood)"
              r"|what (city|country|place))"),
    ("who", r"^(who|whom|whose|what is the name|what was the name|name the)"),
    ("which", r"^(which|in which|at which|to which|for which)"),
    ("event", r"^what (happened|happens|is happening|has happened|had happened|took place|went on)"),
    ("what", r"^(what|name)"),
)

# A month's words, less the ordinals of the two-word names ("كانون الثاني", "ربيع الأول"),
# which are everyday words.
_ORDINALS = frozenset(fold("الأول الثاني الآخر الأولى الآخرة الثانية").split())
MONTH_WORDS = " ".join({w for name in (*GREGORIAN_MONTHS, *HIJRI_MONTHS) for w in name.split() if w not in _ORDINALS}
                   | {m.lower() for m in calendar.month_name if m})
DAY_WORDS = ("السبت الاحد الاثنين الثلاثاء الاربعاء الخميس الجمعه saturday sunday monday tuesday wednesday "
         "thursday friday")
RELATIVE_TIME_WORDS = ("امس اليوم غدا الليله صباح مساء ظهر فجر عصر الاسبوع الشهر العام عام سنه اسبوع شهر يوم ساعه "
             "yesterday today tomorrow morning evening week month year")

# Words that end a quantity's noun phrase: prepositions, conjunctions, relatives, verbs of
# saying and the like ("45 تخصصا في …", "17 ساعة تدريبية خلال …").
PHRASE_END = frozenset(fold(
    "في من على الى إلى عن مع بين خلال منذ حتى بعد قبل عند لدى ضمن حول نحو عبر او أو ثم الذي التي الذين "
    "اللذين هذا هذه ذلك تلك كما قد وقد تم وتم كان كانت وكان وكانت يوم اليوم امس حيث اذ إذ لكن بل اما أما "
    "وهو وهي هو هي ان أن إن لان لأن بسبب مقابل مقارنة وذلك فيما بينما وفق حسب بحسب "
    "in on at of for from to with by during since after before and or which that who as than").split())
# Words after a number that are not what it counts (a preposition, a magnitude, a pronoun).
NOT_COUNTED = frozenset(
    "في من إلى الى على عن مع منذ خلال حتى أو او ثم بين عند لدى قبل بعد الف ألف مليون مليار ملايين آلاف "  # noqa: SIM905
    "الاف بالمئة بالمائة المائة منها منهم منهن بينها بينهم فيها فيهم عليها لها لهم له".split())
# Magnitudes written after a number ("3,83 مليارات", "40 ألف").
MAGNITUDE_WORDS = frozenset(fold(
    "الف ألف آلاف الاف مليون ملايين مليار مليارات بليون تريليون thousand million millions billion billions trillion"
).split())
# Money: currencies and their signs (a "how much did it cost" answer is money, not a count of people).
CURRENCY_WORDS = frozenset(fold(
    "ريال ريالا ريالات دولار دولارا دولارات يورو يوان ين جنيه جنيها جنيهات درهم دراهم درهما دينار دنانير دينارا "
    "ليرة ليرات روبية روبل فرنك استرليني $ € £ riyal riyals dollar dollars usd sar euro euros yuan pound pounds "
    "dirham dirhams dinar dinars"
).split())
# Words that lead into a date ("في", "يوم"), not part of it.
BEFORE_DATE = frozenset(("في", "خلال", "يوم", "بتاريخ", "وفي"))

# Questions about the coverage itself, on the folded question: who carried the story, when it
# was published, who wrote it. Tried in order; the first that matches gives the aspect.
# The story itself, or nothing more ("متى نُشر؟"): "متى صدر القانون؟" asks about the law.
_THE_STORY = r"( (هذا|هذه|ذلك|تلك))?( (الخبر|المقال|التقرير|القصه|النبا))?\s*[؟?.]?\s*$"
COVERAGE_AR: tuple[tuple[str, str], ...] = (
    ("author", r"^(من (كتب|كاتب|محرر)|ما اسم (كاتب|محرر))" + _THE_STORY),
    ("date", r"^متى (نشر|نشرت|نشره|صدر|صدرت)" + _THE_STORY),
    ("papers", r"^(من (نشر|نشره|تناول|غطى|اورد|نقل) (هذا|هذه|ذلك|تلك|الخبر|القصه|المقال|النبا|التقرير)"
               r"|(ما|اي|ماهي|ما هي) (ال)?(صحف|جرائد|مواقع|صحيفه|جريده|وسائل الاعلام|المصادر)"
               r"|(من|ما) (الجهات|الصحف) )"),
)
COVERAGE_EN: tuple[tuple[str, str], ...] = (
    ("author", r"^who (wrote|authored) (it|this|that|the (story|article|report|piece))"),
    ("date", r"^when (was|were) (it|this|that|they|the (story|news|article|report|piece)) (published|reported|"
             r"posted|carried|run)"),
    ("papers", r"^((which|what) (newspapers?|papers?|outlets?|sites?|media|publications?|sources?) "
               r"(else )?(reported|covered|published|carried|ran|wrote about|had)"
               r"|who (else )?(reported|covered|published|carried|ran) "
               r"(it|this|that|the (story|news|article|report)))"),
)
# Words of a coverage question that name no story ("من نشر هذا الخبر؟" points at the one in focus).
COVERAGE_WORDS = frozenset(fold(
    "من ما اي ماهي هي نشر نشره نشرت تناول تناولت غطى غطت اورد اوردت نقل نقلت صدر صدرت متى كتب كاتب محرر اسم "
    "هذا هذه ذلك تلك الخبر خبر القصه المقال النبا التقرير الصحف الصحيفه الجرائد الجريده المواقع وسائل الاعلام "
    "الجهات المصادر التي الذي ايضا اخرى "
    "which what who when was were it this that they the story news article report piece newspapers newspaper "
    "papers paper outlets sites media publications sources reported covered published carried ran wrote about "
    "had else authored posted also other").split())
