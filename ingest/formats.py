"""Reading every common news format into ``Article`` objects.

``.txt``/``.md`` in the seed layout; ``.html``/``.htm`` pages (main text, title, author,
date and site via trafilatura); ``.json``/``.jsonl`` with the usual field names, news-please
included; RSS/Atom feed files and URLs (feedparser; with a URL, each entry's page is fetched
and extracted); ``.pdf`` and ``.docx`` (``ingest.documents``); ``.zip`` archives of any of
these. Text in Windows-1256, ISO-8859-6 or UTF-16 is detected (BOM, then charset-normalizer)
and decoded.

Every problem with one input becomes a ``Problem(source, reason)`` and reading goes on; a
zip member that would escape (``../``, absolute paths, links), a zip bomb, an oversized
file or too many members is refused with a reason. This module never writes anything.
"""

from __future__ import annotations

import io
import json
import re
import stat
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from ingest.article import Article, content_hash, parse_article, parse_extracted
from ingest.dates import parse_date
from rag.errors import IngestError


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 50 * 1024 * 1024
    max_zip_members: int = 10_000
    max_zip_total_bytes: int = 2 * 1024 * 1024 * 1024
    max_zip_ratio: int = 200  # uncompressed/compressed; real text compresses ~3-10x
    fetch_timeout_s: float = 20.0
    max_feed_entries: int = 500
    # The user's JSON field names (ingest.fields / --field), as (key, field) pairs.
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Problem:
    source: str
    reason: str


@dataclass(frozen=True)
class Note:
    """Something a user should know about a file that is not an error: which JSON field
    fed each piece of metadata, or that none held a date."""

    source: str
    message: str


Item = Article | Problem | Note
Fetcher = Callable[[str, Limits], tuple[bytes, str]]

TEXT_EXT = {".txt", ".md"}
HTML_EXT = {".html", ".htm"}
JSON_EXT = {".json", ".jsonl", ".ndjson"}
FEED_EXT = {".xml", ".rss", ".atom"}
ZIP_EXT = {".zip"}
PDF_EXT = {".pdf"}
DOCX_EXT = {".docx"}
SUPPORTED = TEXT_EXT | HTML_EXT | JSON_EXT | FEED_EXT | ZIP_EXT | PDF_EXT | DOCX_EXT

MIN_HTML_WORDS = 8
_TITLE_KEYS = ("title", "headline", "name")
_TEXT_KEYS = ("text", "body", "content", "maintext", "article", "article_body", "articleBody", "full_text")
# In order of preference: publication dates first, then creation, then crawl or update times
# (SaudiNewsNet's only timestamp is date_extracted, the crawl time).
_DATE_KEYS = ("date", "published", "date_publish", "published_at", "publishedAt", "pubDate", "pub_date",
              "datePublished", "date_published", "publish_date", "published_date", "publication_date",
              "dateCreated", "date_created", "created_at", "createdAt", "created", "timestamp", "datetime", "time",
              "date_extracted", "date_download", "crawled_at", "crawl_date", "date_crawled", "dateModified",
              "date_modify", "date_modified", "updated_at", "updated")
_URL_KEYS = ("url", "link", "href")
_SITE_KEYS = ("source", "source_name", "source_domain", "site", "sitename", "site_name", "newspaper", "paper",
              "publisher", "publication", "outlet", "domain")
_AUTHOR_KEYS = ("author", "authors", "byline", "creator")
_LIST_KEYS = ("articles", "items", "data", "results", "docs", "documents")


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


# ------------------------------------------------------------------------ decoding


def decode(raw: bytes, source: str) -> str:
    """Bytes → text: BOM, then UTF-8, then charset-normalizer (cp1256, ISO-8859-6, UTF-16…)."""
    if not raw.strip():
        raise IngestError(f"{source}: the file is empty")
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError as e:
                raise IngestError(f"{source}: invalid {enc} text (byte {e.start})") from e
    # Before UTF-8: BOM-less UTF-16 Arabic is all bytes < 0x80, i.e. "valid" UTF-8 with NULs.
    utf16 = _bomless_utf16(raw)
    if utf16:
        try:
            return raw.decode(utf16)
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[: 2 * 1024 * 1024]).best()
    if best is None or (b"\x00" in raw[:8192] and not best.encoding.startswith("utf_16")):
        raise IngestError(f"{source}: looks like a binary file, not text")
    encoding = best.encoding
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as e:
        raise IngestError(f"{source}: cannot decode as {encoding}: {e}") from e
    if _control_ratio(text) > 0.05:
        raise IngestError(f"{source}: looks like a binary file, not text")
    return text


def _bomless_utf16(raw: bytes) -> str | None:
    """UTF-16 without a BOM: for Arabic and Latin text one byte of each pair is mostly
    NUL (Latin) or 0x06 (Arabic) at a fixed parity; binaries show no such regularity."""
    head = raw[:4096]
    if len(head) < 8 or len(head) % 2:
        head = head[: len(head) - len(head) % 2]
    if len(head) < 8:
        return None
    pairs = len(head) // 2
    for parity, enc in ((1, "utf-16-le"), (0, "utf-16-be")):
        high = head[parity::2]
        if sum(1 for b in high if b in (0x00, 0x06)) / pairs > 0.9:
            return enc
    return None


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    bad = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f")
    return bad / len(sample)


# ------------------------------------------------------------------------- formats


def from_text(raw: bytes, source: str) -> Iterator[Item]:
    text = decode(raw, source)
    if "\x00" in text or _control_ratio(text) > 0.05:
        raise IngestError(f"{source}: looks like a binary file, not text")
    yield parse_article(text, source, digest=content_hash(raw))


def _html_to_article(html: str, source: str, url: str = "", site_fallback: str = "") -> Article:
    """``site``: the page's own site name, else ``site_fallback`` (a feed's title), else the host."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(html, url=url or None, with_metadata=True, include_comments=False,
                                          include_tables=False, favor_precision=True)
    except Exception as e:  # trafilatura raises assorted lxml errors on broken markup
        raise IngestError(f"{source}: cannot parse HTML: {e}") from e
    data: dict[str, Any] = {}
    if doc is not None:
        data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = (data.get("text") or "").strip()
    words = len(text.split())
    if words < MIN_HTML_WORDS:
        # Menus, error pages and truncated documents yield a few stray words, not an article.
        raise IngestError(f"{source}: no article text found in the HTML"
                          + (f" (only {words} words)" if words else ""))
    # trafilatura discards some explicit authors (e.g. one-word Arabic bylines); the page's
    # own <meta name="author"> is still the best byline there is.
    author = data.get("author") or _meta_author(html)
    host = data.get("hostname") or urllib.parse.urlparse(url).netloc or ""
    sitename = data.get("sitename") or ""
    if sitename.lower().removeprefix("www.") in (host.lower().removeprefix("www."),
                                                 urllib.parse.urlparse(url).netloc.lower()):
        sitename = ""  # trafilatura reports the bare host when the page names no site
    return parse_extracted(
        text, source, title=data.get("title") or "", byline=author,
        date=parse_date(data.get("date")), site=sitename or site_fallback or host,
        url=data.get("url") or url, digest=content_hash(text),
    )


def _meta_author(html: str) -> str:
    m = re.search(r"""<meta\s+[^>]*name\s*=\s*["']author["'][^>]*content\s*=\s*["']([^"']+)["']""", html, re.I)
    if not m:
        m = re.search(r"""<meta\s+[^>]*content\s*=\s*["']([^"']+)["'][^>]*name\s*=\s*["']author["']""", html, re.I)
    return m.group(1).strip() if m else ""


def from_html(raw: bytes, source: str, url: str = "") -> Iterator[Item]:
    yield _html_to_article(decode(raw, source), source, url)


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        v = obj.get(k)
        if v not in (None, "", []):
            return v
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_as_text(v) for v in value if v)
    if isinstance(value, dict):
        return str(_first(value, ("name", "title", "value", "text")) or "")
    return str(value or "").strip()


def _looks_html(text: str) -> bool:
    return bool(re.search(r"<(p|div|br|span|a|h[1-6]|article|li)\b[^>]*>", text, re.IGNORECASE))


def _html_fragment_text(fragment: str) -> str:
    import lxml.html

    try:
        root = lxml.html.fromstring(f"<div>{fragment}</div>")
    except Exception:
        return re.sub(r"<[^>]+>", " ", fragment)
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    for br in root.xpath("//br"):
        br.tail = "\n" + (br.tail or "")
    parts = []
    for el in root.iter():
        if el.tag in ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6"):
            el.tail = "\n" + (el.tail or "")
    parts.append(root.text_content())
    return re.sub(r"\n\s*\n+", "\n", "".join(parts)).strip()


_KEYS = {"title": _TITLE_KEYS, "text": (*_TEXT_KEYS, "description", "summary"), "date": _DATE_KEYS,
         "url": _URL_KEYS, "site": _SITE_KEYS, "author": _AUTHOR_KEYS}


def _pick(obj: dict[str, Any], what: str, fields: dict[str, str], used: dict[str, str],
          parse: Callable[[Any], str] = _as_text) -> str:
    """The first of the field names for ``what`` (the user's one alone, when mapped) whose
    value reads as one; records which field that was in ``used``."""
    keys = (fields[what],) if what in fields else _KEYS[what]
    for k in keys:
        v = obj.get(k)
        if v in (None, "", []):
            continue
        value = parse(v)
        if value:
            used[what] = k
            return value
    return ""


def article_from_record(obj: dict[str, Any], source: str, fields: dict[str, str] | None = None,
                        used: dict[str, str] | None = None) -> Article:
    """One JSON object with the usual news field names (news-please, SaudiNewsNet, NewsAPI
    and the like), or the user's ``fields`` mapping; ``used`` receives, per piece of
    metadata, the field it came from."""
    fields = fields or {}
    used = {} if used is None else used
    text = _pick(obj, "text", fields, used, lambda v: v if isinstance(v, str) and v.strip() else "")
    if not text:
        looked = fields.get("text") or ", ".join(_TEXT_KEYS)
        raise IngestError(f"{source}: no article text (looked for {looked})")
    if _looks_html(text):
        text = _html_fragment_text(text)
    title = _pick(obj, "title", fields, used)
    url = _pick(obj, "url", fields, used)
    site = _pick(obj, "site", fields, used)
    if not site and url:
        site = urllib.parse.urlparse(url).hostname or ""
        used["site"] = f"{used['url']} (host)"
    return parse_extracted(text.strip(), source, title=title, byline=_pick(obj, "author", fields, used),
                           date=_pick(obj, "date", fields, used, parse_date), site=site, url=url,
                           digest=content_hash(text.strip()))


def _field_note(source: str, counts: dict[str, dict[str, int]], records: int, fields: dict[str, str]) -> Note:
    """One line per file: which field fed each piece of metadata, in how many records."""
    parts = []
    for what in ("text", "title", "date", "site", "url", "author"):
        seen = counts.get(what, {})
        if seen:
            parts.append(f"{what} ← " + ", ".join(f"{k} ({n}/{records})" for k, n in
                                                   sorted(seen.items(), key=lambda kv: -kv[1])))
    message = "fields: " + "; ".join(parts)
    if "date" not in counts:
        looked = fields.get("date") or ", ".join(_DATE_KEYS[:8]) + ", …"
        message += f". No dates: no record has a date field ({looked}); map one with --field date=NAME"
    return Note(source, message)


def from_json(raw: bytes, source: str, lines: bool, fields: dict[str, str] | None = None) -> Iterator[Item]:
    """Articles of a JSON or JSONL file, then one ``Note`` on the fields they came from."""
    fields = fields or {}
    counts: dict[str, dict[str, int]] = {}
    records = [0]

    def tally(items: Iterator[tuple[Item, dict[str, str]]]) -> Iterator[Item]:
        for item, used in items:
            if isinstance(item, Article):
                records[0] += 1
                for what, key in used.items():
                    counts.setdefault(what, {})[key] = counts.get(what, {}).get(key, 0) + 1
            yield item

    text = decode(raw, source)
    if lines:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{source}#{n}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield Problem(where, f"line {n}: invalid JSON ({e.msg})")
                continue
            yield from tally(_records(obj, where, fields))
    else:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise IngestError(f"{source}: invalid JSON at line {e.lineno}, column {e.colno} ({e.msg})") from e
        yield from tally(_records(obj, source, fields))
    if records[0]:
        yield _field_note(source, counts, records[0], fields)


def _records(obj: Any, source: str, fields: dict[str, str]) -> Iterator[tuple[Item, dict[str, str]]]:
    def one(record: dict[str, Any], where: str) -> tuple[Item, dict[str, str]]:
        used: dict[str, str] = {}
        try:
            return article_from_record(record, where, fields, used), used
        except IngestError as e:
            return Problem(where, str(e).removeprefix(f"{where}: ")), used

    if isinstance(obj, dict):
        nested = next((obj[k] for k in _LIST_KEYS if isinstance(obj.get(k), list)), None)
        if nested is not None and _first(obj, (fields["text"],) if "text" in fields else _TEXT_KEYS) is None:
            obj = nested
        else:
            yield one(obj, source)
            return
    if not isinstance(obj, list):
        yield Problem(source, "JSON must be an article object or a list of them"), {}
        return
    for i, item in enumerate(obj):
        where = f"{source}#{i + 1}"
        if not isinstance(item, dict):
            yield Problem(where, "not a JSON object"), {}
            continue
        yield one(item, where)


def is_feed(raw: bytes) -> bool:
    head = raw[:2048].lstrip().lower()
    return bool(re.search(rb"<(rss|feed|rdf:rdf)\b", head))


def from_feed(raw: bytes, source: str, limits: Limits, fetch: Fetcher | None = None) -> Iterator[Item]:
    import feedparser

    parsed = feedparser.parse(raw)
    entries = list(parsed.entries or [])
    if not entries:
        why = getattr(parsed, "bozo_exception", None)
        raise IngestError(f"{source}: not an RSS/Atom feed with entries" + (f" ({why})" if why else ""))
    site = _as_text((parsed.feed or {}).get("title"))
    for i, entry in enumerate(entries[: limits.max_feed_entries]):
        link = entry.get("link") or ""
        where = link or f"{source}#{i + 1}"
        page: Article | None = None
        if fetch is not None and link.startswith(("http://", "https://")):
            try:
                body, _ctype = fetch(link, limits)
                page = _html_to_article(decode(body, link), link, url=link, site_fallback=site)
            except IngestError as e:
                yield Problem(link, f"feed entry page: {str(e).removeprefix(link + ': ')}")
        summary = ""
        if entry.get("content"):
            summary = entry["content"][0].get("value", "")
        summary = summary or entry.get("summary", "")
        date = parse_date(entry.get("published") or entry.get("updated") or "")
        title = _as_text(entry.get("title"))
        author = _as_text(entry.get("author"))
        if page is not None:
            yield replace(page, title=page.title or title, byline=page.byline or author, date=page.date or date,
                          url=link)
            continue
        text = _html_fragment_text(summary) if _looks_html(summary) else summary.strip()
        if not text:
            yield Problem(where, "feed entry has no text")
            continue
        try:
            yield parse_extracted(text, where, title=title, byline=author, date=date, site=site, url=link,
                                  digest=content_hash(text))
        except IngestError as e:
            yield Problem(where, str(e).removeprefix(f"{where}: "))


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not (p.is_absolute() or ".." in p.parts or re.match(r"^[A-Za-z]:", name) or "\x00" in name)


def from_zip(raw: bytes, source: str, limits: Limits) -> Iterator[Item]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as e:
        raise IngestError(f"{source}: not a valid zip archive ({e})") from e
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.max_zip_members:
            raise IngestError(f"{source}: too many files in the archive ({len(infos)} > {limits.max_zip_members})")
        total = 0
        for info in infos:
            where = f"{source}!{info.filename}"
            if not _safe_member(info.filename):
                yield Problem(where, "unsafe path in archive (absolute or '..'); refused")
                continue
            if _is_link(info):
                yield Problem(where, "symbolic link in archive; refused")
                continue
            if Path(info.filename).name.startswith(".") or "__MACOSX" in info.filename:
                continue
            ext = Path(info.filename).suffix.lower()
            if ext in ZIP_EXT:
                yield Problem(where, "nested archives are not ingested")
                continue
            if ext not in SUPPORTED:
                yield Problem(where, f"unsupported format {ext or '(no extension)'}")
                continue
            if info.file_size > limits.max_file_bytes:
                yield Problem(where, f"file too large ({_mb(info.file_size)} > {_mb(limits.max_file_bytes)} limit)")
                continue
            if info.compress_size and info.file_size / info.compress_size > limits.max_zip_ratio:
                yield Problem(where, f"compression ratio {info.file_size // max(1, info.compress_size)}:1 "
                                     "looks like a zip bomb; refused")
                continue
            total += info.file_size
            if total > limits.max_zip_total_bytes:
                yield Problem(where, f"archive expands beyond {_mb(limits.max_zip_total_bytes)}; rest refused")
                return
            try:
                with zf.open(info) as f:
                    data = f.read(limits.max_file_bytes + 1)  # headers can lie about sizes
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as e:
                yield Problem(where, f"cannot read from archive: {e}")
                continue
            if len(data) > limits.max_file_bytes:
                yield Problem(where, f"file too large (> {_mb(limits.max_file_bytes)} limit)")
                continue
            yield from read_bytes(data, where, ext, limits)


def read_bytes(raw: bytes, source: str, ext: str, limits: Limits, fetch: Fetcher | None = None,
               url: str = "") -> Iterator[Item]:
    """Dispatch on the extension; each failure becomes a Problem."""
    try:
        if ext in TEXT_EXT:
            yield from from_text(raw, source)
        elif ext in HTML_EXT:
            yield from from_html(raw, source, url=url)
        elif ext in JSON_EXT:
            yield from from_json(raw, source, lines=ext != ".json", fields=dict(limits.fields))
        elif ext in FEED_EXT:
            yield from from_feed(raw, source, limits, fetch)
        elif ext in ZIP_EXT:
            yield from from_zip(raw, source, limits)
        elif ext in PDF_EXT:
            from ingest.documents import from_pdf

            for item in from_pdf(raw, source):
                yield Note(source, item.removeprefix(f"{source}: ")) if isinstance(item, str) else item
        elif ext in DOCX_EXT:
            from ingest.documents import from_docx

            yield from_docx(raw, source)
        else:
            yield Problem(source, f"unsupported format {ext or '(no extension)'}")
    except IngestError as e:
        yield Problem(source, str(e).removeprefix(f"{source}: "))


def read_file(path: Path, limits: Limits) -> Iterator[Item]:
    source = str(path.resolve())
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        yield Problem(source, f"unsupported format {ext or '(no extension)'}")
        return
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            yield Problem(source, f"file too large ({_mb(size)} > {_mb(limits.max_file_bytes)} limit)")
            return
        raw = path.read_bytes()
    except OSError as e:
        yield Problem(source, f"cannot read: {e.strerror or e}")
        return
    yield from read_bytes(raw, source, ext, limits)


# ---------------------------------------------------------------------------- URLs


def http_fetch(url: str, limits: Limits) -> tuple[bytes, str]:
    """GET ``url`` with a timeout and a size cap; IngestError on any failure."""
    req = urllib.request.Request(url, headers={"User-Agent": "Akhbar/0.1 (+news archive ingest)"})
    try:
        with urllib.request.urlopen(req, timeout=limits.fetch_timeout_s) as resp:
            data: bytes = resp.read(limits.max_file_bytes + 1)
            ctype = resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        raise IngestError(f"{url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise IngestError(f"{url}: cannot fetch ({getattr(e, 'reason', e)})") from e
    if len(data) > limits.max_file_bytes:
        raise IngestError(f"{url}: response larger than {_mb(limits.max_file_bytes)}")
    return data, ctype


def read_url(url: str, limits: Limits, fetch: Fetcher = http_fetch) -> Iterator[Item]:
    try:
        raw, ctype = fetch(url, limits)
    except IngestError as e:
        yield Problem(url, str(e).removeprefix(f"{url}: "))
        return
    if is_feed(raw) or any(t in ctype for t in ("rss", "atom")):
        yield from read_bytes(raw, url, ".xml", limits, fetch=fetch)
    elif "json" in ctype:
        yield from read_bytes(raw, url, ".json", limits)
    else:
        yield from read_bytes(raw, url, ".html", limits, url=url)
