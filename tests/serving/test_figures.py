import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from serving.figures import FigureRegistry


def names(registry, text):
    return [(m.name, m.mention) for m in registry.find(text)]


def test_full_name_and_alias_resolve_to_canonical(registry):
    assert names(registry, "Lady Nugee and Jezza") == [
        ("Emily Thornberry", "Lady Nugee"),
        ("Jeremy Corbyn", "Jezza"),
    ]


def test_possessive_is_not_part_of_the_mention(registry):
    [m] = registry.find("Corbyn's aides")
    assert (m.name, m.mention, m.end) == ("Jeremy Corbyn", "Corbyn", 6)
    [m] = registry.find("Starmer’s pitch")
    assert m.mention == "Starmer"


def test_titles_attach_to_surname(registry):
    assert names(
        registry, "Ms Murphy told Mr Corbyn, Sir Keir Starmer and Dame Margaret Hodge"
    ) == [
        ("Karie Murphy", "Ms Murphy"),
        ("Jeremy Corbyn", "Mr Corbyn"),
        ("Keir Starmer", "Sir Keir Starmer"),
        ("Margaret Hodge", "Dame Margaret Hodge"),
    ]


def test_shared_surname_follows_the_full_name_named_before(registry):
    text = (
        "David Miliband wrote to Ed Miliband. Miliband replied. "
        "Later David Miliband left, and Mr Miliband sighed."
    )
    resolved = [n for n, _ in names(registry, text)]
    assert resolved == [
        "David Miliband",
        "Ed Miliband",
        "Ed Miliband",
        "David Miliband",
        "David Miliband",
    ]


def test_shared_surname_without_context_uses_documented_default(registry):
    assert names(registry, "Miliband said no.") == [("Ed Miliband", "Miliband")]


def test_common_word_surname_needs_first_name_or_title(registry):
    assert names(registry, "May brings local elections. Flint is a stone.") == []
    assert names(registry, "Mrs May left.") == [("Theresa May", "Mrs May")]
    assert names(registry, "Caroline Flint warned them. Flint was right.") == [
        ("Caroline Flint", "Caroline Flint"),
        ("Caroline Flint", "Flint"),
    ]


def test_no_match_inside_longer_words_or_hyphenated_names(registry):
    assert names(registry, "Corbynism and Corbynistas") == []
    assert names(registry, "Rebecca Long-Bailey") == [
        ("Rebecca Long-Bailey", "Rebecca Long-Bailey")
    ]


def test_lowercase_word_is_not_a_name(registry):
    assert names(registry, "they want to hunt and fish") == []


def test_unregistered_people_found_by_given_name_or_title(registry):
    found = registry.find("Candidate Ross Semple lost; Semple blamed Dr Smithers.")
    assert [(m.name, m.registered) for m in found] == [
        ("Ross Semple", False),
        ("Ross Semple", False),
        ("Smithers", False),
    ]


def test_organisations_are_not_people(registry):
    assert names(registry, "The Labour Party and the Sunday Times in Golders Green.") == []


def test_registry_round_trips_through_dict(registry):
    again = FigureRegistry.from_dict(registry.to_dict())
    assert len(again) == len(registry)
    assert names(again, "Mr Corbyn") == [("Jeremy Corbyn", "Mr Corbyn")]


def test_name_after_opening_quote_is_found(registry):
    assert names(registry, "'Corbyn was right,' she said.") == [("Jeremy Corbyn", "Corbyn")]


def test_surname_after_another_given_name_is_another_person(registry):
    found = registry.find("Kim Johnson, the Liverpool MP, disagreed with Johnson.")
    assert [(m.name, m.registered) for m in found] == [
        ("Kim Johnson", False),
        ("Boris Johnson", True),
    ]


def test_knighted_alias(registry):
    assert names(registry, "Sir Ed said") == [("Ed Davey", "Sir Ed")]


def test_unregistered_person_in_full_and_as_mr_is_one_person(registry):
    text = "Tom Keddle, the agent, was furious. Mr Keddle said HQ never called."
    assert {m.name for m in registry.find(text)} == {"Tom Keddle"}
    assert [m.name for m in registry.first_mentions(text)] == ["Tom Keddle"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Jeremy Corbyn",
                "Mr Corbyn's",
                "Corbynite",
                "Tom Ashworth",
                "Ms Lund",
                "May",
                "Starmer",
                "Keir",
                "aides",
                "blamed",
                "the",
                ",",
                ".",
                "'",
                "’s",
                "\n",
                "Émile",
                "Kim Johnson",
                "McDonnell",
                "O'Brien",
                "-",
                "x",
            ]
        )
        | st.text(max_size=6),
        max_size=25,
    ).map(" ".join)
)
@example(text="Kim Johnson Aa¹")  # a superscript digit is alphanumeric: no name ends before it
@example(text="2Kim Johnson spoke")
def test_matcher_never_raises_and_mentions_are_whole_words_inside_the_text(registry, text):
    for m in registry.find(text):
        assert 0 <= m.start < m.end <= len(text)
        assert text[m.start : m.end] == m.mention
        assert m.start == 0 or not text[m.start - 1].isalnum()
        assert m.end == len(text) or not text[m.end].isalnum()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jeremy Corbin spoke first.", "Jeremy Corbyn"),  # one edit in a long surname
        ("J. Corbyn spoke first.", "Jeremy Corbyn"),  # an initial
        ("Emily Thornbery spoke.", "Emily Thornberry"),
        ("Keir Starmer spoke.", "Keir Starmer"),
    ],
)
def test_near_miss_spellings_of_registered_names_resolve(registry, text, expected):
    [m] = registry.first_mentions(text)
    assert (m.name, m.registered) == (expected, True)


@pytest.mark.parametrize(
    "text",
    [
        "Jeremy Corbett spoke first.",  # two edits: another person
        "Jeremy Hunt spoke first.",  # another registered figure or another person
        "A Labour source spoke.",  # an article is no initial
        "Emily Thornton spoke.",
    ],
)
def test_near_misses_that_must_not_match_a_registered_figure(registry, text):
    for m in registry.first_mentions(text):
        assert m.name not in ("Jeremy Corbyn", "Emily Thornberry")


def test_accents_are_folded_when_matching_a_registered_name():
    reg = FigureRegistry.from_dict({"figures": [{"name": "Siân Berry"}]})
    [m] = reg.first_mentions("Sian Berry won the seat.")
    assert (m.name, m.mention, m.registered) == ("Siân Berry", "Sian Berry", True)


def test_surname_particles_and_middle_initials_belong_to_the_name():
    reg = FigureRegistry.from_dict({"figures": []}, frozenset({"Rhun", "Andrew"}))
    names = [m.name for m in reg.first_mentions("Rhun ap Iorwerth met Andrew RT Davies.")]
    assert names == ["Rhun ap Iorwerth", "Andrew RT Davies"]


def test_unknown_capitalised_pairs_are_not_people():
    reg = FigureRegistry.from_dict({"figures": []}, frozenset({"Rhun"}))
    assert reg.first_mentions("The Labour Party met in Central London.") == []


def test_document_context_resolves_later_titles_and_bare_surnames():
    reg = FigureRegistry.from_dict(
        {"figures": [{"name": "Caroline Flint", "surname_alone": False}]}, frozenset({"Grace"})
    )
    texts = [
        "Grace Okafor, the agent in Don Valley, and Caroline Flint spoke first.",
        "Ms Okafor said the leaflets never came. Flint agreed.",
        "Okafor left at midnight.",
    ]
    contexts = reg.document_contexts(texts)
    assert contexts == [[], ["Grace Okafor", "Caroline Flint"], ["Grace Okafor", "Caroline Flint"]]
    second = reg.first_mentions(texts[1], contexts[1])
    assert [(m.name, m.mention) for m in second] == [
        ("Grace Okafor", "Ms Okafor"),
        ("Caroline Flint", "Flint"),
    ]
    assert [m.name for m in reg.first_mentions(texts[2], contexts[2])] == ["Grace Okafor"]


def test_a_surname_does_not_resolve_to_a_full_name_that_comes_later():
    reg = FigureRegistry.from_dict(
        {"figures": [{"name": "Caroline Flint", "surname_alone": False}]}, frozenset({"Grace"})
    )
    texts = ["Ms Okafor and Flint said nothing.", "Grace Okafor and Caroline Flint spoke later."]
    first = reg.first_mentions(texts[0], reg.document_contexts(texts)[0])
    assert [m.name for m in first] == ["Okafor"]  # a title alone: reported as written


def test_context_person_takes_a_surname_shared_with_a_registered_figure(registry):
    context = ["Tom Ashworth"]
    [m] = registry.first_mentions("Mr Ashworth said HQ never called.", context)
    assert (m.name, m.registered) == ("Tom Ashworth", False)


def test_place_words_end_a_pair_that_is_not_a_person():
    reg = FigureRegistry.from_dict(
        {"figures": [], "place_words": ["Street", "House"]}, frozenset({"George", "John", "Sarah"})
    )
    text = "Activists met on George Street and at John Smith House with Sarah Okafor."
    assert [m.name for m in reg.first_mentions(text)] == ["Sarah Okafor"]


def test_people_outside_the_registry_with_given_names_of_many_origins(registry):
    text = "Humza Yousaf, Kemi Badenoch, Rhun ap Iorwerth and Anas Sarwar spoke."
    names = [m.name for m in registry.first_mentions(text)]
    assert names == ["Humza Yousaf", "Kemi Badenoch", "Rhun ap Iorwerth", "Anas Sarwar"]


pieces = st.sampled_from(
    [
        "Mr",
        "Mr.",
        "Dr",
        "Sir",
        "Lord",
        "J.",
        "J.Corbyn",
        "AB",
        "ap",
        "von der",
        "de",
        "Rhun",
        "Iorwerth",
        "Jeremy",
        "Corbyn",
        "O'Brien",
        "McDonnell",
        "Jean-Luc",
        "Émile",
        "Tom",
        "Keddle",
        "the",
        "said",
        "Labour",
        "HQ",
        "x",
        "1",
        ",",
        ".",
        "'",
        "-",
    ]
)
whitespace = st.sampled_from([" ", "  ", "\n", "\t", "", ". "])
texts = st.lists(st.tuples(pieces, whitespace), max_size=14).map(
    lambda parts: "".join(p + w for p, w in parts)
)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_candidate_starts_include_every_position_where_a_person_can_start(registry, text):
    # The matcher only tries the prefilter's positions, so it must not skip a real start.
    starts = {m.start() for m in registry._person_start.finditer(text)}
    for i, char in enumerate(text):
        if char.isupper() and not (i and (text[i - 1].isalnum() or text[i - 1] in "_-'’")):
            if registry._person_regex.match(text, i):
                assert i in starts, (text, i)


@settings(max_examples=300, deadline=None)
@given(texts, pieces.filter(lambda p: p.strip(" .,'-")))
def test_word_spans_find_a_surname_where_the_word_boundary_regex_does(text, word):
    import re

    from serving.figures import _word_spans

    expected = [m.span() for m in re.finditer(rf"(?<![\w\-]){re.escape(word)}(?!\w)", text)]
    assert _word_spans(text, word) == expected
