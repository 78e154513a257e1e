"""Splitting article text into paragraphs (shared by batch labelling and the service).

A paragraph is one line of text: articles pasted or scraped into plain text put each paragraph on
its own line, sometimes with blank lines between them, sometimes without. Every line break is a
boundary, so blank lines and single newlines both separate paragraphs; surrounding whitespace is
stripped and empty paragraphs are dropped.
"""

from __future__ import annotations

import re

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
