"""The one masking pass (pipeline/privacy.py): what it must catch, what it must leave, and that it is stable."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.inbox import safe_name
from pipeline.privacy import MASK, mask, mask_number
from tests.security.leaks import IIN, IIN_SPELLINGS, NAME_LISTS, SURNAMES


@pytest.mark.parametrize("spelling", IIN_SPELLINGS)
def test_every_iin_spelling_is_masked(spelling):
    masked, changed = mask(f"Баланың ЖСН: {spelling}.")
    assert changed and masked == f"Баланың ЖСН: {MASK}."


@pytest.mark.parametrize("names", [*NAME_LISTS, "Aidos Nurlanuly, Aigerim Serikkyzy",
                                   "Иванов Иван Иванович, Петрова Мария Петровна", "И. Иванов және М. Петрова"])
def test_name_lists_in_every_official_order_are_masked(names):
    masked, changed = mask(f"Көмек алғандар: {names}.")
    assert changed
    assert masked.count(MASK) == 2
    assert not any(name in masked.casefold() for name in (*SURNAMES, "nurlanuly", "serikkyzy", "мария", "иван"))


@pytest.mark.parametrize("text", [
    "Орынд.: Д. Ержанова",  # one official: who to call, not a list of children
    "Жауапты: Иванов И.И.",
    "ЗЕЛЕНОВ АУДАНЫ, КАЗТАЛОВ АУДАНЫ",
    "Казталов ауданы мен Зеленов ауданы",
    'ТОО "Ақниет" и ТОО "Береке"',
    "«Ақ Жайық» ЖШС, «Бәйтерек» ЖК демеушілері",
    "Тел. 87112501327, шот 123456789012",  # not date-shaped
    "Сомасы 1 500 000 000 000 теңге",
])
def test_what_is_not_personal_data_stays(text):
    assert mask(text) == (text, False)


def test_a_number_cell_holding_an_iin_is_caught():
    assert mask_number(int(IIN))  # the leading zero is lost in a number cell
    assert mask_number(float(IIN))
    assert not mask_number(1_500_000) and not mask_number(True) and not mask_number(123456789012)


@settings(max_examples=200)
@given(before=st.text(max_size=20).filter(lambda t: not t[-1:].isdigit()),
       after=st.text(max_size=20).filter(lambda t: not t[:1].isdigit()), spelling=st.sampled_from(IIN_SPELLINGS))
def test_an_iin_is_masked_in_any_surrounding_text(before, after, spelling):
    # A digit right next to it makes it another number; anything else around it keeps it an ИИН.
    masked, changed = mask(f"{before} {spelling} {after}")
    assert changed and spelling not in masked


@settings(max_examples=200)
@given(st.text(max_size=60))
def test_masking_is_idempotent(text):
    once = mask(text)[0]
    assert mask(once) == (once, False)


def test_file_names_are_made_safe():
    assert safe_name(b"\xcd\xfb\xf1\xe0\xed.xlsx".decode("utf-8", "surrogateescape")) == ("\ufffd" * 5 + ".xlsx", False)
    assert safe_name("\ud800\x0b.xlsx") == ("? .xlsx", False)
    assert safe_name(f"папка/{IIN}.xlsx") == (f"папка/{MASK}.xlsx", True)
