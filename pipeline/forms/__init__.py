"""Stage 0: the district form generated from the plan (build), and helpers shared by writers."""

from pipeline.forms.build import (
    BuiltForm,
    FormRow,
    build_form,
    fixed_timestamp,
    form_file_name,
    save_workbook,
    write_all_forms,
    write_form,
)
from pipeline.forms.zipfix import copy_normalised, normalise_zip

__all__ = [
    "BuiltForm",
    "FormRow",
    "build_form",
    "fixed_timestamp",
    "form_file_name",
    "copy_normalised",
    "normalise_zip",
    "save_workbook",
    "write_all_forms",
    "write_form",
]
