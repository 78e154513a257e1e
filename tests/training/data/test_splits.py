"""Story-grouped splits: no story on both sides, dev drawn only from eligible stories."""

from training.data.corpus import Paragraph
from training.data.splits import grouped_folds, grouped_split


def corpus(n_stories: int = 12, per_story: int = 3) -> list[Paragraph]:
    return [
        Paragraph(f"s{s}-p{i}", f"s{s}", "written", f"Paragraph {i} of story {s}.")
        for s in range(n_stories)
        for i in range(per_story)
    ]


def test_no_story_appears_in_two_folds():
    paragraphs = corpus()
    tested = []
    for train, test in grouped_folds(paragraphs, 4, seed=3):
        assert not {p.story_id for p in train} & {p.story_id for p in test}
        tested += [p.id for p in test]
    assert sorted(tested) == sorted(p.id for p in paragraphs)


def test_split_keeps_stories_whole():
    train, held = grouped_split(corpus(), 0.25, seed=5)
    assert not {p.story_id for p in train} & {p.story_id for p in held}
    assert len({p.story_id for p in held}) == 3


def test_dev_is_drawn_only_from_eligible_stories():
    eligible = {"s1", "s2", "s3", "s4"}
    train, held = grouped_split(corpus(), 0.5, seed=5, eligible=eligible)
    assert {p.story_id for p in held} <= eligible
    assert len({p.story_id for p in held}) == 2
    assert len(train) + len(held) == 36
