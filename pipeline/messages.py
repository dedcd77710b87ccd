"""The console's message catalogue (pipeline/data/messages.yaml) in the language the user chose.

Kazakh is the default; `--lang ru` or the environment variable MZ_LANG=ru gives Russian. The language is
chosen once per process by the command line (`set_lang`); library code asks `messages()` for the words.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from pipeline.texts import load_data

LANGS = ("kk", "ru")
DEFAULT_LANG = "kk"
ENV = "MZ_LANG"

_chosen: str | None = None


def set_lang(lang: str | None) -> str:
    """Choose the language for this process (None: from MZ_LANG, else Kazakh); returns the choice."""
    global _chosen
    _chosen = lang if lang in LANGS else None
    return current_lang()


def current_lang() -> str:
    if _chosen is not None:
        return _chosen
    env = os.environ.get(ENV, "").strip().lower()
    return env if env in LANGS else DEFAULT_LANG


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    data = load_data("messages.yaml")
    return {lang: data[lang] for lang in LANGS}


def messages(lang: str | None = None) -> dict[str, Any]:
    """The catalogue's sections (usage, report, run, cli, …) in `lang` or the current language."""
    return catalogue()[lang or current_lang()]


def text(section: str, key: str, **values: object) -> str:
    return str(messages()[section][key]).format(**values)


def status_words(lang: str | None = None) -> dict[str, Any]:
    """pipeline/data/status.yaml (the `status`, `serve` and `links` commands) in `lang` or the current language."""
    return dict(load_data("status.yaml")[lang or current_lang()])
