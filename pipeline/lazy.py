"""Names of a package loaded on first use (PEP 562), so that `check` and the reader processes do not pay
for importing pandas or openpyxl that only a report needs."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, names: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: name → the module it lives in, imported at first use and then
    kept in `namespace` (the package's globals), so later look-ups cost nothing."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
