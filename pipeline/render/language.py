"""One report language: its wording file, number and date formats, plural forms and names from the plan.

The context builder asks a `Language` for every word it puts into the report, so the Kazakh and the
Russian copies come from the same code with the language as a parameter. What differs lives in data:
`pipeline/data/kazakh.yaml` / `russian.yaml` (wording, month case forms, the rule for the Kazakh dative
ending of a number), the plan file (`name` / `name_ru`, `label` / `label_ru`, …) and Babel (number
formats, CLDR plural categories, Russian month names).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, Literal

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern

from pipeline.plan.model import Unit
from pipeline.texts import load_data

NBSP = "\u00a0"
LanguageCode = Literal["kk", "ru"]
#: language → wording file in pipeline/data/ and the attribute suffix of its names in the plan file.
FILES: dict[str, tuple[str, str]] = {"kk": ("kazakh.yaml", ""), "ru": ("russian.yaml", "_ru")}
#: What a date does in a sentence; each wording file maps a role to a month form («тамыздағы», «августа»).
DateRole = Literal["as_of", "until", "since", "on", "full"]
#: What a list of units does in a sentence: the subject, the place («… ауданында»), the owner («… ауданының»).
UnitRole = Literal["subject", "place", "owner"]
_INITIAL_SPACE = re.compile(r"(?<!\w)(\w\.)[ \t]+(?=\w)")
#: Letters of the Kazakh alphabet Russian does not have: a text holding one is not Russian.
KAZAKH_ONLY = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
_WORD = re.compile(r"[а-яё]+")


@cache
def _russian_signs() -> tuple[frozenset[str], tuple[str, ...]]:
    """The words and endings by which a text without Kazakh letters is taken for Russian (data/recognise.yaml)."""
    signs = load_data("recognise.yaml")["russian"]
    words, endings = signs["words"], signs["endings"]
    lists = isinstance(words, list) and isinstance(endings, list)
    if not (lists and all(isinstance(w, str) and w for w in words + endings)):
        raise ValueError("recognise.yaml: russian.words and russian.endings must be lists of words")
    return frozenset(w.lower() for w in words), tuple(e.lower() for e in endings)


#: How many formatted numbers a language keeps (a few MB at most).
_FORMATTED_MAX = 100_000


@cache
def _pattern(pattern: str) -> NumberPattern:
    return parse_pattern(pattern)


@dataclass(frozen=True)
class Language:
    code: LanguageCode

    @cached_property
    def words(self) -> dict[str, Any]:
        return load_data(FILES[self.code][0])

    @cached_property
    def locale(self) -> Locale:
        return Locale.parse(self.code)

    # --- names from the plan -----------------------------------------------------------------------------
    def pick(self, obj: object, field: str) -> Any:
        """`obj.<field>` in this language: `name_ru` for Russian, falling back to the Kazakh `name`."""
        suffix = FILES[self.code][1]
        value = getattr(obj, field + suffix, None) if suffix else None
        return value if value else getattr(obj, field)

    def unit_name(self, unit: Unit) -> str:
        # «г.\u00a0Алматы»: a line never breaks after the abbreviation, as after an initial.
        return self.nbsp_initials(str(self.pick(unit, "name")))

    # --- numbers ----------------------------------------------------------------------------------------
    @staticmethod
    def missing(value: object) -> bool:
        return value is None or (isinstance(value, float) and math.isnan(value))

    @cached_property
    def _formatted(self) -> dict[tuple[str, type, str], str]:
        return {}

    def _decimal(self, value: float, pattern: str) -> str:
        # Babel's apply is ~25 µs; a national report formats the same few thousand numbers 60,000 times.
        # repr keeps -0.0, nan and int/float apart; the bound keeps a long-lived portal process small.
        key = (pattern, value.__class__, repr(value))
        cache = self._formatted
        text = cache.get(key)
        if text is None:
            if len(cache) >= _FORMATTED_MAX:
                cache.clear()
            text = cache[key] = _pattern(pattern).apply(value, self.locale)
        return text

    def count(self, value: float | int | None) -> str:
        if self.missing(value):
            return str(self.words["numbers"]["no_value"])
        return self._decimal(round(float(value)), "#,##0")  # type: ignore[arg-type]

    def amount(self, tenge: float | int | None) -> str:
        """Tenge shown in thousands with one decimal: 40 338 512 → «40 338,5»."""
        if self.missing(tenge):
            return str(self.words["numbers"]["no_value"])
        return self._decimal(float(tenge) / 1000.0, "#,##0.0")  # type: ignore[arg-type]

    def percent(self, percent: float) -> str:
        return self.words["numbers"]["percent"].format(value=self._decimal(percent, "#,##0.0"))

    def counted(self, n: float | int | None, noun: str) -> str:
        """«5 104 балаға», «1 ребёнку» / «2 детям»: the noun's form chosen by Babel's CLDR plural rule."""
        return self.counted_with(n, self.words["plurals"][noun])

    def plural(self, n: float | int | None, forms: Mapping[str, str]) -> str:
        """The form of `forms` (CLDR category → text) Babel's plural rule picks for the whole number `n`;
        "other" when the category is missing (a Kazakh noun has one form)."""
        number = 0 if self.missing(n) else abs(round(float(n)))  # type: ignore[arg-type]
        return str(forms.get(self.locale.plural_form(number), forms["other"]))

    def counted_with(self, n: float | int | None, forms: Mapping[str, str]) -> str:
        """A number and its noun (CLDR category → form, e.g. a plan figure's noun in one case)."""
        return f"{self.count(n)}{NBSP}{self.plural(n, forms)}"

    def percent_by(self, percent: float) -> str:
        """A change in percent as the sentence needs it: «95,8%-ға» (the ending sits on «пайыз»), «95,8%»."""
        return str(self.words["numbers"]["percent_by"]).format(value=self._decimal(percent, "#,##0.0"))

    def number_ending(self, n: float) -> str:
        """The Kazakh dative ending of a whole number as it is spoken: 2 091 → «ге» (бір), 40 → «қа» (қырық).

        The ending follows the last spoken word: the last non-zero digit's word, or «жүз», «мың», «миллион»
        for round numbers. The table lives in the wording file; a language without it has no ending.
        """
        rule = self.words.get("number_endings")
        if not rule:
            return ""
        value = abs(int(round(n)))
        if value == 0:
            return str(rule["zero"])
        if value % 10:
            return str(rule["ones"][value % 10])
        if value % 100:
            return str(rule["tens"][(value % 100) // 10])
        if value % 1000:
            return str(rule["hundred"])
        if value % 1_000_000:
            return str(rule["thousand"])
        return str(rule["million"])

    # --- dates ------------------------------------------------------------------------------------------
    def month(self, date: dt.date, role: DateRole) -> str:
        months = self.words.get("months")
        case = self.words["dates"]["roles"][role]
        if months:
            return str(months[date.month][case])
        # Babel's "format" month names are the genitive in Russian («августа»): what a date needs.
        return str(self.locale.months["format"]["wide"][date.month])

    def day(self, date: dt.date, role: DateRole, *, year: bool = True) -> str:
        """«2019 жылғы 12 наурыздағы» / «12 марта 2019 года»; no-break spaces keep a date on one line."""
        day_month = f"{date.day}{NBSP}{self.month(date, role)}"
        if not year:
            return day_month
        return str(self.words["dates"]["with_year"]).format(day_month=day_month, year=date.year)

    def table_date(self, date: dt.date) -> str:
        """Babel's long format (Kazakh «<year> ж. <day> <month>», Russian «<day> <month's genitive> <year> г.»):
        for table headers, not running text."""
        return str(format_date(date, "long", locale=self.code))

    # --- words ------------------------------------------------------------------------------------------
    def lower_first(self, text: str) -> str:
        """«Көмек …» → «көмек …»; acronyms, quotations and the proper nouns the wording file lists keep
        their capital («Білім күніне …»)."""
        if not text[:1].isalpha() or text[1:2].isupper():
            return text
        if any(text.startswith(p) for p in self.words.get("proper_nouns", [])):
            return text
        return text[:1].lower() + text[1:]

    @staticmethod
    def upper_first(text: str) -> str:
        return text[:1].upper() + text[1:]

    @staticmethod
    def nbsp_initials(name: str) -> str:
        return _INITIAL_SPACE.sub(lambda m: m.group(1) + NBSP, name)

    def join_groups(self, pieces: Sequence[str]) -> str:
        """Lists joined into one: with commas only when one of them has its own «және» / «и» (a second
        conjunction would read twice: «Алау қаласында және Бірлік және Достық аудандарында»)."""
        conj = f" {self.words['lists']['and']} "
        return ", ".join(pieces) if any(conj in p for p in pieces) else self.join(pieces)

    def join(self, parts: Sequence[str]) -> str:
        conj = self.words["lists"]["and"]
        if len(parts) <= 1:
            return "".join(parts)
        return ", ".join(parts[:-1]) + f" {conj} " + parts[-1]

    def unit_form(self, unit: Unit, role: UnitRole) -> str | None:
        """One unit's name in the case its role needs: «Бірлік ауданында», «Бирликском районе» (a Russian
        preposition stays in the sentence pattern: «в {units}»). None when the plan gives no such form (a
        Russian copy of a plan without `cases_ru`)."""
        return self._form(unit, self.words["lists"]["roles"][role])

    def _form(self, unit: Unit, case: str) -> str | None:
        if case == "nominative":
            return self.unit_name(unit)
        cases = unit.cases if self.code == "kk" else unit.cases_ru
        return None if cases is None else self.nbsp_initials(str(getattr(cases, case)))

    def _short(self, unit: Unit, case: str) -> str | None:
        """A unit's own word without the noun a group shares: the case form less the wording file's
        singular noun of its kind («X-ском» from «X-ском районе», «X» from «X облысында»); a Kazakh kind
        without a singular noun there takes the plan's `short` (a district's name without «ауданы»)."""
        noun = self.words["lists"].get("singular", {}).get(unit.kind, {}).get(case)
        if self.code == "kk" and not noun:
            return unit.short
        full = self._form(unit, case)
        if full is None or not noun or not full.endswith(" " + noun):
            return None
        return full[: -len(noun) - 1]

    def units(self, units: Sequence[Unit], role: UnitRole, *, notes: Mapping[str, str] | None = None,
              noun: Mapping[str, str] | None = None) -> str:
        """A list of units in the form its role needs: «Алау қаласында, Бірлік, Достық және Жұлдыз
        аудандарында» / «г. Алау, Бирликском и Достыкском районах» (districts share one plural noun,
        a city keeps its own form from the plan). A unit with a note («түсіндірмесі: «…»») stands apart with
        the note after it. Where the plan lacks a case form, `noun` (the plan's unit noun in that case,
        CLDR category → form) counts the units and the names follow in the nominative: «2 акиматах
        (г. Алау и Бирликский район)»."""
        notes = notes or {}
        if notes:
            # Units sharing one note are listed together with the note once after them.
            by_note: dict[str, list[Unit]] = {}
            for u in units:
                if u.code in notes:
                    by_note.setdefault(notes[u.code], []).append(u)
            order = {u.code: n for n, u in enumerate(units)}
            pieces = [(order[us[0].code], f"{self.units(us, role, noun=noun)} ({note})") for note, us in by_note.items()]
            rest = [u for u in units if u.code not in notes]
            if rest:
                pieces.append((order[rest[0].code], self.units(rest, role, noun=noun)))
            # In the order given (the plan's): the first unit of each piece places it.
            return self.join_groups([text for _, text in sorted(pieces)])
        lists = self.words["lists"]
        case = lists["roles"][role]
        plural = lists.get("plural", {})
        forms = {u.code: self._form(u, case) for u in units}
        if any(f is None for f in forms.values()):
            # No case form in the plan: the units counted with the plan's noun in that case, named in the
            # nominative («2 акиматах (Бирликский и Достыкский районы)», «акимате (г. Алау)»).
            names = self.units(units, "subject", notes=notes)
            if not noun:
                return names
            counted = self.plural(1, noun) if len(units) == 1 else self.counted_with(len(units), noun)
            return f"{counted} ({names})"
        # Cities first, then the other kinds in the order they first appear; units of one kind share its
        # plural noun («X және Y облыстарында», «X және Y қалаларында») when the wording file gives one
        # and more than one of them ends in its singular noun.
        kinds = ["city", *dict.fromkeys(u.kind for u in units if u.kind != "city")]
        groups: list[str] = []
        any_grouped = False
        for kind in kinds:
            members = [u for u in units if u.kind == kind]
            shorts = {u.code: self._short(u, case) for u in members}
            # A unit whose name does not end in the shared noun («район имени …») stands on its own.
            sharing = [u for u in members if shorts[u.code] is not None]
            noun = plural.get(kind, {}).get(case)
            grouped = len(sharing) > 1 and bool(noun)
            groups.extend(str(forms[u.code]) for u in members if not grouped or shorts[u.code] is None)
            if grouped:
                groups.append(self.join([str(shorts[u.code]) for u in sharing]) + " " + str(noun))
                any_grouped = True
        if len(groups) <= 1:
            return "".join(groups)
        # A multi-unit group already carries «және»; a second one between groups would read twice.
        return ", ".join(groups) if any_grouped else self.join(groups)

    @staticmethod
    def is_kazakh(text: str) -> bool:
        """Whether a text is written in Kazakh: it holds a letter Russian does not have (ә ғ қ ң ө ұ ү һ і)."""
        return any(ch in KAZAKH_ONLY for ch in text)

    @staticmethod
    def is_russian(text: str) -> bool:
        """Whether a text is written in Russian: no Kazakh letter, and a word only Russian has."""
        if Language.is_kazakh(text):
            return False
        known, endings = _russian_signs()
        words = _WORD.findall(text.lower())
        return any(w in known or (len(w) > 4 and w.endswith(endings)) for w in words)

    def can_quote(self, text: str) -> bool:
        """Whether a text a unit wrote may be quoted in this copy: the Kazakh copy quotes no Russian
        sentence; the Russian copy only one known to be Russian (a Kazakh sentence need not hold a Kazakh
        letter). Each copy says instead that the text was written in the other language."""
        return not self.is_russian(text) if self.code == "kk" else self.is_russian(text)


KAZAKH = Language("kk")
RUSSIAN = Language("ru")
LANGUAGES: dict[str, Language] = {"kk": KAZAKH, "ru": RUSSIAN}
