"""The YAML files under pipeline/data/ that hold wording and settings, loaded once each."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.yaml_cache import cached_yaml

DATA_DIR = Path(__file__).resolve().parent / "data"

#: libyaml's parser when PyYAML was built with it (the wheels are): the same safe constructor, several
#: times faster on the data files every command loads at start-up.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # type: ignore[assignment]


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader


@cache
def load_data(name: str, directory: Path = DATA_DIR) -> dict[str, Any]:
    """`name` is a file name in pipeline/data/ (e.g. "kazakh.yaml"); the file must hold a mapping."""
    path = directory / name
    text = path.read_text(encoding="utf-8")
    data = cached_yaml(text, lambda: safe_load(text), kind="safe")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data
