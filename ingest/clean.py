"""Which lines of an article are the article: boilerplate detection, line by line.

Dropped: "اقرأ أيضاً" / "Read also" blocks and their link lists, related-story headlines
(short lines that do not end like a sentence), share/follow/subscribe prompts, and site
footers (copyright lines). Everything works on (start, end) spans into the original
text, which is never rewritten, so offsets stay citable.
"""

from __future__ import annotations

import re

_READ_ALSO = re.compile(
    r"^\s*(?:اقرأ|إقرأ|اقرا|إقرا)\s+(?:أيضا|أيضاً|أيضًا|ايضا|ايضاً)|^\s*(?:شاهد|طالع)\s+(?:أيضا|أيضاً|أيضًا|ايضا)"
    r"|^\s*(?:اخبار|أخبار|مقالات|موضوعات)\s+(?:ذات صلة|متعلقة)|^\s*(?:read (?:also|more)|see also|related"
    r"(?: articles| stories| news| content)?|more from)\s*:?\s*$",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"^\s*(?:[-–—•*·▪]|\d+[.)])\s+")
_ENDS_SENTENCE = re.compile(r"[.!?\u061f\u061b\u2026:\"'\u00bb\u201d)]\s*$")
_PROMPT = re.compile(
    r"^\s*(?:شارك|شاركها|شارك الخبر|شارك المقال|تابعونا|تابعنا|تابعوا|اشترك|اشتركوا|للاشتراك|اضغط هنا|"
    r"انقر هنا|حمل تطبيق|حمّل تطبيق|share(?: this)?|follow us|subscribe|sign up|click here|download our app|"
    r"tweet|like us on)\b",
    re.IGNORECASE,
)
_FOOTER = re.compile(r"©|جميع الحقوق محفوظة|حقوق النشر|all rights reserved|copyright\s+(?:©\s*)?\d{4}", re.IGNORECASE)
HEADLINE_MAX_WORDS = 16
PROMPT_MAX_WORDS = 14


def is_headline(line: str) -> bool:
    """A short line that does not end like a sentence: a link to another story."""
    return len(line.split()) <= HEADLINE_MAX_WORDS and not _ENDS_SENTENCE.search(line)


def is_boilerplate(line: str) -> bool:
    words = len(line.split())
    return bool(
        (_PROMPT.search(line) and words <= PROMPT_MAX_WORDS)
        or (_FOOTER.search(line) and words <= 25)
    )


def body_spans(text: str, lines: list[tuple[int, int]], drop_headlines: bool = True) -> list[tuple[int, int]]:
    """The spans of ``lines`` that are article text, whitespace-trimmed, adjacent ones merged.

    ``drop_headlines`` is off for text that has already been extracted as an article body
    (HTML, JSON): there, a short unpunctuated line is more often a subheading than a link.
    """
    kept: list[tuple[int, int]] = []
    in_read_also = False
    for a, b in lines:
        line = text[a:b]
        if not line.strip():
            continue
        if _READ_ALSO.search(line):
            in_read_also = True
            continue
        if in_read_also and (_LIST_ITEM.match(line) or is_headline(line)):
            continue
        in_read_also = False
        if is_boilerplate(line):
            continue
        short_item = bool(_LIST_ITEM.match(line)) and len(line.split()) <= HEADLINE_MAX_WORDS
        if drop_headlines and (is_headline(line) or short_item):
            continue
        a += len(line) - len(line.lstrip())
        b -= len(line) - len(line.rstrip())
        kept.append((a, b))
    return merge_adjacent(text, kept)


def merge_adjacent(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join spans separated only by whitespace, so chunks can run across paragraphs but
    never across removed boilerplate."""
    if not spans:
        return []
    merged = [spans[0]]
    for a, b in spans[1:]:
        pa, pb = merged[-1]
        if not text[pb:a].strip():
            merged[-1] = (pa, b)
        else:
            merged.append((a, b))
    return merged


def line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, newline excluded."""
    spans, pos = [], 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        spans.append((pos, pos + len(body)))
        pos += len(line)
    return spans
