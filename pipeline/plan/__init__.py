"""Stage 1: the campaign plan (items, figures, units, calendar) loaded from a data file."""

from pipeline.plan.load import DEFAULT_PLAN, PlanError, load_plan, plan_fingerprint
from pipeline.plan.model import HEADER_FIELDS, Figure, Item, Plan, Unit

__all__ = ["DEFAULT_PLAN", "HEADER_FIELDS", "Figure", "Item", "Plan", "PlanError", "Unit", "load_plan", "plan_fingerprint"]
