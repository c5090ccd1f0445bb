"""gptviz benchmarks: `python -m bench` (all parts), or some: `python -m bench cpu app`.

Prints a table per part and writes the figures to bench/results/<part>.json: each figure the
median of repeated runs with its quartiles, beside the machine, the load and the versions.

  cpu     training ms/step on the CPU, gptviz vs a nanoGPT reference run in the same process
  gpu     nanoGPT's shakespeare_char on CUDA: ms/step, tokens/s, MFU, loss check (skipped
          without CUDA; --gpu-dry-run runs its code on the CPU with a tiny model)
  app     the real app in Chromium: startup, first visits, page switch, cost of watching,
          server memory (needs playwright and /usr/bin/chromium)

  quality (alone: `python -m bench quality [--quick] ...`, see `python -m bench quality -h`)
          time to nanoGPT's final validation loss on the built-in corpus, nanoGPT's CPU recipe
          against ours, interleaved in one process; bench/results/quality/
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, fmt_spread, machine, table, write_json

PARTS = ("cpu", "gpu", "app")


def _cpu(args: argparse.Namespace) -> dict[str, Any]:
    from bench import cpu

    threads = tuple(int(t) for t in args.threads.split(","))
    res = cpu.run(repeats=args.repeats, threads=threads,
                  sample_seconds=0.1 if args.quick else 0.25)
    print("\n## CPU: training milliseconds per step\n")
    print(table(cpu.rows(res), cpu.HEADER))
    return res


def _gpu(args: argparse.Namespace) -> dict[str, Any] | None:
    import torch

    from bench import gpu

    if not torch.cuda.is_available() and not args.gpu_dry_run:
        print("\n## GPU: skipped, PyTorch sees no CUDA device here "
              "(--gpu-dry-run runs the code on the CPU with a tiny model)")
        return None
    res = gpu.run(device=None if torch.cuda.is_available() else "cpu",
                  repeats=min(args.repeats, 5), tiny=not torch.cuda.is_available(),
                  sample_seconds=0.2 if args.quick else 0.5,
                  loss_steps=(50 if torch.cuda.is_available() else 10) if args.quick else None)
    dry = " (dry run: a check of the code, not of speed)" if res["dry_run"] else ""
    print(f"\n## GPU: {res['device']}{dry}\n")
    print(table(gpu.rows(res), gpu.HEADER))
    return res


def _app(args: argparse.Namespace) -> dict[str, Any]:
    from bench import browser

    res = browser.run(quick=args.quick)
    print("\n## The app in a browser\n")
    rows = []
    if "startup" in res:
        rows.append(["streamlit run app.py -> first page drawn",
                     fmt_spread(res["startup"]["first_page_drawn_s"]) + " s"])
        for title, v in res["startup"].get("first_visit_s", {}).items():
            rows.append([f"first visit: {title}", fmt_spread(v) + " s"])
        for title, v in res["startup"].get("first_after_home_s", {}).items():
            rows.append([f"first page after home: {title}", fmt_spread(v) + " s"])
    for k, v in res.get("page_switch", {}).items():
        rows.append([f"page switch {k.removesuffix('_s').replace('_', ' ')}",
                     fmt_spread(v) + " s"])
    if "headless_liverun_steps_per_second" in res:
        rows.append(["LiveRun in this process, nothing drawn (1 thread)",
                     f"{res['headless_liverun_steps_per_second']:.0f} steps/s"])
    for w in res.get("watching", []):
        d, n = w["displayed_steps_per_second"], w["not_displayed_steps_per_second"]
        rows.append([f"{w['page']}: steps/s displayed vs not",
                     f"{d['median'] if d else float('nan'):.0f} vs "
                     f"{n['median'] if n else float('nan'):.0f} "
                     f"({w.get('displayed_over_not_displayed', float('nan')):.0%})"])
    for k, v in res.get("memory", {}).items():
        rows.append([f"server memory: {k.removesuffix('_mb').replace('_', ' ')}",
                     f"{v:.0f} MB"])
    print(table(rows, ["measure", "median (p25-p75)"]))
    for part, err in res.get("errors", {}).items():
        print(f"FAILED {part}: {err}")
    return res


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["quality"]:  # minutes long and with its own options: not among "all"
        from bench import quality

        return quality.main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("parts", nargs="*", metavar="part",
                   help="cpu, gpu and/or app (default: all three)")
    p.add_argument("--cpu", action="store_true", help="CPU training speed")
    p.add_argument("--gpu", action="store_true", help="GPU training speed (needs CUDA)")
    p.add_argument("--app", action="store_true", help="the app in a real browser")
    p.add_argument("--gpu-dry-run", action="store_true",
                   help="without CUDA, run the GPU part's code on the CPU (tiny model)")
    p.add_argument("--repeats", type=int, default=7, help="samples per figure (default 7)")
    p.add_argument("--threads", default="1,2", help="torch threads for --cpu (default 1,2)")
    p.add_argument("--quick", action="store_true", help="shorter samples, fewer repeats")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats = min(args.repeats, 3)
    for part in args.parts:
        if part not in PARTS:
            p.error(f"unknown part {part!r}: choose from {', '.join(PARTS)}")
        setattr(args, part, True)
    if args.gpu_dry_run:
        args.gpu = True
    if not (args.cpu or args.gpu or args.app):
        args.cpu = args.gpu = args.app = True

    for name, want, fn in (("cpu", args.cpu, _cpu), ("gpu", args.gpu, _gpu),
                           ("app", args.app, _app)):
        if not want:
            continue
        t0 = time.perf_counter()
        info = machine()
        res = fn(args)
        if res is None:
            continue
        out = {"part": name, "machine": info,
               "load_average_after": machine()["load_average"],
               "seconds": time.perf_counter() - t0, "repeats": args.repeats,
               "results": res}
        path = write_json(name, out, args.out)
        print(f"\n(wrote {path}; load average {info['load_average']} -> "
              f"{out['load_average_after']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
