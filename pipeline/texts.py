"""The YAML files under pipeline/data/ that hold wording and settings, loaded once each."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"


@cache
def load_data(name: str, directory: Path = DATA_DIR) -> dict[str, Any]:
    """`name` is a file name in pipeline/data/ (e.g. "kazakh.yaml"); the file must hold a mapping."""
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data
