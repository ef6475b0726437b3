"""The repository stands alone, and its documents name only what exists.

Three checks over the checked-out tree: no file refers to a document kept outside the
repository; every source path the documents name exists; every test they name is defined
where they say.
"""

from __future__ import annotations

import ast
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SKIP_DIRS = {".git", ".venv", "node_modules", "build", "dist", "test-artifacts", ".demo-data"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".conf", ".txt", ".cfg", ".ini", ".sh"}
TEXT_NAMES = {"Makefile", "Caddyfile.forward-auth", "run", "system-packages"}

# Spelled in pieces so that this file does not match itself.
OUTSIDE = [
    re.compile(r"\.\./" + "shared"),
    re.compile(r"\bshared/"),
    re.compile("CONTRACT" + r"\.md|\bthe " + "contract's", re.IGNORECASE),
    re.compile("PROXY_" + "CHECKLIST"),
    re.compile("HOUSE_" + "STYLE"),
    re.compile("checklist " + r"items? \d", re.IGNORECASE),
    re.compile("BRIEF" + r"[-_.]"),
    re.compile(r"\bthe " + r"brief\b", re.IGNORECASE),
]

DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md", ROOT / "DEVELOPERS.md"]

# `gateway/edge/handler.py`, `tests/policy/cases.py`, `config/demo.yaml`, `bench/x.sh`
PATH = re.compile(r"`((?:gateway|portal_demo|tests|config|bench|docs|static|deploy)/[\w./-]+)`")
# `tests/x/test_y.py::test_z`, and a bare `test_z` after it in the same table row or paragraph
# (a bare name with no file before it must be defined somewhere under tests/).
TEST_REF = re.compile(r"`(?:(tests/[\w/]*test_\w+\.py)::)?(test_\w+)`")


def repository_files() -> list[Path]:
    """The repository's text files: what git tracks or would track (never a venv's contents)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0:
        candidates = [ROOT / line for line in listed.stdout.splitlines()]
    else:  # not a checkout (an unpacked sdist): walk the tree instead
        candidates = list(ROOT.rglob("*"))
    files = []
    for path in candidates:
        parts = set(path.relative_to(ROOT).parts)
        if parts & SKIP_DIRS or any(
            p.endswith((".egg-info", "_cache")) or p.startswith(".venv") for p in parts
        ):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES):
            files.append(path)
    return files


def test_no_file_refers_to_documents_outside_the_repository() -> None:
    found = []
    for path in repository_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if any(p.search(line) for p in OUTSIDE):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_outside_patterns_catch_what_they_are_for() -> None:
    # The check above must be able to fail: each pattern on the kind of line it is for.
    lines = [
        "see ../" + "sha" + "red/CON" + "TRACT.md",
        '"""PROXY_' + 'CHECKLIST.md items 1-7"""',
        "# checklist " + "item 39",
        "as HOUSE_" + "STYLE.md says",
        "read BRIEF" + "-customer-portal-disable.txt",
        "the " + "brief's sentence",
        "the " + "contract's values",
    ]
    assert [line for line in lines if not any(p.search(line) for p in OUTSIDE)] == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_document_names_exists(doc: Path) -> None:
    named = set(PATH.findall(doc.read_text()))
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists() and "*" not in p)
    assert missing == []


@cache
def defined_tests(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text())
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    )


def test_every_test_a_document_names_is_defined() -> None:
    every = frozenset().union(*(defined_tests(p) for p in (ROOT / "tests").rglob("test_*.py")))
    missing = []
    for doc in DOCS:
        for block in re.split(r"\n\s*\n|\n(?=\|)", doc.read_text()):
            current: Path | None = None
            for file, name in TEST_REF.findall(block):
                if file:
                    current = ROOT / file
                    if not current.exists():
                        missing.append(f"{doc.name}: {file} (no such test file)")
                        current = None
                        continue
                known = defined_tests(current) if current is not None else every
                if name not in known:
                    where = current.relative_to(ROOT) if current is not None else "tests/"
                    missing.append(f"{doc.name}: {name} is not defined in {where}")
    assert missing == []
