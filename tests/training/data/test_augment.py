"""Name-swap augmentation on tiny inline paragraphs and the repo's registry."""

import random

from training.data.augment import SWAP_SUFFIX, name_swap, swap_names
from training.data.corpus import FigureLabel, Paragraph


def para(text: str, *figures: tuple[str, str, str], frames=("blame_leadership",)) -> Paragraph:
    labels = tuple(
        FigureLabel(name, mention, text.index(mention), text.index(mention) + len(mention), sent)
        for name, mention, sent in figures
    )
    return Paragraph("p1", "s1", "written", text, tuple(frames), labels)


def assert_offsets_hold(p: Paragraph) -> None:
    for f in p.figures:
        assert p.text[f.start : f.end] == f.mention


def test_full_name_and_titled_surname_are_swapped_within_the_party(registry):
    p = para(
        "Boris Johnson's aides lost the seat, and Mr Johnson knew it.",
        ("Boris Johnson", "Boris Johnson", "negative"),
    )
    copy = swap_names(p, registry, random.Random(0))
    new = copy.figures[0].name
    assert new != "Boris Johnson"
    assert registry.get(new).party == "Conservative"
    assert "Johnson" not in copy.text
    assert f"Mr {registry.get(new).surname} knew it" in copy.text
    assert copy.frames == p.frames and copy.figures[0].sentiment == "negative"
    assert copy.id == "p1" + SWAP_SUFFIX and copy.story_id == p.story_id
    assert_offsets_hold(copy)


def test_surname_that_is_a_common_word_is_left_alone_when_untitled(registry):
    p = para(
        "Theresa May fought the campaign in May and lost her majority.",
        ("Theresa May", "Theresa May", "negative"),
    )
    copy = swap_names(p, registry, random.Random(1))
    assert copy.text.endswith("campaign in May and lost her majority.")
    assert "Theresa" not in copy.text
    assert_offsets_hold(copy)


def test_unregistered_and_alias_mentions_are_kept(registry):
    p = para(
        "Jezza's team was blamed by Mhairi Dunlop.",
        ("Jeremy Corbyn", "Jezza", "negative"),
        ("Mhairi Dunlop", "Mhairi Dunlop", "neutral"),
    )
    assert swap_names(p, registry, random.Random(0)) is None


def test_rate_zero_adds_nothing_and_rate_one_adds_one_copy_per_swappable_paragraph(registry):
    swappable = para("Rishi Sunak lost.", ("Rishi Sunak", "Rishi Sunak", "neutral"))
    plain = para("Head office lost the election.", frames=("blame_leadership",))
    assert name_swap([swappable, plain], registry, 0.0, 13) == [swappable, plain]
    out = name_swap([swappable, plain], registry, 1.0, 13)
    assert len(out) == 3 and out[2].id.endswith(SWAP_SUFFIX)
    assert name_swap([swappable, plain], registry, 1.0, 13) == out  # seeded
