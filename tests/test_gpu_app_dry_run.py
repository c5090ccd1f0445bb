"""scripts/gpu_check.sh and bench/gpu_app.py, which no machine of this project's CI can run on
a GPU: their dry run on the CPU goes through the same code (the app's LiveRuns, the page's
save and the load onto the CPU), and the script at least parses and names both parts."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

from bench.gpu_app import main

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.sh"


def test_gpu_app_dry_run_on_the_cpu(tmp_path):
    # enough steps that each run trains for over 0.5 s, the window LiveRun measures its rates in
    # (300 Baby GPT steps once took 0.47 s on a quiet machine and the rate stayed 0)
    out = main(["--device", "cpu", "--steps", "60", "--baby-steps", "1500",
                "--out", str(tmp_path)])
    res = out["results"]
    assert res["failures"] == [] and res["ok"] is True
    for name, steps in (("baby_gpt", 1500), ("text", 60)):
        r = res["runs"][name]
        assert (r["step"], r["status"], r["device"]) == (steps, "done", "cpu"), r
        assert r["steps_per_second"] > 0 and r["tokens_per_second"] > 0
        assert r["steps_per_second_start_to_done"] > 0
        assert math.isfinite(r["final_loss"]) and r["final_loss"] < r["first_loss"]
    sl = res["save_load"]
    assert sl["passed"] is True and sl["loaded_device"] == "cpu" and sl["loaded_step"] == 60
    assert sl["loss_diff"] <= 1e-3 and sl["max_weight_diff"] == 0.0
    assert json.loads((tmp_path / "gpu_app.json").read_text())["results"]["ok"] is True


def test_gpu_check_script_parses_and_runs_both_parts():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    text = SCRIPT.read_text()
    assert "-m bench.gpu_app" in text and "-m bench gpu" in text
    assert "set -uo pipefail" in text and "PYTHONUNBUFFERED=1" in text
    assert "bench/results/gpu" in text and "$OUT" in text
