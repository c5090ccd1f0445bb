"""What every part of the benchmark shares: robust statistics, the machine, the output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "bench" / "results"


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run() in a thread of its own: it refuses to start inside a running event loop,
    and Playwright's sync API (the browser tests, bench.browser) leaves one on the main thread."""
    import asyncio

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def proc_status(pid: int) -> tuple[float, int]:
    """(resident memory in MB, threads) of a process, from /proc (Linux)."""
    rss, threads = 0.0, 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss, threads


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    """Median with its spread: quartiles (p25, p75), extremes and the count."""
    v = sorted(values)
    if not v:
        raise ValueError("no values")
    if len(v) == 1:
        q25 = q75 = v[0]
    else:
        q25, _, q75 = statistics.quantiles(v, n=4, method="inclusive")
    return {"median": statistics.median(v), "p25": q25, "p75": q75, "min": v[0],
            "max": v[-1], "n": len(v)}


def time_per_call(fn: Callable[[], object], calls: int,
                  sync: Callable[[], None] | None = None) -> float:
    """Seconds per call of fn, over `calls` back-to-back calls (sync: wait for a GPU)."""
    if sync:
        sync()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    if sync:
        sync()
    return (time.perf_counter() - t0) / calls


def interleaved(variants: dict[str, Callable[[], object]], repeats: int,
                sample_seconds: float, warmup: int,
                sync: Callable[[], None] | None = None) -> tuple[dict[str, list[float]], int]:
    """Seconds per call for each variant, and the calls per sample.

    Measured in turns so that a change in the machine's load during the run hits every
    variant alike (this machine is shared): each round times every variant once, the order
    rotated each round. The calls per sample are chosen from the warm-up so that one sample of
    the first variant lasts about sample_seconds.
    """
    first = None
    for fn in variants.values():
        t = time_per_call(fn, warmup, sync)
        first = t if first is None else first
    calls = max(1, round(sample_seconds / max(first, 1e-9)))
    names = list(variants)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            out[name].append(time_per_call(variants[name], calls, sync))
    return out, calls


def paired_ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """a[i] / b[i]: the ratio within each round, where both saw the same load."""
    return [x / y for x, y in zip(a, b, strict=True)]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine() -> dict[str, Any]:
    """The machine and the versions, recorded beside every figure."""
    versions = {}
    for dist in ("torch", "streamlit", "plotly", "numpy", "graphviz", "playwright"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions,
        "git_commit": _git_commit(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        import torch

        info["torch_threads_default"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def write_json(name: str, data: dict[str, Any], out_dir: Path = RESULTS_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=float) + "\n")
    return path


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain-text table (also valid Markdown)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def fmt_spread(s: dict[str, float | int], scale: float = 1.0, digits: int = 2) -> str:
    """'median (p25-p75)' scaled, e.g. seconds to milliseconds with scale=1e3."""
    return (f"{s['median'] * scale:.{digits}f} "
            f"({s['p25'] * scale:.{digits}f}-{s['p75'] * scale:.{digits}f})")
