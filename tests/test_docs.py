"""The documentation tells the truth about itself: every test it cites exists, every file it links to exists,
and the README's commands are ones a person can type (make targets that exist, or the venv's Python)."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _test_functions() -> set[str]:
    names = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                names.add(node.name)
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_cited_test_exists(page):
    tests = _test_functions()
    files = {p.stem for p in (REPO / "tests").rglob("test_*.py")}
    cited = set(re.findall(r"\btest_[a-z0-9_]+", page.read_text(encoding="utf-8")))
    assert sorted(cited - tests - files) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file(page):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_readme_commands_are_typed_through_make_or_the_venv():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", readme, flags=re.S))
    targets = set(re.findall(r"^([a-z-]+):.*##", (REPO / "Makefile").read_text(encoding="utf-8"), flags=re.M))
    for line in blocks.splitlines():
        command = line.split("#", 1)[0].strip()
        if not command:
            continue
        assert not command.startswith("python"), line  # a bare python is the system's: exit 6
        if command.startswith("make "):
            target = next(word for word in command.split()[1:] if "=" not in word)
            assert target in targets, line
    for mention in re.findall(r"`(make [a-z-]+)", readme):
        assert mention.split()[1] in targets, mention


def test_make_help_lists_every_target():
    result = subprocess.run(["make", "--no-print-directory", "-C", str(REPO), "help"], capture_output=True,
                            text=True, timeout=60)
    targets = re.findall(r"^([a-z-]+):.*##", (REPO / "Makefile").read_text(encoding="utf-8"), flags=re.M)
    for target in targets:
        assert f"make {target}" in result.stdout, target


def test_every_path_in_a_make_recipe_is_quoted():
    """INBOX, OUTBOX, FILE, DIR and BASE_URL reach a recipe as "$${X:-…}" (the environment's value, quoted), never
    bare $(X), which the shell would split at a space («Есептер 2017»)."""
    recipes = [line for line in (REPO / "Makefile").read_text(encoding="utf-8").splitlines() if line.startswith("\t")]
    for line in recipes:
        for name in ("INBOX", "OUTBOX", "FILE", "DIR", "BASE_URL"):
            assert f"$({name})" not in line.replace(f"$${{{name}:-$({name})}}", ""), line
            for start in [m.start() for m in re.finditer(rf"\$\${{{name}\b", line)]:
                assert line[start - 1] == '"', line  # the word opens with a double quote
