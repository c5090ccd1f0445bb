"""Both cores for a class: sessions' training in threads of one process, or in worker processes.

`python -m bench.cores` (about 4 minutes here; `--quick` for a smoke run). For 1, 2 and 10
sessions each training its own model, it measures the class's total steps per second, the
slowest and fastest session's, and the memory, in two designs:

  threads    what the app does today: one process, one training thread per session, every
             session under the one interpreter lock (torch releases it inside its kernels)
  processes  one worker process per core (at most one per session), the sessions dealt out
             among them round robin, a thread per session inside its worker

Two workloads, the app's own steps: Baby GPT (document 000's model, a step plus the loss on
every window, as the page asks after each step) and Train on text's Tiny preset (context 32,
2 layers, 2 heads, 64 dims, batch 32, a 65-character corpus). One torch thread everywhere, as
app.py sets. The designs run in turns, round after round, so a change in the machine's load
hits both; each figure is the median over rounds. Workers are started (and import torch)
before the clock starts: a pool would be started once, with the server.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, machine, proc_status, table, write_json

WORKLOADS = ("baby", "text")
DESIGNS = ("threads", "processes")


def _trainer(workload: str, seed: int):
    import torch

    from bench.data import char65_task, doc000_task
    from gptviz.config import DOC000_MODEL, DOC000_TRAIN, GPTConfig, TrainConfig, replace
    from gptviz.train import Trainer, build_model

    torch.set_num_threads(1)
    if workload == "baby":  # eval_interval=1: the Baby GPT page's live step
        return Trainer(build_model(DOC000_MODEL, seed), doc000_task(),
                       replace(DOC000_TRAIN, max_steps=1_000_000))
    cfg = GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=64)
    train = TrainConfig(learning_rate=3e-3, batch_size=32, max_steps=1_000_000, seed=seed,
                        eval_interval=1_000_000, grad_clip=1.0)
    return Trainer(build_model(cfg, seed), char65_task(32), train)


def _train_sessions(workload: str, seeds: list[int], start: Any, seconds: float) -> list[int]:
    """Each seed a session: its own model in its own thread, trained for `seconds` from
    `start` (an Event or a Barrier's wait). Returns each session's step count."""
    trainers = [_trainer(workload, s) for s in seeds]
    for t in trainers:
        t.run(1)  # the first step builds the optimizer's state: not timed
    counts = [0] * len(trainers)

    def loop(i: int) -> None:
        start()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            trainers[i].run(1)
            counts[i] += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(trainers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts


def _worker(workload: str, seeds: list[int], seconds: float, ready: Any, go: Any,
            out: Any) -> None:
    # the trainers are built before `ready`: the clock starts only when every worker is set
    trainers_ready = threading.Event()

    def start() -> None:
        trainers_ready.set()
        go.wait()

    result: list[list[int]] = []
    t = threading.Thread(target=lambda: result.append(
        _train_sessions(workload, seeds, start, seconds)))
    t.start()
    trainers_ready.wait()
    ready.release()
    t.join()
    out.put((seeds, result[0], proc_status(os.getpid())[0]))


def measure(design: str, workload: str, sessions: int, seconds: float,
            cores: int) -> dict[str, Any]:
    seeds = list(range(1337, 1337 + sessions))
    if design == "threads":
        go = threading.Event()
        result: list[list[int]] = []
        t = threading.Thread(target=lambda: result.append(
            _train_sessions(workload, seeds, go.wait, seconds)))
        t.start()
        time.sleep(0.5 + 0.05 * sessions)  # the trainers are built
        go.set()
        t.join()
        counts, memory = result[0], proc_status(os.getpid())[0]  # this process: torch and all
    else:
        ctx = mp.get_context("spawn")
        n_workers = min(cores, sessions)
        shares = [seeds[i::n_workers] for i in range(n_workers)]
        ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(workload, s, seconds, ready, go, out))
                 for s in shares]
        for p in procs:
            p.start()
        for _ in procs:  # every worker built its trainers (never wait forever for one)
            if not ready.acquire(timeout=120):
                for p in procs:
                    p.kill()
                raise RuntimeError("a worker process did not get ready within 120 s")
        time.sleep(0.05 * sessions)
        go.set()
        got = [out.get(timeout=seconds + 120) for _ in procs]
        for p in procs:
            p.join()
        by_seed = {s: c for ss, cs, _ in got for s, c in zip(ss, cs, strict=True)}
        counts = [by_seed[s] for s in seeds]
        # the workers, and this process (the server, which a pool of workers does not replace)
        memory = sum(rss for _, _, rss in got) + proc_status(os.getpid())[0]
    rates = [c / seconds for c in counts]
    return {"design": design, "workload": workload, "sessions": sessions,
            "total_steps_per_s": sum(rates), "slowest_steps_per_s": min(rates),
            "fastest_steps_per_s": max(rates), "memory_mb": memory}


def run(sessions: tuple[int, ...] = (1, 2, 10), rounds: int = 3, seconds: float = 6.0,
        cores: int | None = None) -> dict[str, Any]:
    cores = cores or os.cpu_count() or 1
    samples: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in range(rounds):
        for workload in WORKLOADS:
            for n in sessions:
                order = DESIGNS if r % 2 == 0 else DESIGNS[::-1]
                for design in order:
                    m = measure(design, workload, n, seconds, cores)
                    samples.setdefault((design, workload, n), []).append(m)
                    print(f"round {r + 1}: {workload:4} {n:2} sessions {design:9} "
                          f"{m['total_steps_per_s']:7.1f} steps/s in all, slowest "
                          f"{m['slowest_steps_per_s']:6.1f}", flush=True)
    rows = []
    for (design, workload, n), ms in samples.items():
        med = {k: statistics.median(m[k] for m in ms) for k in
               ("total_steps_per_s", "slowest_steps_per_s", "fastest_steps_per_s", "memory_mb")}
        rows.append({"design": design, "workload": workload, "sessions": n, **med,
                     "rounds": [m["total_steps_per_s"] for m in ms]})
    ratios = {}
    for workload in WORKLOADS:
        for n in sessions:
            t = next(r for r in rows if r["design"] == "threads" and r["workload"] == workload
                     and r["sessions"] == n)
            p = next(r for r in rows if r["design"] == "processes"
                     and r["workload"] == workload and r["sessions"] == n)
            per_round = [b / a for a, b in zip(t["rounds"], p["rounds"], strict=True)]
            ratios[f"{workload}_{n}"] = statistics.median(per_round)
    return {"cores": cores, "seconds": seconds, "rounds": rounds, "rows": rows,
            "processes_over_threads": ratios}


HEADER = ["workload", "sessions", "design", "steps/s, all", "slowest", "fastest",
          "memory MB, all processes"]


def table_rows(res: dict[str, Any]) -> list[list[str]]:
    return [[r["workload"], str(r["sessions"]), r["design"], f"{r['total_steps_per_s']:.0f}",
             f"{r['slowest_steps_per_s']:.1f}", f"{r['fastest_steps_per_s']:.1f}",
             f"{r['memory_mb']:.0f}"]
            for r in sorted(res["rows"], key=lambda r: (r["workload"], r["sessions"],
                                                        r["design"]))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cores", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1 round of 1 s: a smoke run")
    p.add_argument("--sessions", default="1,2,10", help="session counts (default 1,2,10)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=6.0, help="training time per measurement")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds = 1, 1.0
    info = machine()
    res = run(tuple(int(s) for s in args.sessions.split(",")), args.rounds, args.seconds)
    print()
    print(table(table_rows(res), HEADER))
    print("\nprocesses / threads, total steps/s (median of the rounds' ratios): "
          + ", ".join(f"{k} {v:.2f}" for k, v in res["processes_over_threads"].items()))
    path = write_json("cores", {"part": "cores", "machine": info,
                                "load_average_after": machine()["load_average"],
                                "results": res}, args.out)
    print(f"(wrote {path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
