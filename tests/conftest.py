from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.plan import Plan, load_plan

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "spreadsheets"


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan()
