"""The benchmark's CPU part (and the GPU part's code, on the CPU) write sane figures.

bench/ itself is not part of the test suite (it takes minutes); this runs it at its smallest
and checks the format of what it writes: the fields the README and the report rely on, and
medians that are positive, finite and ordered as the statistics say.
"""

from __future__ import annotations

import json
import math

from bench.__main__ import main
from bench.common import summarize


def assert_summary(s: dict) -> None:
    assert set(s) >= {"median", "p25", "p75", "min", "max", "n"}
    assert s["n"] >= 1
    assert 0 < s["min"] <= s["p25"] <= s["median"] <= s["p75"] <= s["max"]
    assert math.isfinite(s["max"])


def test_summary_statistics():
    s = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s["median"], s["p25"], s["p75"], s["min"], s["max"], s["n"]) == (3, 2, 4, 1, 5, 5)


def test_cpu_and_gpu_dry_run_write_their_figures(tmp_path, capsys):
    assert main(["--cpu", "--gpu-dry-run", "--repeats", "1", "--threads", "1", "--quick",
                 "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "nanoGPT reference" in printed and "gptviz Trainer.step" in printed

    cpu = json.loads((tmp_path / "cpu.json").read_text())
    assert cpu["part"] == "cpu"
    assert cpu["machine"]["versions"]["torch"] and cpu["machine"]["cpu_count"] >= 1
    assert set(cpu["results"]) == {"doc000/threads=1", "char/threads=1"}
    doc = cpu["results"]["doc000/threads=1"]
    assert doc["checks"]["reference_first_loss"] == doc["checks"]["gptviz_first_loss"]
    for name, v in doc["variants"].items():
        assert_summary(v["ms_per_step"])
        assert_summary(v["steps_per_second"])
        if name != "nanoGPT reference":
            assert_summary(v["ratio_to_reference"])
    assert {"gptviz Trainer.step", "gptviz page step (+eval)"} <= set(doc["variants"])

    gpu = json.loads((tmp_path / "gpu.json").read_text())
    res = gpu["results"]
    assert res["dry_run"] is True
    for v in res["variants"].values():
        assert_summary(v["ms_per_step"])
        assert_summary(v["tokens_per_second"])
    lc = res["loss_check"]
    assert math.isfinite(lc["fast_seed1337"]["val_loss"])
    assert lc["val_loss_diff_fast_vs_fp32"] >= 0 and isinstance(lc["within_noise"], bool)


def test_browser_rate_and_latency_from_page_marks():
    """The app part's arithmetic on the progress texts it collects in the page (epoch ms)."""
    from bench.browser import rate_from_marks, status_steps

    # 100 steps per second, the progress text changing every 0.5 s
    mk = [[1000.0 + 500 * i, "status", f"Training… Step {50 * i:,} of 100,000"]
          for i in range(6)]
    assert status_steps(mk)[-1] == (3500.0, 250)
    assert abs(rate_from_marks(mk) - 100.0) < 1e-9
    assert rate_from_marks(mk[:2]) is None  # too few points for a slope


def test_bench_runs_as_a_package_and_never_imports_the_tests():
    """`python -m bench.<tool>` is the one way to run bench/: no sys.path edits, no tests.*"""
    import ast
    from pathlib import Path

    files = sorted((Path(__file__).resolve().parents[1] / "bench").glob("*.py"))
    assert len(files) > 5
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                names = []
            assert not [n for n in names if n == "tests" or n.startswith("tests.")], path.name
            if isinstance(node, ast.Attribute) and node.attr == "path":
                assert not (isinstance(node.value, ast.Name) and node.value.id == "sys"), \
                    f"{path.name}:{node.lineno} touches sys.path"
