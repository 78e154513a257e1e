"""Figure registry and mention matcher.

The registry (``labels/figures.yaml``) maps surface forms to canonical names. The matching rule:

* the canonical name and each alias match as whole words, case-sensitively;
* a title from the registry's ``titles`` list may precede any name ("Sir Keir Starmer") and makes
  the surname alone a valid mention ("Mr Corbyn", "Ms Murphy");
* the bare surname matches for figures whose ``surname_alone`` is true (the default); surnames
  that are also common words ("May", "Flint", "Hunt") need a first name or a title, unless the
  person was already named in full earlier in the same text;
* a possessive ``'s`` / ``’s`` may follow a mention and is not part of it;
* a mention is never found inside a longer word or after a hyphen ("Bailey" in "Long-Bailey"),
  and a bare surname right after a different given name is someone else ("Kim Johnson");
* a surname shared by several figures resolves to the one named in full earlier in the same text,
  else to the figure marked ``default_for_surname``, else it is reported unregistered;
* people not in the registry are found by the capitalised-name rule: a known given name (from
  ``given_names.txt`` plus the registry's first names) or a title, followed by one or two
  capitalised words. Their later bare-surname mentions in the same text resolve to them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from serving.schema import labels_dir

# Word characters as Python's str.isalnum sees them (digits, superscripts and letters of every
# script), so a name never starts or ends inside a longer word; an opening quote mark may precede.
_NAME_CHARS = r"\w\-"
_WORD_END = r"(?!\w)"
_CAP_WORD = r"(?:Mc|Mac|O['’])?[A-Z][a-zà-öø-ÿ]+(?:-[A-Z][a-zà-öø-ÿ]+)?"
# Lower-case particles inside surnames ("Rhun ap Iorwerth", "Ursula von der Leyen").
_PARTICLE = r"(?:ap|ab|de|van|von|der|den|da|di|du|le|la|bin|al|el|dos|das)"
_PARTICLES = rf"(?:{_PARTICLE}\s+)*{_PARTICLE}"


@dataclass(frozen=True)
class Figure:
    """A registered person."""

    name: str
    party: str = ""
    role: str = ""
    aliases: tuple[str, ...] = ()
    surname: str = ""
    surname_alone: bool = True
    default_for_surname: bool = False

    @property
    def given_name(self) -> str:
        return self.name.split()[0]


@dataclass(frozen=True)
class FigureMention:
    """One mention of a person in a text. ``end`` excludes any possessive suffix."""

    name: str
    mention: str
    start: int
    end: int
    registered: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FigureRegistry:
    """Canonical figures plus the rules to find them in text."""

    figures: list[Figure]
    titles: tuple[str, ...] = ("Mr", "Mrs", "Ms", "Miss", "Dr", "Sir", "Dame", "Lady", "Lord")
    given_names: frozenset[str] = frozenset()
    place_words: frozenset[str] = frozenset()
    """Last words that make a "Given Surname" pair a place or a body ("George Street",
    "John Smith House"), not a person."""
    _by_name: dict[str, Figure] = field(default_factory=dict, repr=False)
    _surfaces: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _by_surname: dict[str, list[Figure]] = field(default_factory=dict, repr=False)
    _regex: re.Pattern[str] | None = field(default=None, repr=False)
    _folded: dict[str, list[Figure]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for fig in self.figures:
            if fig.name in self._by_name:
                raise ValueError(f"figure registered twice: {fig.name}")
            self._by_name[fig.name] = fig
            self._by_surname.setdefault(fig.surname, []).append(fig)
            for surface in (fig.name, *fig.aliases):
                self._surfaces.setdefault(surface, [])
                if fig.name not in self._surfaces[surface]:
                    self._surfaces[surface].append(fig.name)
        surfaces = sorted(set(self._surfaces) | set(self._by_surname), key=len, reverse=True)
        title_alt = "|".join(re.escape(t) for t in sorted(self.titles, key=len, reverse=True))
        name_alt = "|".join(re.escape(s) for s in surfaces) or r"(?!x)x"
        # A lookahead on the possible first characters lets the regex engine skip most positions
        # cheaply (about 4x faster on news text than trying every alternative everywhere).
        firsts = "".join(sorted({x[0] for x in (*surfaces, *self.titles) if x}))
        first = f"(?=[{re.escape(firsts)}])" if firsts else ""
        self._regex = re.compile(
            rf"{first}(?<![{_NAME_CHARS}])(?:(?P<title>{title_alt})\.?\s+)?(?P<name>{name_alt})"
            rf"{_WORD_END}"
        )
        self._all_given_names = self.given_names | {f.given_name for f in self.figures}
        # The given name is any capitalised word, checked against the set in code: a set lookup
        # scales to thousands of names where a regex alternation would slow every paragraph.
        surname = rf"(?:[A-Z]{{1,2}}\.?\s+)?(?:{_PARTICLES}\s+)?{_CAP_WORD}"
        self._person_regex = re.compile(
            rf"(?:(?P<title>{title_alt})\.?\s+(?P<tname>(?:{_CAP_WORD}\s+)?{_CAP_WORD})"
            rf"|(?P<gname>(?P<given>{_CAP_WORD})\s+{surname}(?:\s+{_CAP_WORD})?)"
            rf"|(?P<iname>(?P<initial>[A-Z])\.\s*(?P<isurname>{_CAP_WORD})))"
            rf"{_WORD_END}"
        )
        # Where a person match can start: a title, an initial, or a capitalised word followed
        # by another capital or a particle. A necessary condition of _person_regex (tested), so
        # the matcher tries a few positions per paragraph, not every capitalised word. The
        # pattern consumes the capital first, which lets the regex engine jump from capital to
        # capital; the conditions are then checked from one character back: not inside a word,
        # and (a lookahead inside a one-character lookbehind) followed by a possible name.
        self._person_start = re.compile(
            rf"[A-Z](?<![\w\-'’][A-Z])(?<=(?=(?:{title_alt})"
            rf"|[A-Z](?:\.|[\w'’\-]*\.?\s+(?:[A-Z]|{_PARTICLE}\s)))[A-Z])"
        )
        self._folded = {}
        for fig in self.figures:
            self._folded.setdefault(_fold(fig.given_name), []).append(fig)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(
        cls, data: dict[str, Any], given_names: frozenset[str] = frozenset()
    ) -> FigureRegistry:
        figures = []
        for i, raw in enumerate(data.get("figures") or []):
            if not isinstance(raw, dict) or not raw.get("name"):
                raise ValueError(f"figure #{i + 1} has no name: {raw!r}")
            name = str(raw["name"]).strip()
            figures.append(
                Figure(
                    name=name,
                    party=str(raw.get("party", "")),
                    role=str(raw.get("role", "")),
                    aliases=tuple(str(a) for a in raw.get("aliases") or ()),
                    surname=str(raw.get("surname") or name.split()[-1]),
                    surname_alone=bool(raw.get("surname_alone", True)),
                    default_for_surname=bool(raw.get("default_for_surname", False)),
                )
            )
        titles = tuple(data.get("titles") or cls.titles)
        given = frozenset(data.get("given_names") or ()) | given_names
        places = frozenset(data.get("place_words") or ())
        return cls(figures=figures, titles=titles, given_names=given, place_words=places)

    def to_dict(self) -> dict[str, Any]:
        """Serialisable form (saved inside every model)."""
        return {
            "titles": list(self.titles),
            "given_names": sorted(self.given_names),
            "place_words": sorted(self.place_words),
            "figures": [{**asdict(f), "aliases": list(f.aliases)} for f in self.figures],
        }

    # ------------------------------------------------------------------ lookup
    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self.figures)

    def get(self, name: str) -> Figure | None:
        return self._by_name.get(name)

    # ------------------------------------------------------------------ matching
    def find(self, text: str, context: Sequence[str] = ()) -> list[FigureMention]:
        """Every person mention in ``text``, registered or not, in order of appearance.

        ``context``: people named earlier in the same document (canonical or full names, in
        order), against which a bare surname or a title + surname in ``text`` resolves.
        """
        mentions: list[FigureMention] = []
        taken: list[tuple[int, int]] = []
        named_in_full = [n for n in context if n in self._by_name]
        # An unregistered person named in full earlier owns their surname in this document,
        # unless a registered figure with that surname was named in full too.
        others = {n.split()[-1]: n for n in context if n not in self._by_name and " " in n.strip()}
        for n in named_in_full:
            others.pop(self._by_name[n].surname, None)
        for m in self._regex.finditer(text):
            if self._other_persons_surname(text, m):
                continue
            if m.group("name") in others:
                continue
            name = self._resolve(m.group("name"), m.group("title"), named_in_full)
            if name is None:
                continue
            start = m.start("title") if m.group("title") else m.start("name")
            if not m.group("title") and m.group("name") not in self._surfaces:
                start = self._given_before(text, start, name)
            mention = FigureMention(name, text[start : m.end("name")], start, m.end("name"), True)
            if m.group("name") in self._surfaces:
                named_in_full.append(name)
            mentions.append(mention)
            taken.append((mention.start, mention.end))
        mentions.extend(self._find_unregistered(text, taken, others))
        return sorted(mentions, key=lambda x: x.start)

    def first_mentions(self, text: str, context: Sequence[str] = ()) -> list[FigureMention]:
        """One mention per person: the first (``context`` as in :meth:`find`)."""
        seen: set[str] = set()
        out = []
        for m in self.find(text, context):
            if m.name not in seen:
                seen.add(m.name)
                out.append(m)
        return out

    def document_contexts(self, texts: Sequence[str]) -> list[list[str]]:
        """For consecutive paragraphs of one document, the people named before each one.

        Paragraph ``i`` sees only paragraphs ``0..i-1`` (nothing leaks backwards): registered
        figures however they were mentioned, unregistered people when named in full.
        """
        contexts: list[list[str]] = []
        seen: list[str] = []
        for text in texts:
            contexts.append(list(seen))
            for m in self.find(text, seen):
                if m.name not in seen and (m.registered or " " in m.name):
                    seen.append(m.name)
        return contexts

    def _other_persons_surname(self, text: str, m: re.Match[str]) -> bool:
        """A bare surname right after another given name ("Kim Johnson") is someone else."""
        if m.group("title") or m.group("name") in self._surfaces:
            return False
        before = re.search(r"([A-Z][a-zà-öø-ÿ]+)\s+$", text[: m.start("name")])
        return bool(before) and before.group(1) in self._all_given_names

    def _resolve(self, surface: str, title: str | None, named_in_full: list[str]) -> str | None:
        """Canonical name for a matched surface, or None when the rule says it is not a mention."""
        if surface in self._surfaces:
            candidates = self._surfaces[surface]
            if len(candidates) == 1:
                return candidates[0]
        figs = self._by_surname.get(surface, [])
        if not title:
            figs = [f for f in figs if f.surname_alone or f.name in named_in_full]
        if not figs:
            return None
        if len(figs) == 1:
            return figs[0].name
        for name in reversed(named_in_full):
            if any(f.name == name for f in figs):
                return name
        defaults = [f for f in figs if f.default_for_surname]
        return defaults[0].name if len(defaults) == 1 else None

    def _find_unregistered(
        self, text: str, taken: list[tuple[int, int]], context: dict[str, str] | None = None
    ) -> list[FigureMention]:
        def overlaps(a: int, b: int) -> bool:
            return any(a < e and s < b for s, e in taken)

        found: list[FigureMention] = []
        for w in self._person_start.finditer(text):
            m = self._person_regex.match(text, w.start())
            if m is None or overlaps(m.start(), m.end()):
                continue
            if m.group(0).split()[-1] in self.place_words:
                continue
            if m.group("iname"):  # "J. Corbyn": only as a registered figure
                fig = self._variant(m.group("initial"), m.group("isurname"), initial=True)
                if fig is None:
                    continue
                name, start, registered = fig.name, m.start(), True
            elif m.group("gname"):
                given, rest = m.group("given"), m.group("gname")[len(m.group("given")) :]
                fig = self._variant(given, rest.split()[-1])
                if fig is not None:
                    name, registered = fig.name, True
                elif given in self._all_given_names:
                    name, registered = re.sub(r"\s+", " ", m.group("gname")), False
                else:
                    continue
                start = m.start("gname")
            else:
                name, start, registered = re.sub(r"\s+", " ", m.group("tname")), m.start(), False
            found.append(FigureMention(name, text[start : m.end()], start, m.end(), registered))
            taken.append((start, m.end()))
        # "Mr Ashworth" beside "Tom Ashworth" is one person: titled surnames take the full name.
        full = {
            **(context or {}),
            **{f.name.split()[-1]: f.name for f in found if " " in f.name and not f.registered},
        }
        found = [
            FigureMention(full[f.name], f.mention, f.start, f.end, False)
            if " " not in f.name and f.name in full
            else f
            for f in found
        ]
        # Later bare-surname mentions of an unregistered person found in full.
        for surname, name in full.items():
            for start, end in _word_spans(text, surname):
                if not overlaps(start, end):
                    found.append(FigureMention(name, surname, start, end, False))
                    taken.append((start, end))
        return found

    def _given_before(self, text: str, start: int, name: str) -> int:
        """Start of a variant spelling of the figure's given name right before its surname
        ("Sian Berry" for "Siân Berry"), else ``start``."""
        before = re.search(r"([A-Z][^\W\d_]+)\s+$", text[:start])
        fig = self._by_name.get(name)
        if before and fig and _fold(before.group(1)) == _fold(fig.given_name):
            return before.start(1)
        return start

    def _variant(self, given: str, surname: str, initial: bool = False) -> Figure | None:
        """The registered figure a near-miss spelling means: the same given name (or its
        initial) and a surname equal after removing accents, or one edit away in a surname of
        six letters or more (two in ten or more). Exactly one candidate, or None."""
        if initial:
            figs = [f for f in self._by_surname.get(surname, []) if f.given_name[0] == given]
            return figs[0] if len(figs) == 1 else None
        folded_surname = _fold(surname)
        hits = []
        for fig in self._folded.get(_fold(given), []):
            target = _fold(fig.surname)
            if target == folded_surname:
                hits.append(fig)
            elif len(target) >= 6 and _within(
                target, folded_surname, 2 if len(target) >= 10 else 1
            ):
                hits.append(fig)
        return hits[0] if len(hits) == 1 else None


def _fold(word: str) -> str:
    """Lower case without accents ("Siân" -> "sian")."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _within(a: str, b: str, k: int) -> bool:
    """Levenshtein distance of ``a`` and ``b`` at most ``k`` (banded dynamic programme)."""
    if abs(len(a) - len(b)) > k:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > k:
            return False
        prev = cur
    return prev[-1] <= k


def _is_word_char(c: str) -> bool:
    """``re``'s ``\\w`` for one character."""
    return c.isalnum() or c == "_"


def _word_spans(text: str, word: str) -> list[tuple[int, int]]:
    """Where ``word`` stands as a whole name in ``text``: not after a word character or a hyphen,
    not before a word character. Plain string search, because every unregistered surname would
    otherwise compile a regular expression of its own."""
    spans: list[tuple[int, int]] = []
    i = text.find(word) if word else -1
    while i >= 0:
        end = i + len(word)
        before = text[i - 1] if i else " "
        if not (_is_word_char(before) or before == "-") and not (
            end < len(text) and _is_word_char(text[end])
        ):
            spans.append((i, end))
            i = text.find(word, end)
        else:
            i = text.find(word, i + 1)
    return spans


def load_given_names(path: str | Path) -> frozenset[str]:
    """Read a one-name-per-line file; ``#`` starts a comment."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return frozenset(ln.strip() for ln in lines if ln.strip() and not ln.startswith("#"))


def load_registry(path: str | Path | None = None) -> FigureRegistry:
    """Load ``figures.yaml`` (default: in ``labels_dir()``) and the given-name list beside it."""
    path = Path(path) if path else labels_dir() / "figures.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"figure registry not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from exc
    names_file = path.parent / "given_names.txt"
    given = load_given_names(names_file) if names_file.exists() else frozenset()
    try:
        return FigureRegistry.from_dict(data, given)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
