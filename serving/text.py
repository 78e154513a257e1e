"""Splitting article text into paragraphs (shared by batch labelling and the service).

A paragraph is one line of text: articles pasted or scraped into plain text put each paragraph on
its own line, sometimes with blank lines between them, sometimes without. Every line break is a
boundary, so blank lines and single newlines both separate paragraphs; surrounding whitespace is
stripped and empty paragraphs are dropped.
"""

from __future__ import annotations

import re

MAX_PARAGRAPH_CHARS = 10_000
"""The longest paragraph accepted by default, everywhere: the service's per-paragraph limit
(``STANCEFRAME_MAX_TEXT_CHARS``) and batch labelling's ``--max-chars``."""

# The line boundaries of ``str.splitlines`` ("\r\n" first, so it counts as one boundary).
LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def split_paragraphs(text: str) -> list[tuple[int, int, str]]:
    """Paragraphs of ``text`` as ``(start, end, paragraph)`` with ``text[start:end] == paragraph``.

    Splitting a text line by line gives the same paragraphs as splitting it whole (offsets shifted
    by each line's start), which lets readers stream large files.
    """
    out: list[tuple[int, int, str]] = []
    pos = 0
    for match in [*LINE_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        segment = text[pos:end]
        paragraph = segment.strip()
        if paragraph:
            start = pos + len(segment) - len(segment.lstrip())
            out.append((start, start + len(paragraph), paragraph))
        if match:
            pos = match.end()
    return out


# A sentence ends at . ! ? (or …), after any closing quotes or brackets, before whitespace and a
# capital, digit or opening quote; not after a title, an initial or a common abbreviation.
_SENTENCE_END = re.compile(
    r"""(?<=[.!?\u2026])(["'\u201d\u2019)\]]*)\s+(?=["'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u00de])"""
)
_NO_BREAK_AFTER = frozenset(
    "mr mrs ms mx dr prof sir st rev revd gen col lt sgt capt cllr hon rt no nos vs v etc "
    "e.g i.e cf approx inc ltd co corp dept govt jan feb mar apr jun jul aug sep sept oct "
    "nov dec u.s u.k".split()
)


def split_sentences(text: str) -> list[tuple[int, int, str]]:
    """Sentences of ``text`` as ``(start, end, sentence)`` with ``text[start:end] == sentence``.

    A rule-based splitter for news prose: quotes stay with the sentence they close, and titles
    ("Mr."), initials ("J. Smith") and common abbreviations do not end a sentence.
    """
    out: list[tuple[int, int, str]] = []
    start = len(text) - len(text.lstrip())
    for match in _SENTENCE_END.finditer(text):
        head = text[start : match.start()]
        word = head.rsplit(None, 1)[-1].lower().rstrip(".!?\u2026") if head.split() else ""
        if word in _NO_BREAK_AFTER or (len(word) == 1 and word.isalpha()):
            continue
        end = match.end(1)  # closing quotes and brackets stay with their sentence
        if end > start:
            out.append((start, end, text[start:end]))
        start = match.end()
    end = len(text.rstrip())
    if end > start:
        out.append((start, end, text[start:end]))
    return out
