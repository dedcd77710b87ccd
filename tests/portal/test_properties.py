"""Invariants of the portal's access and naming, for any input a request can carry."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.portal.access import resolve
from pipeline.portal.uploads import NAME_CHARS, shown_name


@given(st.text(max_size=300))
def test_recorded_file_name_is_one_printable_part(name: str) -> None:
    shown, _ = shown_name(name)
    assert "/" not in shown and "\\" not in shown
    assert all(ch.isprintable() for ch in shown) and len(shown) <= NAME_CHARS


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_any_secret_text_resolves_to_nothing_without_raising(tmp_path_factory, secret: str) -> None:
    outbox: Path = tmp_path_factory.getbasetemp() / "no-links"
    assert resolve(outbox, secret) is None
