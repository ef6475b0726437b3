"""1 GiB up and 1 GiB down through the gateway, its resident memory sampled all along."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from typing import Any

from bench_servers import rss_mib

MIB = 1024 * 1024
LIMIT_MIB = 64.0


class Sampler:
    """The largest RSS of `pid` seen every 20 ms while in the `with` block."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start = rss_mib(pid)
        self.peak = self.start
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, rss_mib(self.pid))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def _blocks(total: int) -> Iterator[bytes]:
    block = b"\0" * MIB
    left = total
    while left > 0:
        yield block[: min(left, MIB)]
        left -= MIB


def upload(port: int, total: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("PUT", "/upload", body=_blocks(total), headers={"Content-Length": str(total)})
    resp = conn.getresponse()
    body = resp.read().decode(errors="replace").strip()
    conn.close()
    return f"{resp.status} {body}"


def download(port: int, total: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", f"/download?bytes={total}")
    resp = conn.getresponse()
    got = 0
    while chunk := resp.read(MIB):
        got += len(chunk)
    conn.close()
    return got


def stream_through(port: int, pid: int, mib: int) -> dict[str, Any]:
    total = mib * MIB
    upload(port, MIB)  # warm: the pool's connection, the buffers
    download(port, MIB)
    out: dict[str, Any] = {"mib": mib, "rss_start_mib": rss_mib(pid)}
    with Sampler(pid) as up:
        began = time.monotonic()
        answer = upload(port, total)
        up_seconds = time.monotonic() - began
    with Sampler(pid) as down:
        began = time.monotonic()
        got = download(port, total)
        down_seconds = time.monotonic() - began
    out["up"] = {
        "answer": answer,
        "seconds": up_seconds,
        "mib_per_s": mib / up_seconds,
        "rss_growth_mib": up.peak - up.start,
        "complete": answer == f"200 {total}",
    }
    out["down"] = {
        "bytes": got,
        "seconds": down_seconds,
        "mib_per_s": mib / down_seconds,
        "rss_growth_mib": down.peak - down.start,
        "complete": got == total,
    }
    out["verdicts"] = [
        {
            "label": f"RSS growth streaming {mib} MiB {way}",
            "value": out[way]["rss_growth_mib"],
            "target": f"< {LIMIT_MIB:.0f} MiB",
            "met": out[way]["complete"] and out[way]["rss_growth_mib"] < LIMIT_MIB,
        }
        for way in ("up", "down")
    ]
    return out
