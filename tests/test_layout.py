"""The tests mirror the code: gateway/<pkg>/<mod>.py is tested in tests/<pkg>/test_<mod>.py."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "gateway"
# Not modules with behaviour of their own to test, or tested by a canary of their own.
EXEMPT = {
    "testing.py",  # the fakes the tests use
    "edge/aiohttp_compat.py",  # every aiohttp internal in one place; its canary test checks each
}


def expected_test(module: Path) -> Path:
    relative = module.relative_to(GATEWAY)
    return ROOT / "tests" / relative.parent / f"test_{relative.name}"


def untested_modules() -> list[str]:
    missing = []
    for module in sorted(GATEWAY.rglob("*.py")):
        relative = module.relative_to(GATEWAY).as_posix()
        if module.name in ("__init__.py", "__main__.py") or relative in EXEMPT:
            continue
        if not expected_test(module).is_file():
            missing.append(f"gateway/{relative} -> {expected_test(module).relative_to(ROOT)}")
    return missing


def test_every_source_module_has_its_test_module() -> None:
    assert untested_modules() == []


def test_the_mapping_is_by_package_and_name() -> None:
    assert expected_test(GATEWAY / "app.py") == ROOT / "tests" / "test_app.py"
    assert expected_test(GATEWAY / "wire" / "hosts.py") == ROOT / "tests/wire/test_hosts.py"


def test_every_test_package_is_a_package() -> None:
    # pytest's rootdir-relative imports (tests.wire.test_hosts) need the __init__ files.
    for directory in sorted(p for p in (ROOT / "tests").iterdir() if p.is_dir()):
        if directory.name in ("data", "__pycache__") or directory.name.startswith("."):
            continue
        assert (directory / "__init__.py").is_file(), directory


def test_every_package_is_a_layer_of_the_contract_and_of_the_architecture_doc() -> None:
    # A new package that no layer names is held by no import contract, and a newcomer reading
    # docs/architecture.md would not find it.
    packages = sorted(p.name for p in GATEWAY.iterdir() if (p / "__init__.py").is_file())
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in contracts["contracts"] if c["type"] == "layers"]
    named = {name.strip().removeprefix("gateway.") for layer in layers for name in layer.split("|")}
    doc = (ROOT / "docs" / "architecture.md").read_text()
    table = doc[doc.index("## The layers") :].split("\n## ", 1)[0]
    assert [p for p in packages if p not in named] == []
    assert [p for p in packages if f"| `gateway/{p}/` |" not in table] == []
