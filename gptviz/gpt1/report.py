"""What a GPT-1 comparison shows so far, as sentences, a progress bar and table rows.

Pure functions of the RunCurves that ComparisonJob reports; the GPT-1 page only renders them.
"""

from __future__ import annotations

from collections.abc import Sequence

from gptviz.gpt1.comparison import RunCurve, accuracy_table

NOISE = 0.03  # about one standard error of accuracy on 256 validation examples


def verdict(runs: Sequence[RunCurve], noise: float = NOISE) -> list[str]:
    """One plain sentence per number of labelled examples that both starting points finished,
    however it came out: helped, hurt, or within the noise."""
    table = accuracy_table(runs)
    lines = []
    for n in sorted(set(table.get("pretrained", {})) & set(table.get("scratch", {}))):
        pre, scratch = table["pretrained"][n], table["scratch"][n]
        gain = pre - scratch
        if gain > noise:
            what = f"pre-training helped: **{100 * gain:+.0f} points**"
        elif gain < -noise:
            what = f"pre-training **hurt**: {100 * gain:+.0f} points"
        else:
            what = (f"**no clear difference** ({100 * gain:+.0f} points, within the noise of "
                    f"about ±{100 * noise:.0f} points)")
        lines.append(f"With {n} labelled examples: {pre:.0%} from the pre-trained GPT, "
                     f"{scratch:.0%} from scratch; {what}.")
    return lines


def progress(status: str, runs: Sequence[RunCurve], total: int,
             steps_per_run: int) -> tuple[float, str]:
    """(the share of the planned steps done, 0 to 1; the status in words)."""
    done = sum(r.finished for r in runs)
    current = runs[-1] if runs else None
    step = current.steps[-1] if current is not None and current.steps else 0
    partial = 0.0 if current is None or current.finished else step / max(1, steps_per_run)
    text = {"queued": "Waiting for a free training slot (other users are training)…",
            "running": (f"Fine-tuning run {len(runs)} of {total}"
                        f" ({current.init}, {current.n_labelled} examples, step {step})"
                        if current else "Starting fine-tuning…"),
            "done": f"Finished {done} runs.", "stopped": f"Stopped after {done} finished runs.",
            "error": "Fine-tuning stopped with an error."}.get(status, status)
    return min(1.0, (done + partial) / max(1, total)), text


def run_rows(runs: Sequence[RunCurve]) -> list[dict[str, object]]:
    """One table row per run: where it started, its latest accuracies, steps and time."""
    return [{
        "start from": r.init, "labelled examples": r.n_labelled,
        "validation accuracy": f"{r.val_accuracy[-1]:.1%}" if r.val_accuracy else "",
        "training accuracy": f"{r.train_accuracy[-1]:.1%}" if r.train_accuracy else "",
        "steps": r.steps[-1] if r.steps else 0, "seconds": round(r.seconds, 1),
        "finished": r.finished,
    } for r in runs]
