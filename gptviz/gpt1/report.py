"""What a GPT-1 comparison shows so far, as sentences, a progress bar and table rows.

Pure functions of the RunCurves that ComparisonJob reports; the GPT-1 page only renders them.
"""

from __future__ import annotations

from collections.abc import Sequence

from gptviz.gpt1.comparison import RunCurve, accuracy_table
from gptviz.i18n import N_, _

NOISE = 0.03  # about one standard error of accuracy on 256 validation examples
# a run's starting point as shown (the keys are RunCurve.init's values)
INIT_NAMES = {"pretrained": N_("pretrained"), "scratch": N_("scratch")}


def init_name(init: str) -> str:
    """A starting point in this run's language ("pretrained" in English, as before)."""
    return _(INIT_NAMES[init]) if init in INIT_NAMES else init


def verdict(runs: Sequence[RunCurve], noise: float = NOISE) -> list[str]:
    """One plain sentence per number of labelled examples that both starting points finished,
    however it came out: helped, hurt, or within the noise."""
    table = accuracy_table(runs)
    lines = []
    for n in sorted(set(table.get("pretrained", {})) & set(table.get("scratch", {}))):
        pre, scratch = table["pretrained"][n], table["scratch"][n]
        gain = pre - scratch
        if gain > noise:
            line = _("With {n} labelled examples: {pre:.0%} from the pre-trained GPT, "
                     "{scratch:.0%} from scratch; pre-training helped: **{gain:+.0f} points**.")
        elif gain < -noise:
            line = _("With {n} labelled examples: {pre:.0%} from the pre-trained GPT, "
                     "{scratch:.0%} from scratch; pre-training **hurt**: {gain:+.0f} points.")
        else:
            line = _("With {n} labelled examples: {pre:.0%} from the pre-trained GPT, "
                     "{scratch:.0%} from scratch; **no clear difference** ({gain:+.0f} points, "
                     "within the noise of about ±{noise:.0f} points).")
        lines.append(line.format(n=n, pre=pre, scratch=scratch, gain=100 * gain,
                                 noise=100 * noise))
    return lines


def progress(status: str, runs: Sequence[RunCurve], total: int,
             steps_per_run: int) -> tuple[float, str]:
    """(the share of the planned steps done, 0 to 1; the status in words)."""
    done = sum(r.finished for r in runs)
    current = runs[-1] if runs else None
    step = current.steps[-1] if current is not None and current.steps else 0
    partial = 0.0 if current is None or current.finished else step / max(1, steps_per_run)
    text = {"queued": _("Waiting for a free training slot (other users are training)…"),
            "running": (_("Fine-tuning run {i} of {total} ({init}, {n} examples, step {step})")
                        .format(i=len(runs), total=total, init=init_name(current.init),
                                n=current.n_labelled, step=step)
                        if current else _("Starting fine-tuning…")),
            "done": _("Finished {n} runs.").format(n=done),
            "stopped": _("Stopped after {n} finished runs.").format(n=done),
            "error": _("Fine-tuning stopped with an error.")}.get(status, status)
    return min(1.0, (done + partial) / max(1, total)), text


def run_rows(runs: Sequence[RunCurve]) -> list[dict[str, object]]:
    """One table row per run: where it started, its latest accuracies, steps and time."""
    return [{
        _("start from"): init_name(r.init), _("labelled examples"): r.n_labelled,
        _("validation accuracy"): f"{r.val_accuracy[-1]:.1%}" if r.val_accuracy else "",
        _("training accuracy"): f"{r.train_accuracy[-1]:.1%}" if r.train_accuracy else "",
        _("steps"): r.steps[-1] if r.steps else 0, _("seconds"): round(r.seconds, 1),
        _("finished"): r.finished,
    } for r in runs]
