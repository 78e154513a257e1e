import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serving.text import split_paragraphs, split_sentences
from tests.conftest import REPO


def test_blank_lines_and_single_newlines_both_separate_paragraphs():
    text = "  First one.  \n\nSecond one.\nThird one.\n\n\n   \nFourth.\n"
    parts = split_paragraphs(text)
    assert [p for _, _, p in parts] == ["First one.", "Second one.", "Third one.", "Fourth."]
    assert all(text[start:end] == p for start, end, p in parts)


def test_windows_and_unicode_line_breaks_and_empty_input():
    text = "a\r\nb\rc\u2029d"
    assert [p for _, _, p in split_paragraphs(text)] == ["a", "b", "c", "d"]
    assert split_paragraphs("") == [] and split_paragraphs(" \n\t\n") == []


def test_splitting_line_by_line_equals_splitting_whole():
    text = (REPO / "seeds" / "000_545b1bab8589e480.txt").read_text(encoding="utf-8")
    by_line, offset = [], 0
    for line in text.splitlines(keepends=True):
        by_line += [(s + offset, e + offset, p) for s, e, p in split_paragraphs(line)]
        offset += len(line)
    assert by_line == split_paragraphs(text)


def test_offsets_match_the_annotated_seed_paragraphs():
    """Every seed record is a paragraph of its source file at the recorded offsets."""
    records = [json.loads(line) for line in (REPO / "labels/corpus/seeds.jsonl").open()]
    split = {}
    for rec in records:
        if rec["source"] not in split:
            text = (REPO / rec["source"]).read_text(encoding="utf-8")
            split[rec["source"]] = set(split_paragraphs(text))
        assert (rec["source_start"], rec["source_end"], rec["text"]) in split[rec["source"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Labour lost. The leader stayed.", ["Labour lost.", "The leader stayed."]),
        ("Mr. Smith spoke. Dr. Okafor left.", ["Mr. Smith spoke.", "Dr. Okafor left."]),
        (
            "J. K. Patel won it. Nobody expected that.",
            ["J. K. Patel won it.", "Nobody expected that."],
        ),
        ('"Why?" she asked. "Ask HQ."', ['"Why?" she asked.', '"Ask HQ."']),
        (
            "\u201cIt was the office,\u201d he said. Fine.",
            ["\u201cIt was the office,\u201d he said.", "Fine."],
        ),
        ("Turnout was 67.3 per cent. Labour fell.", ["Turnout was 67.3 per cent.", "Labour fell."]),
        (
            "It fell in the U.K. and it fell in France.",
            ["It fell in the U.K. and it fell in France."],
        ),
        ("No full stop at the end", ["No full stop at the end"]),
        ("  ", []),
    ],
)
def test_sentences_split_at_ends_but_not_at_titles_initials_or_decimals(text, expected):
    assert [s for _, _, s in split_sentences(text)] == expected


@given(st.text(alphabet=st.sampled_from(list("Ab .!?\"'\u201d3 M r")), max_size=60))
def test_sentence_offsets_slice_the_text_in_order_without_overlap(text):
    spans = split_sentences(text)
    assert all(text[a:b] == s and s == s.strip() and s for a, b, s in spans)
    assert all(b1 <= a2 for (_, b1, _), (a2, _, _) in zip(spans, spans[1:], strict=False))
    assert "".join(s for _, _, s in spans).replace(" ", "") == "".join(text.split())
