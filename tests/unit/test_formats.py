"""Reading every supported format, without the store or models."""

import io
import json
import zipfile
from pathlib import Path

import pytest

from ingest.article import Article
from ingest.dates import parse_date
from ingest.formats import Limits, Note, Problem, decode, read_bytes, read_file
from rag import IngestError
from tests.conftest import SEEDS

SEED_TEXT = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
ARTICLE_HTML = """<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>سوريا: الجيش يسيطر على بلدة | موقع الأخبار</title><meta name="author" content="سارة أحمد">
<meta property="article:published_time" content="2024-12-04T10:30:00+02:00">
<meta property="og:site_name" content="موقع الأخبار"></head><body>
<nav><a href="/">الرئيسية</a> <a href="/world">العالم</a></nav><article><h1>سوريا: الجيش يسيطر على بلدة طوبا</h1>
<p>أعلن الجيش السوري، اليوم الأربعاء، سيطرته على بلدة طوبا شمال شرق حماة بعد معارك عنيفة استمرت ثلاثة أيام.</p>
<p>وقال مصدر عسكري إن القوات تقدمت من ثلاثة محاور، وإن عمليات التمشيط ما زالت مستمرة في محيط البلدة.</p>
<p>شارك الخبر على فيسبوك</p></article><footer>جميع الحقوق محفوظة © 2024 موقع الأخبار</footer></body></html>"""


def articles(items: list) -> list[Article]:  # type: ignore[type-arg]
    return [i for i in items if isinstance(i, Article)]


def problems(items: list) -> list[Problem]:  # type: ignore[type-arg]
    return [i for i in items if isinstance(i, Problem)]


@pytest.mark.parametrize("encoding", ["cp1256", "iso-8859-6", "utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_arabic_encodings_are_detected(encoding: str) -> None:
    raw = SEED_TEXT.encode(encoding, errors="ignore")
    expected = raw.decode(encoding).lstrip("\ufeff")
    assert decode(raw, "x.txt").replace("\r\n", "\n").lstrip("\ufeff") == expected
    [a] = articles(list(read_bytes(raw, "x.txt", ".txt", Limits())))
    assert a.title.startswith("موسكو: روسيا وإيران وتركيا")


def test_binary_and_empty_are_refused() -> None:
    with pytest.raises(IngestError, match="binary"):
        decode(bytes(range(256)) * 50, "b.txt")
    with pytest.raises(IngestError, match="empty"):
        decode(b"  \n", "e.txt")


def test_html_article_metadata_and_boilerplate() -> None:
    [a] = articles(list(read_bytes(ARTICLE_HTML.encode(), "/x/page.html", ".html", Limits())))
    assert a.title == "سوريا: الجيش يسيطر على بلدة طوبا"
    assert a.byline == "سارة أحمد" and a.date == "2024-12-04" and a.site == "موقع الأخبار"
    body = a.body()
    assert body.startswith("أعلن الجيش السوري") and "محيط البلدة." in body
    for noise in ("شارك الخبر", "جميع الحقوق محفوظة", "الرئيسية"):
        assert noise not in body
    assert a.language == "ar"


def test_truncated_html_is_one_problem() -> None:
    items = list(read_bytes(b"<html><head><title>x</title></head><body><div", "t.html", ".html", Limits()))
    assert [type(i) for i in items] == [Problem] and "no article text" in items[0].reason


def test_json_news_please_layout() -> None:
    record = {
        "title": "Talks in Astana", "maintext": "Delegates met on Monday in Astana. They agreed to meet again.",
        "date_publish": "2024-12-04 10:00:00", "url": "https://news.example/astana", "source_domain": "news.example",
        "authors": ["Jane Roe", "John Doe"], "language": "en",
    }
    [a] = articles(list(read_bytes(json.dumps(record).encode(), "a.json", ".json", Limits())))
    assert (a.title, a.byline, a.site, a.url) == ("Talks in Astana", "Jane Roe, John Doe", "news.example",
                                                 "https://news.example/astana")
    assert a.date == "2024-12-04T10:00:00" and a.language == "en"


def test_json_list_and_field_variants() -> None:
    data = {"articles": [
        {"headline": "One", "body": "<p>First <b>story</b> text.</p><p>Second paragraph.</p>", "published": "4/12/2024",
         "link": "https://a.example/1"},
        {"title": "Two", "content": "Plain text story.", "pubDate": "Wed, 04 Dec 2024 10:00:00 GMT", "source": "B"},
        {"title": "Three, no text"},
    ]}
    items = list(read_bytes(json.dumps(data).encode(), "list.json", ".json", Limits()))
    one, two = articles(items)
    assert one.body() == "First story text.\nSecond paragraph." and one.site == "a.example"
    assert one.date == "2024-12-04" and two.date.startswith("2024-12-04T10:00:00")
    [p] = problems(items)
    assert p.source == "list.json#3" and "no article text" in p.reason


def test_jsonl_malformed_lines_do_not_stop_the_rest() -> None:
    lines = [json.dumps({"title": "A", "text": "Story A happened today."}), "{not json", "",
             json.dumps({"title": "B", "text": "Story B happened too."}), "[1, 2]"]
    items = list(read_bytes("\n".join(lines).encode(), "f.jsonl", ".jsonl", Limits()))
    assert [a.title for a in articles(items)] == ["A", "B"]
    reasons = {p.source: p.reason for p in problems(items)}
    assert "invalid JSON" in reasons["f.jsonl#2"] and "f.jsonl#5#1" in reasons


def test_rss_feed_entries() -> None:
    rss = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>وكالة الأنباء</title>
    <item><title>خبر أول</title><link>https://n.example/1</link><pubDate>Wed, 04 Dec 2024 10:00:00 +0300</pubDate>
    <description><![CDATA[<p>نص الخبر الأول عن اجتماع أستانا.</p>]]></description><author>مراسل</author></item>
    <item><title>خبر ثان</title><link>https://n.example/2</link><description>نص الخبر الثاني.</description></item>
    </channel></rss>"""
    items = list(read_bytes(rss.encode(), "feed.xml", ".xml", Limits()))
    a, b = articles(items)
    assert (a.title, a.url, a.site, a.date[:10]) == ("خبر أول", "https://n.example/1", "وكالة الأنباء", "2024-12-04")
    assert a.body() == "نص الخبر الأول عن اجتماع أستانا." and a.source_path == "https://n.example/1"
    assert b.body() == "نص الخبر الثاني."


def test_atom_feed() -> None:
    atom = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title>
    <entry><title>Atom story</title><link href="https://w.example/a"/><updated>2024-12-05T08:00:00Z</updated>
    <summary>Something happened in Ankara today.</summary></entry></feed>"""
    [a] = articles(list(read_bytes(atom.encode(), "f.atom", ".atom", Limits())))
    assert a.title == "Atom story" and a.date.startswith("2024-12-05T08:00:00") and a.site == "Wire"


def _zip(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, "/etc/passwd")
    return buf.getvalue()


def test_zip_of_formats_and_hostile_members() -> None:
    raw = _zip({
        "a/seed.txt": SEED_TEXT.encode(),
        "b/page.html": ARTICLE_HTML.encode(),
        "../../escape.txt": b"Title\nBody text here.",
        "/abs.txt": b"Title\nBody text here.",
        "bomb.txt": b"A" * 5_000_000,
        "inner.zip": b"PK",
        "notes.doc": b"x",
        "release.docx": b"PK not a document",
        ".hidden.txt": b"Title\nBody.",
    }, links=("link.txt",))
    items = list(read_bytes(raw, "/in/arch.zip", ".zip", Limits()))
    assert sorted(a.source_path for a in articles(items)) == ["/in/arch.zip!a/seed.txt", "/in/arch.zip!b/page.html"]
    reasons = {p.source.split("!", 1)[1]: p.reason for p in problems(items)}
    assert "unsafe path" in reasons["../../escape.txt"] and "unsafe path" in reasons["/abs.txt"]
    assert "zip bomb" in reasons["bomb.txt"]
    assert "nested" in reasons["inner.zip"] and "unsupported" in reasons["notes.doc"]
    assert "not a readable Word" in reasons["release.docx"]
    assert "symbolic link" in reasons["link.txt"]


def test_zip_limits() -> None:
    raw = _zip({f"f{i}.txt": b"Title\nSome body text." for i in range(5)})
    [p] = list(read_bytes(raw, "z.zip", ".zip", Limits(max_zip_members=3)))
    assert isinstance(p, Problem) and "too many files in the archive (5 > 3)" in p.reason
    items = list(read_bytes(raw, "z.zip", ".zip", Limits(max_zip_total_bytes=40)))
    assert any("expands beyond" in p.reason for p in problems(items))


def test_oversized_and_unsupported_files(tmp_path: Path) -> None:
    big = tmp_path / "huge.txt"
    with open(big, "wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: 200 MB without writing it
    [p] = list(read_file(big, Limits()))
    assert isinstance(p, Problem) and "file too large (200.0 MB > 50.0 MB limit)" in p.reason
    other = tmp_path / "x.doc"
    other.write_bytes(b"%PDF")
    [q] = list(read_file(other, Limits()))
    assert isinstance(q, Problem) and "unsupported format .doc" in q.reason


@pytest.mark.parametrize(("raw", "iso"), [
    ("2024-12-04", "2024-12-04"),
    ("2024-12-04T10:30:00Z", "2024-12-04T10:30:00+00:00"),
    ("Wed, 04 Dec 2024 10:00:00 GMT", "2024-12-04T10:00:00+00:00"),
    ("04/12/2024", "2024-12-04"),
    ("2024/12/04", "2024-12-04"),
    ("December 4, 2024", "2024-12-04"),
    ("4 Dec 2024", "2024-12-04"),
    ("الأربعاء 4 ديسمبر 2024", "2024-12-04"),
    ("٤ ديسمبر ٢٠٢٤", "2024-12-04"),
    ("4 كانون الأول 2024", "2024-12-04"),
    ("١٥ كانون الثاني ٢٠٢٥", "2025-01-15"),
    ("نُشر في 3 أيلول، 2023", "2023-09-03"),
    ("31 فبراير 2024", ""),
    ("منذ ساعتين", ""),
    ("", ""),
])
def test_dates(raw: str, iso: str) -> None:
    assert parse_date(raw) == iso


# --------------------------------------------------------- metadata from real dumps


def notes(items: list) -> list[Note]:  # type: ignore[type-arg]
    return [i for i in items if isinstance(i, Note)]


SAUDINEWS = [  # SaudiNewsNet's layout: a JSON array, the crawl time as the only date, the paper's id
    {"source": "okaz", "url": "http://okaz.com.sa/new/1", "date_extracted": "2015-08-10 18:53:03",
     "title": "افتتاح مهرجان التمور", "author": "", "content": "افتتح أمير المنطقة مهرجان التمور في بريدة."},
    {"source": "aawsat", "url": "http://aawsat.com/2", "date_extracted": "2015-08-11 07:00:00",
     "title": "قمة في الرياض", "author": "مراسل", "content": "عقدت في الرياض قمة خليجية بحضور القادة."},
]


def test_saudinewsnet_dates_and_sites_are_found_and_the_fields_reported_once_per_file() -> None:
    raw = json.dumps(SAUDINEWS, ensure_ascii=False).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("2015-08-10.json", raw)
    items = list(read_bytes(buf.getvalue(), "day.zip", ".zip", Limits()))
    one, two = articles(items)
    assert (one.date, one.site) == ("2015-08-10T18:53:03", "okaz") and two.date == "2015-08-11T07:00:00"
    [note] = notes(items)  # one line for the file inside the zip, not one per article
    assert note.source == "day.zip!2015-08-10.json"
    assert "date ← date_extracted (2/2)" in note.message and "site ← source (2/2)" in note.message
    assert "text ← content (2/2)" in note.message and "author ← author (1/2)" in note.message
    assert "No dates" not in note.message


def test_news_please_and_newsapi_style_fields() -> None:
    records = [
        {"title": "A", "maintext": "Story A text here.", "date_publish": "2024-12-04 10:00:00",
         "source_domain": "reuters.com", "url": "https://www.reuters.com/a"},
        {"title": "B", "description": "Story B text here.", "publishedAt": "2024-12-05T08:00:00Z",
         "source": {"id": None, "name": "Al Jazeera English"}, "url": "https://aljazeera.com/b"},
        {"title": "C", "text": "Story C text here.", "timestamp": 1733400000, "newspaper": "Al-Ahram"},
    ]
    items = list(read_bytes("\n".join(json.dumps(r) for r in records).encode(), "n.jsonl", ".jsonl", Limits()))
    a, b, c = articles(items)
    assert (a.date, a.site) == ("2024-12-04T10:00:00", "reuters.com")
    assert b.date.startswith("2024-12-05T08:00:00") and b.site == "Al Jazeera English"
    assert c.date.startswith("2024-12-05") and c.site == "Al-Ahram"


def test_a_user_field_mapping_wins_and_is_the_only_place_looked() -> None:
    record = {"headline": "X", "story": "The story text is here.", "crawl_time": "2020-01-02",
              "date": "not a date at all", "paper": "okaz"}
    fields = (("text", "story"), ("date", "crawl_time"), ("site", "paper"))
    [a] = articles(list(read_bytes(json.dumps(record).encode(), "m.json", ".json", Limits(fields=fields))))
    assert (a.title, a.date, a.site) == ("X", "2020-01-02", "okaz") and "story text" in a.text
    # Mapped to a field the records lack: no date, and the note says where it looked.
    missing = (("text", "story"), ("date", "published_on"))
    items = list(read_bytes(json.dumps(record).encode(), "m.json", ".json", Limits(fields=missing)))
    [b] = articles(items)
    [note] = notes(items)
    assert b.date == "" and "No dates" in note.message and "published_on" in note.message


def test_a_file_without_any_date_says_so() -> None:
    records = [{"title": "A", "text": "Story A text here."}, {"title": "B", "text": "Story B text."}]
    items = list(read_bytes(json.dumps(records).encode(), "nodate.json", ".json", Limits()))
    assert [a.date for a in articles(items)] == ["", ""]
    [note] = notes(items)
    assert "No dates" in note.message and "--field date=NAME" in note.message


def test_site_names_from_ids_and_hosts_and_filters_match_all_forms() -> None:
    from rag.retrieval import Filters
    from rag.sites import site_aliases, site_name, site_table

    table = site_table({"example.org": "مثال", "okaz": "عكاظ اليوم"})  # config over the built-in table
    assert site_name("aawsat", table) == "الشرق الأوسط" and site_name("www.aawsat.com", table) == "الشرق الأوسط"
    assert site_name("https://example.org/", table) == "مثال" and site_name("okaz", table) == "عكاظ اليوم"
    assert site_name("Unknown Paper", table) == "Unknown Paper"
    forms = set(site_aliases(["okaz"], table))
    assert {"okaz", "عكاظ اليوم", "عكاظ", "okaz.com.sa"} <= forms and "aawsat" not in forms
    assert set(site_aliases(["الشرق الأوسط"], table)) >= {"aawsat", "aawsat.com", "الشرق الأوسط"}
    where = Filters(sites=("okaz",)).where(table)
    assert where is not None and set(where["site"]["$in"]) == forms
    assert Filters(sites=("okaz",)).where() == {"site": {"$in": ["okaz"]}}
