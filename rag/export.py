"""Citation export: CSL-JSON, BibTeX, RIS, CSV, Markdown and JSON.

Works on the JSON-ready dicts of ``Answer.to_dict()`` (one answer, or a conversation's
answers in order), so it depends on nothing else in Akhbar. Every entry carries title,
author, site (container), publication date, URL or file path, the accessed date (when the
answer was given) and the quoted passage that supports it.

Article fields come from the archive and are untrusted: BibTeX braces and specials are
escaped, CSV cells that a spreadsheet would run as a formula (``=HYPERLINK(…``) are
prefixed with ``'``, Markdown metacharacters in titles and quotes are escaped. It does not
decide what is cited; it writes what the Answer says.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any

from rag.errors import AkhbarError

FORMATS = ("csl-json", "bibtex", "ris", "csv", "markdown", "json")
EXTENSIONS = {"csl-json": "json", "bibtex": "bib", "ris": "ris", "csv": "csv", "markdown": "md", "json": "json"}
_ALIASES = {"csl": "csl-json", "csljson": "csl-json", "bib": "bibtex", "md": "markdown"}
_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def normalize_format(fmt: str) -> str:
    f = fmt.strip().lower()
    f = _ALIASES.get(f, f)
    if f not in FORMATS:
        raise AkhbarError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return f


def entries(answers: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One bibliographic entry per cited article (first citation wins, across turns)."""
    out: dict[str, dict[str, Any]] = {}
    for turn, a in enumerate(answers, start=1):
        accessed = str(a.get("asked_at", ""))[:10]
        for c in a.get("citations", []):
            key = c.get("doc_id") or c.get("source_path") or c.get("title", "")
            if key in out:
                continue
            out[key] = {
                "id": f"akhbar-{str(key)[:16]}",
                "turn": turn,
                "number": c.get("number", 0),
                "title": c.get("title", "") or c.get("source_path", ""),
                "author": c.get("byline", ""),
                "site": c.get("site", ""),
                "date": c.get("date", ""),
                "url": c.get("url", ""),
                "path": c.get("source_path", ""),
                "accessed": accessed,
                "quote": c.get("quote", ""),
                "attributed": bool(c.get("attributed", False)),
                "also": also_text(c.get("also") or []),
                "page": int(c.get("page") or 0),
            }
    return list(out.values())


def also_text(also: Sequence[dict[str, Any]]) -> str:
    """The other papers that carried the story, for a citation's note: "Also reported by:
    عكاظ (2015-08-10, http://…); المدينة (2015-08-10)"."""
    items = []
    for a in also:
        where = ", ".join(v for v in (str(a.get("date", ""))[:10], str(a.get("url", ""))) if v)
        name = a.get("site") or a.get("title") or a.get("source", "")
        items.append(f"{name} ({where})" if where else str(name))
    return "Also reported by: " + "; ".join(items) if items else ""


def _with_also(quote: str, also: str, sep: str) -> str:
    return sep.join(v for v in (quote, also) if v)


def render(answers: Sequence[dict[str, Any]], fmt: str) -> str:
    """The export of ``answers`` (``Answer.to_dict()`` each) in ``fmt``, as text."""
    f = normalize_format(fmt)
    if f == "json":
        body: Any = answers[0] if len(answers) == 1 else {"turns": list(answers)}
        return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    if f == "markdown":
        return _markdown(answers)
    items = entries(answers)
    if f == "csl-json":
        return json.dumps([_csl(e) for e in items], ensure_ascii=False, indent=2) + "\n"
    if f == "bibtex":
        return "\n".join(_bibtex(e) for e in items)
    if f == "ris":
        return "".join(_ris(e) for e in items)
    return _csv(answers)


# ------------------------------------------------------------------ formats

def _date_parts(date: str) -> list[int] | None:
    m = _DATE.match(date or "")
    if not m:
        return None
    return [int(g) for g in m.groups() if g]


def _csl(e: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": e["id"], "type": "article-newspaper", "title": e["title"]}
    if e["author"]:
        # Bylines are free text ("By X and Y", agency names): kept whole as a literal name.
        item["author"] = [{"literal": e["author"]}]
    if e["site"]:
        item["container-title"] = e["site"]
    if (parts := _date_parts(e["date"])) is not None:
        item["issued"] = {"date-parts": [parts]}
    if e["page"]:
        item["page"] = str(e["page"])
    if e["url"]:
        item["URL"] = e["url"]
    elif e["path"]:
        item["source"] = e["path"]
    if (acc := _date_parts(e["accessed"])) is not None:
        item["accessed"] = {"date-parts": [acc]}
    if e["quote"] or e["also"]:
        item["note"] = _with_also(e["quote"], e["also"], "\n")
    return item


_BIB_SPECIAL = re.compile(r"([\\{}%&$#_^~])")


def _bib(value: str) -> str:
    def sub(m: re.Match[str]) -> str:
        ch = m.group(1)
        return {"\\": r"\textbackslash{}", "^": r"\^{}", "~": r"\~{}"}.get(ch, "\\" + ch)

    return _BIB_SPECIAL.sub(sub, " ".join(value.split()))


def _bibtex(e: dict[str, Any]) -> str:
    fields: list[tuple[str, str]] = [("title", "{" + _bib(e["title"]) + "}")]
    if e["author"]:
        fields.append(("author", "{" + _bib(e["author"]) + "}"))  # braced: one name, not split on "and"
    if e["site"]:
        fields.append(("journal", _bib(e["site"])))
    if (parts := _date_parts(e["date"])) is not None:
        fields.append(("date", e["date"][:10]))
        fields.append(("year", str(parts[0])))
        if len(parts) > 1:
            fields.append(("month", str(parts[1])))
    if e["page"]:
        fields.append(("pages", str(e["page"])))
    if e["url"]:
        fields.append(("url", _bib(e["url"])))
    if e["path"]:
        fields.append(("howpublished", _bib(e["path"])))
    if e["accessed"]:
        fields.append(("urldate", e["accessed"]))
    if e["quote"] or e["also"]:
        fields.append(("note", _bib(_with_also(e["quote"], e["also"], " -- "))))
    key = re.sub(r"[^A-Za-z0-9_-]", "", e["id"])
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
    return f"@article{{{key},\n{body}\n}}\n"


def _ris_value(value: str) -> str:
    return " ".join(value.split())  # RIS is one line per tag


def _ris(e: dict[str, Any]) -> str:
    lines = ["TY  - NEWS", f"TI  - {_ris_value(e['title'])}"]
    if e["author"]:
        lines.append(f"AU  - {_ris_value(e['author'])}")
    if e["site"]:
        lines.append(f"T2  - {_ris_value(e['site'])}")
    if (parts := _date_parts(e["date"])) is not None:
        lines.append(f"PY  - {parts[0]}")
        lines.append(f"DA  - {'/'.join(f'{p:02d}' if i else str(p) for i, p in enumerate(parts))}")
    if e["page"]:
        lines.append(f"SP  - {e['page']}")
    if e["url"]:
        lines.append(f"UR  - {_ris_value(e['url'])}")
    if e["path"]:
        lines.append(f"L1  - {_ris_value(e['path'])}")
    if e["accessed"]:
        lines.append(f"Y2  - {e['accessed']}")
    if e["quote"]:
        lines.append(f"N1  - {_ris_value(e['quote'])}")
    if e["also"]:
        lines.append(f"N1  - {_ris_value(e['also'])}")
    lines.append("ER  - ")
    return "\n".join(lines) + "\n\n"


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: formula-looking cells get a leading ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


CSV_COLUMNS = ("turn", "question", "number", "title", "author", "site", "date", "url", "path", "accessed",
               "quote", "attributed", "also_reported_by", "page", "answer_kind", "confidence")


def _csv(answers: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for turn, a in enumerate(answers, start=1):
        accessed = str(a.get("asked_at", ""))[:10]
        for c in a.get("citations", []):
            row = [turn, a.get("question", ""), c.get("number", 0), c.get("title", ""), c.get("byline", ""),
                   c.get("site", ""), c.get("date", ""), c.get("url", ""), c.get("source_path", ""), accessed,
                   c.get("quote", ""), "yes" if c.get("attributed") else "no",
                   also_text(c.get("also") or []).removeprefix("Also reported by: "), c.get("page") or "",
                   a.get("kind", ""), "" if a.get("confidence") is None else a["confidence"]]
            w.writerow([safe_cell(v) for v in row])
    return buf.getvalue()


KIND_WORDS = {"passages": "no sure answer: the closest passages", "refusal": "not in the sources"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_escape(text: str) -> str:
    """Markdown-inert text: every metacharacter escaped, so ``![x](http://…)`` or
    ``<script>`` in an article stays literal text."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _markdown(answers: Sequence[dict[str, Any]]) -> str:
    parts: list[str] = []
    for turn, a in enumerate(answers, start=1):
        prefix = f"t{turn}-" if len(answers) > 1 else ""
        if len(answers) > 1:
            parts.append(f"## {turn}. {md_escape(a.get('question', ''))}\n")
        else:
            parts.append(f"**{md_escape(a.get('question', ''))}**\n")
        body = md_escape(re.sub(r"\[(\d+)\]", lambda m: f"\x00{m.group(1)}\x01", a.get("text", "")))
        body = re.sub("\x00(\\d+)\x01", "[^" + prefix + "\\1]", body)
        parts.append(body + "\n")
        if a.get("kind") and a["kind"] != "answer":
            parts.append(f"_({KIND_WORDS.get(a['kind'], a['kind'])})_\n")
        elif a.get("confidence") is not None:
            parts.append(f"_(confidence {a['confidence']:.2f})_\n")
        notes = []
        for c in a.get("citations", []):
            bits = [md_escape(c.get("title", "") or c.get("source_path", ""))]
            bits += [md_escape(v) for v in (c.get("byline", ""), c.get("site", ""), c.get("date", "")) if v]
            if c.get("page"):
                bits.append(f"p. {c['page']}")
            where = c.get("url") or c.get("source_path", "")
            if where:
                bits.append(md_escape(where))
            if a.get("asked_at"):
                bits.append(f"accessed {str(a['asked_at'])[:10]}")
            note = f"[^{prefix}{c.get('number', 0)}]: " + ", ".join(bits) + "."
            if c.get("quote"):
                note += f" “{md_escape(c['quote'])}”"
            if c.get("attributed"):
                note += " (attributed by Akhbar's support check)"
            if c.get("also"):
                note += " " + md_escape(also_text(c["also"])) + "."
            notes.append(note)
        if notes:
            parts.append("\n".join(notes) + "\n")
    return "\n".join(parts)
