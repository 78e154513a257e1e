import json

from serving.text import split_paragraphs
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
