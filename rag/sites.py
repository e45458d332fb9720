"""News sites by name: the ids and hostnames that archives carry, turned into the names a
reader knows (okaz → عكاظ, aawsat.com → الشرق الأوسط).

Ingest stores the display name; retrieval filters accept the id, a hostname or the name
(each expands to all of them), so ``--site okaz`` keeps working after the id became
عكاظ. The built-in table covers the papers of SaudiNewsNet and common Arabic and
international outlets; ``ingest.sites`` in the config adds to it or overrides it. This
module only names sites: it does not guess one from an article's text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# id or hostname (lower case, without "www.") → display name.
KNOWN_SITES: dict[str, str] = {
    # SaudiNewsNet's newspaper ids and their hosts
    "aawsat": "الشرق الأوسط", "aawsat.com": "الشرق الأوسط",
    "aleqtisadiya": "الاقتصادية", "aleqt.com": "الاقتصادية",
    "aljazirah": "الجزيرة", "al-jazirah.com": "الجزيرة",
    "almadina": "المدينة", "al-madina.com": "المدينة",
    "alriyadh": "الرياض", "alriyadh.com": "الرياض",
    "alwatan": "الوطن", "alwatan.com.sa": "الوطن",
    "alweeam": "الوئام", "alweeam.com.sa": "الوئام",
    "alyaum": "اليوم", "alyaum.com": "اليوم",
    "arreyadi": "الرياضي", "arreyadi.com.sa": "الرياضي",
    "arreyadiyah": "الرياضية", "arriyadiyah.com": "الرياضية",
    "okaz": "عكاظ", "okaz.com.sa": "عكاظ",
    "sabq": "سبق", "sabq.org": "سبق",
    "was": "واس", "spa.gov.sa": "واس",
    "3alyoum": "عين اليوم", "3alyoum.com": "عين اليوم",
    # other Arabic outlets
    "aljazeera.net": "الجزيرة نت", "alarabiya.net": "العربية", "skynewsarabia.com": "سكاي نيوز عربية",
    "bbc.com/arabic": "بي بي سي عربي", "independentarabia.com": "إندبندنت عربية", "youm7.com": "اليوم السابع",
    "ahram.org.eg": "الأهرام", "almasryalyoum.com": "المصري اليوم", "annahar.com": "النهار",
    "alquds.co.uk": "القدس العربي", "aa.com.tr/ar": "الأناضول", "asharq.com": "الشرق",
    # international
    "reuters.com": "Reuters", "apnews.com": "AP", "afp.com": "AFP", "bbc.com": "BBC", "bbc.co.uk": "BBC",
    "nytimes.com": "The New York Times", "theguardian.com": "The Guardian", "aljazeera.com": "Al Jazeera",
    "arabnews.com": "Arab News", "thenationalnews.com": "The National",
}


def _key(value: str) -> str:
    key = value.strip().lower()
    key = key.split("://", 1)[-1]
    return key.removeprefix("www.").rstrip("/")


def site_table(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The built-in table with ``extra`` (from the config) laid over it."""
    table = dict(KNOWN_SITES)
    for k, v in (extra or {}).items():
        table[_key(k)] = v.strip()
    return table


def site_name(value: str, table: Mapping[str, str]) -> str:
    """The display name for an id, a hostname or a name; ``value`` itself when unknown."""
    if not value:
        return ""
    return table.get(_key(value), value.strip())


def site_aliases(values: Iterable[str], table: Mapping[str, str]) -> tuple[str, ...]:
    """Every stored form a filter on ``values`` should match: each value, its display name,
    and every id or hostname with that name (an archive ingested before a name was known
    stores the id)."""
    out: dict[str, None] = {}
    for value in values:
        if not value.strip():
            continue
        # The configured name and the built-in one: a name changed in the config still
        # finds what was ingested under the old one.
        names = {site_name(value, table), site_name(value, KNOWN_SITES)}
        out[value.strip()] = None
        for name in sorted(names):
            out[name] = None
        for key, shown in (*table.items(), *KNOWN_SITES.items()):
            if shown in names:
                out[key] = None
    return tuple(out)
