"""`make bench` (bench/proxy_bench.py) in its quick mode: every target is measured and every
ratio is computed. Whether a target is met depends on the machine and is never asserted."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.services import require_binary

SCRIPT = ROOT / "bench" / "proxy_bench.py"
ENABLED = ["upstream", "nginx-proxy", "bare-proxy", "gw-enabled", "gw-enabled-nolog",
           "gw2-enabled", "plugin-enabled", "gw-enabled-cookie", "plugin-enabled-cookie"]  # fmt: skip
DISABLED = ["nginx-503", "bare-503", "gw-disabled", "gw-disabled-nolog", "gw2-disabled",
            "plugin-disabled", "gw-disabled-cookie", "plugin-disabled-cookie"]  # fmt: skip
GATEWAYS = {
    "gw-on",
    "gw-on-nolog",
    "gw-off",
    "gw-off-nolog",
    "gw2-on",
    "gw2-off",
    "fa-on",
    "fa-off",
}
TARGETS = {
    "enabled vs bare aiohttp proxy",
    "enabled vs nginx proxy",
    "disabled vs bare aiohttp 503",
    "disabled vs nginx return 503",
    "enabled p99 vs bare proxy p99",
    "plugin enabled vs nginx proxy",
    "plugin disabled vs nginx proxy",
    "workers 2 vs 1, disabled",
    "store reads per process: load vs idle",
    "RSS growth streaming 64 MiB up",
    "RSS growth streaming 64 MiB down",
}


def number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.slow
@pytest.mark.nginx
@pytest.mark.timeout(900)
def test_the_quick_bench_reports_every_target_with_numbers(tmp_path: Path) -> None:
    # nginx and wrk are in .ci/system-packages: under CI=true a missing one fails.
    require_binary(shutil.which("nginx") or "/usr/sbin/nginx", "nginx-light")
    require_binary(shutil.which("wrk") or "/usr/bin/wrk", "wrk")
    out = tmp_path / "bench.json"
    quick = ["--duration", "1", "--rounds", "1", "--warmup", "0", "--idle", "5",
             "--stream-mib", "64", "--connections", "16", "--json", str(out)]  # fmt: skip
    run = subprocess.run(
        [sys.executable, str(SCRIPT), *quick], cwd=ROOT, capture_output=True, text=True, timeout=840
    )
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(out.read_text())

    assert set(report["targets"]) == {*ENABLED, *DISABLED}
    for name, result in report["targets"].items():
        assert result["requests"] > 0 and result["rps"] > 0, name
        assert number(result["p50_ms"]) and number(result["p99_ms"]), name
        # Each answer was the one the target is about: 200 through an open portal, 503 shut.
        assert result["unexpected"] == 0, (name, result)
        if name.startswith(("gw", "plugin")):
            assert number(result["cpu_us_per_req"]) and result["rss_mib"] > 0, name
    assert {r["label"] for r in report["ratios"]} == TARGETS
    for entry in report["ratios"] + report["information"]:
        assert number(entry["value"]) and isinstance(entry.get("met", False), bool), entry
    assert report["stream"]["up"]["complete"] and report["stream"]["down"]["complete"]
    assert set(report["store_reads"]) == GATEWAYS
    for key, per in report["store_reads"].items():
        assert len(per["processes"]) == (2 if key.startswith("gw2") else 1), key
        for proc in per["processes"].values():
            assert proc["idle_reads"] > 0 and proc["load_seconds"] > 0, (key, proc)
    assert "targets (median of the per-round ratios)" in run.stdout


def test_an_unknown_target_is_refused_with_the_known_ones() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "gw-enabled,nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "unknown nope" in run.stderr and "gw-disabled-cookie" in run.stderr
