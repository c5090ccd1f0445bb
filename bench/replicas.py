"""A school at once: N replicas behind nginx (scripts/serve.sh), a class training through it,
then one replica killed.

`python -m bench.replicas` (about a minute here). It starts `scripts/serve.sh N` on loopback
ports, opens `sessions` websocket clients (bench/ws_client.py: to the server each is a
browser tab) through nginx, each with the sticky cookie nginx set on its first request (naming
the replica that answered, as a browser's first page load gets it), and has each train Baby
GPT. Half way, a newcomer with no cookie opens a page through nginx. Then replica 1 is
killed (SIGKILL, as a crash would): its sessions' websockets must close (nothing hangs), the
other replica's sessions must go on training, and a user of the killed replica who reloads
must get a working page from a survivor. JSON in bench/results/replicas.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, machine, run_async, write_json
from bench.ws_client import Session

ROOT = Path(__file__).resolve().parents[1]
SERVE = ROOT / "scripts" / "serve.sh"
COOKIE = "gptviz_replica"


def _free_ports(n: int) -> int:
    """A base port with n consecutive free ports after it."""
    for _ in range(200):
        base = 20_000 + secrets.randbelow(30_000)
        try:
            socks = []
            for k in range(n + 1):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + k))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free ports")


@contextlib.contextmanager
def serve(n: int, run_dir: Path, python: str | None = None,
          timeout: float = 120.0) -> Iterator[dict[str, Any]]:
    """scripts/serve.sh n on loopback; yields {url, run_dir, proc}. Stops everything after."""
    base = _free_ports(n)
    env = {**os.environ, "RUN_DIR": str(run_dir), "HOST": "127.0.0.1", "PORT": str(base + n),
           "BASE_PORT": str(base), "PYTHON": python or sys.executable}
    log = open(run_dir / "serve.out", "wb")  # noqa: SIM115  closed below
    proc = subprocess.Popen(["bash", str(SERVE), str(n)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{base + n}"
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve.sh exited: {(run_dir / 'serve.out').read_text()}")
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/healthz", timeout=1).status == 200:
                    break
            if time.monotonic() - t0 > timeout:
                raise TimeoutError("nginx did not answer")
            time.sleep(0.2)
        yield {"url": url, "run_dir": run_dir, "proc": proc, "started_s": time.monotonic() - t0}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def first_visit(url: str, run_dir: Path) -> tuple[str, str]:
    """A browser's first request through nginx, with no cookie: (the gptviz_replica cookie
    nginx sets, naming the replica that answered; that replica's 127.0.0.1:port)."""
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as r:
        cookies = r.headers.get_all("Set-Cookie") or []
    value = next((c.split(";")[0].split("=", 1)[1] for c in cookies
                  if c.startswith(f"{COOKIE}=")), "")
    if not re.fullmatch(r"r[0-9]+", value):
        raise LookupError(f"nginx set no {COOKIE} cookie naming a replica: {cookies}")
    port = (run_dir / f"replica-{value[1:]}.port").read_text().strip()
    return value, f"127.0.0.1:{port}"


def _median_gap(times: list[float], start: float, end: float) -> float:
    times = [t for t in times if start <= t <= end]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    return round(statistics.median(gaps), 2) if gaps else round(end - start, 2)


def _gaps(times: list[float], start: float, end: float) -> list[float]:
    times = [t for t in times if start <= t <= end]
    if not times:
        return [end - start]
    return [times[0] - start, *(b - a for a, b in zip(times, times[1:], strict=False)),
            end - times[-1]]


async def _class(url: str, run_dir: Path, sessions: int, seconds: float,
                 after_kill: float) -> dict[str, Any]:
    # one after another, as a class arrives: each first request is dealt to a replica
    visits = [await asyncio.to_thread(first_visit, url, run_dir) for _ in range(sessions)]
    cookies, where = [v[0] for v in visits], [v[1] for v in visits]
    clients = [Session(url, "baby_gpt", "baby_steps=100000", cookie=f"{COOKIE}={c}")
               for c in cookies]
    for c in clients:
        await c.open()
    for c in clients:
        await c.click("Train", wait=False)
    t_start = time.monotonic()
    await asyncio.sleep(seconds / 2)
    newcomer = Session(url, "baby_gpt", "")  # no cookie yet: a first visit
    with contextlib.suppress(TimeoutError):
        await newcomer.open(timeout=60)
    newcomer_s = newcomer.first_finished_s
    await newcomer.close()
    await asyncio.sleep(max(0.0, t_start + seconds - time.monotonic()))
    t_kill = time.monotonic()
    per = [{"replica": w, "steps_before_kill": c.step,
            "redraws_per_s": len([r for r in c.redraws if t_start + 2 <= r.t <= t_kill])
            / (t_kill - t_start - 2),
            "progressed": c.step > 0, "exceptions": list(c.exceptions),
            # the interval its view ticks at, as its replica chose it from its class and what
            # a redraw costs it there (gptviz.live.slots.redraw_interval)
            "redraw_gap_median_s": _median_gap([r.t for r in c.redraws], t_start + 2, t_kill)}
           for c, w in zip(clients, where, strict=True)]

    # kill replica 1, as a crash would
    ports = sorted(set(where))
    killed = (run_dir / "replica-1.port").read_text().strip()
    pid = int((run_dir / "replica-1.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(after_kill)
    t_end = time.monotonic()
    for c, w, p in zip(clients, where, per, strict=True):
        on_killed = w.endswith(f":{killed}")
        p["on_killed_replica"] = on_killed
        if on_killed:
            p["connection_closed_after_s"] = (None if c.closed_at is None
                                              else round(c.closed_at - t_kill, 2))
        else:
            gaps = _gaps([r.t for r in c.redraws], t_kill - 2, t_end)
            p["gap_max_around_kill_s"] = round(max(gaps), 2)
            p["steps_gained_after_kill"] = c.step - p["steps_before_kill"]
    # a user of the killed replica reloads: the same cookie, through nginx
    moved_cookie = next(c.cookie for c, w in zip(clients, where, strict=True)
                        if w.endswith(f":{killed}"))
    reload = Session(url, "baby_gpt", "", cookie=moved_cookie)
    with contextlib.suppress(TimeoutError):
        await reload.open(timeout=30)
    reload_s = reload.first_finished_s
    reload_texts = list(reload.texts)
    await reload.close()
    for c in clients:
        await c.close()
    survivors = [p for p in per if not p["on_killed_replica"]]
    victims = [p for p in per if p["on_killed_replica"]]
    return {
        "sessions": sessions, "replicas_used": ports, "killed_replica": f"127.0.0.1:{killed}",
        "sessions_per_replica": {r: where.count(r) for r in ports},
        "every_session_progressed": all(p["progressed"] for p in per),
        "no_exceptions": not any(p["exceptions"] for p in per),
        "redraws_per_s_min": round(min(p["redraws_per_s"] for p in per), 2),
        "newcomer_page_s": None if newcomer_s is None else round(newcomer_s, 2),
        "killed_sessions_closed": all(p["connection_closed_after_s"] is not None
                                      for p in victims),
        "killed_sessions_closed_within_s": max((p["connection_closed_after_s"] or 0)
                                               for p in victims) if victims else None,
        "survivors_gap_max_s": max(p["gap_max_around_kill_s"] for p in survivors)
        if survivors else None,
        "survivors_all_gained_steps": all(p["steps_gained_after_kill"] > 0 for p in survivors),
        "survivors_steps_gained_after_kill": sum(p["steps_gained_after_kill"]
                                                 for p in survivors),
        # the interval the survivors' views ticked at before the kill (measured, not derived
        # again here: the replica's choice depends on the redraw cost it measured)
        "survivors_redraw_interval_max_s": max(p["redraw_gap_median_s"] for p in survivors)
        if survivors else None,
        "reload_after_kill_page_s": None if reload_s is None else round(reload_s, 2),
        "reload_after_kill_texts": reload_texts[:5],
        "per_session": per,
    }


def run(replicas: int = 2, sessions: int = 20, seconds: float = 20.0,
        after_kill: float = 8.0, run_dir: Path | None = None) -> dict[str, Any]:
    import tempfile

    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="gptviz-serve-"))
    with serve(replicas, run_dir) as s:
        out = run_async(_class(s["url"], run_dir, sessions, seconds, after_kill))
        out["serve_started_s"] = round(s["started_s"], 2)
    out["replicas"] = replicas
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args(argv)
    info = machine()
    res = run(args.replicas, args.sessions, args.seconds)
    print(json.dumps({k: v for k, v in res.items() if k != "per_session"}, indent=2))
    path = write_json("replicas", {"part": "replicas", "machine": info, "results": res},
                      args.out)
    print(f"(wrote {path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
