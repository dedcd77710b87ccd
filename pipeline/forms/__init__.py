"""Stage 0: the district form generated from the plan (build), and helpers shared by writers.

The names below are loaded on first use (PEP 562): the readers need only `pipeline.forms.layout`, and
importing the builder would pull openpyxl into `check` and every reader process for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.lazy import lazy_names

if TYPE_CHECKING:
    from pipeline.forms.build import (
        BuiltForm, FormRow, build_form, fixed_timestamp, form_file_name, save_workbook, write_all_forms,
        write_form,
    )
    from pipeline.forms.zipfix import copy_normalised, normalise_zip

_LAZY = {
    "BuiltForm": "pipeline.forms.build",
    "FormRow": "pipeline.forms.build",
    "build_form": "pipeline.forms.build",
    "fixed_timestamp": "pipeline.forms.build",
    "form_file_name": "pipeline.forms.build",
    "save_workbook": "pipeline.forms.build",
    "write_all_forms": "pipeline.forms.build",
    "write_form": "pipeline.forms.build",
    "copy_normalised": "pipeline.forms.zipfix",
    "normalise_zip": "pipeline.forms.zipfix",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_names(__name__, _LAZY, globals())
