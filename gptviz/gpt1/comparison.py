"""Pre-trained vs scratch: the comparison that tests GPT-1's claim, and the CPU-sized recipe.

`run_comparison` fine-tunes from the pre-trained GPT and from random weights, with everything
else equal, at one or more numbers of labelled examples, reporting progress through events and
stopping when asked. `ComparisonJob` runs it in a background thread for a page to poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gptviz.config import ConfigError, GPTConfig, TrainConfig
from gptviz.gpt1.finetune import (
    INITS,
    ClassifierGPT,
    EncodedExamples,
    FineTuneConfig,
    FineTuneEvent,
    FineTuner,
    FineTuneStep,
    encode_examples,
    new_classifier,
    special_ids,
)
from gptviz.gpt1.labelled import HELD_OUT_FRACTION, LabelledTask
from gptviz.i18n import N_, _
from gptviz.live import BackgroundJob, FairSlots, Turns
from gptviz.model import GPT
from gptviz.tasks.text import TextTask
from gptviz.tokenizers import Tokenizer
from gptviz.train import TrainingDiverged


@dataclass
class RunCurve:
    """Validation accuracy over steps of one fine-tuning run."""

    init: str  # "pretrained" or "scratch"
    n_labelled: int
    steps: list[int] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # L3 per step
    finished: bool = False
    seconds: float = 0.0

    @property
    def final_accuracy(self) -> float | None:
        return self.val_accuracy[-1] if self.finished and self.val_accuracy else None

    def copy(self) -> RunCurve:
        return RunCurve(self.init, self.n_labelled, list(self.steps), list(self.val_accuracy),
                        list(self.train_accuracy), list(self.losses), self.finished, self.seconds)


@dataclass(frozen=True)
class CompareProgress:
    run: RunCurve  # the run being trained (a copy)
    run_index: int  # 0-based
    runs_total: int


def labelled_data(task: LabelledTask, tokenizer: Tokenizer, block_size: int, n_train: int,
                  n_val: int, seed: int = 0) -> tuple[EncodedExamples, EncodedExamples]:
    """n_train training examples (seeded) and the fixed validation set (always seed 0)."""
    train = encode_examples(tokenizer, task.examples("train", n_train, seed), block_size,
                            task.transformation)
    val = encode_examples(tokenizer, task.examples("val", n_val, 0), block_size,
                          task.transformation)
    return train, val


def run_comparison(
    task: LabelledTask,
    tokenizer: Tokenizer,
    model_config: GPTConfig,
    config: FineTuneConfig,
    pretrained: GPT | None = None,
    label_counts: Sequence[int] | None = None,
    inits: Sequence[str] = INITS,
    on_event: Callable[[CompareProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    models: dict[tuple[str, int], ClassifierGPT] | None = None,
) -> list[RunCurve]:
    """Fine-tune from each starting point at each number of labelled examples.

    Runs with the same number of examples see the same examples, in the same batches, with the
    same head and the same validation set: only the GPT's starting weights differ. Returns one
    RunCurve per (n_labelled, init), in order; a stopped comparison returns what it finished.
    models, when given, receives each finished fine-tuned model under (init, n_labelled).
    """
    config.validate()
    counts = sorted(set(label_counts or [config.n_labelled]))
    for n in counts:
        if not 2 <= n <= 10_000:
            raise ConfigError(_("The number of labelled examples must be 2 to 10,000."))
    for init in inits:
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, not {init!r}")
    if "pretrained" in inits and pretrained is None:
        raise ConfigError(_("There is no pre-trained model yet: run stage 1 first, or "
                            "fine-tune from scratch only."))
    extract_id = special_ids(tokenizer)[2]
    train_all, val = labelled_data(task, tokenizer, model_config.block_size, max(counts),
                                   config.n_val, config.seed)
    plan = [(n, init) for n in counts for init in inits]
    runs: list[RunCurve] = []
    for i, (n, init) in enumerate(plan):
        if should_stop and should_stop():
            break
        curve = RunCurve(init, n)
        runs.append(curve)
        t0 = time.perf_counter()
        model = new_classifier(init, model_config, task.n_classes, extract_id, pretrained,
                               config.seed, config.head_dropout, task.transformation)
        tuner = FineTuner(model, train_all.subset(slice(0, n)), val, config)

        def record(event: FineTuneEvent, curve: RunCurve = curve, i: int = i,
                   t0: float = t0) -> None:
            if isinstance(event, FineTuneStep):
                curve.losses.append(event.loss)
                return
            curve.steps.append(event.step)
            curve.val_accuracy.append(event.val_accuracy)
            curve.train_accuracy.append(event.train_accuracy)
            curve.seconds = time.perf_counter() - t0
            if on_event:
                on_event(CompareProgress(curve.copy(), i, len(plan)))

        tuner.add_callback(record)
        tuner.evaluate()  # step 0: the head is untrained, so about chance
        tuner.run(config.steps, should_stop)
        curve.finished = tuner.step_count == config.steps
        curve.seconds = time.perf_counter() - t0
        if models is not None and curve.finished:
            models[(init, n)] = model.eval()
        if on_event:
            on_event(CompareProgress(curve.copy(), i, len(plan)))
    return runs


def accuracy_table(runs: Sequence[RunCurve]) -> dict[str, dict[int, float]]:
    """{init: {n_labelled: final validation accuracy}} over finished runs."""
    table: dict[str, dict[int, float]] = {}
    for r in runs:
        if r.final_accuracy is not None:
            table.setdefault(r.init, {})[r.n_labelled] = r.final_accuracy
    return table


# --- in the background, for a page ----------------------------------------------------------

class ComparisonJob(BackgroundJob):
    """run_comparison in the background, polled by a page through snapshot().

    It waits for a training slot like every LiveRun and takes turns with them between steps
    (gptviz/live/job.py); stop() returns at once and the comparison ends after its current step.
    """

    def __init__(self, slots: FairSlots | None = None) -> None:
        super().__init__(slots, name="gptviz-finetune")
        self._runs: list[RunCurve] = []
        self._runs_total = 0
        self.models: dict[tuple[str, int], ClassifierGPT] = {}  # finished runs' fine-tuned models
        self._status = "idle"  # "idle", "queued", "running", "done", "stopped", "error"
        self.message: str | None = None

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    def start(self, **kwargs) -> None:
        """Start run_comparison(**kwargs) in the background, replacing any that runs now."""
        with self._lock:
            self._runs, self._runs_total = [], 0
            self._status, self.message = "queued", None
            self.models = {}
            self._submit(lambda turns: self._work(turns, kwargs))

    def stop(self) -> None:
        self.cancel()

    def _on_cancel(self) -> None:
        if self._status in ("queued", "running"):
            self._status = "stopped"

    def snapshot(self) -> tuple[str, list[RunCurve], int, str | None]:
        """(status, runs so far (copies), runs planned, message)."""
        with self._lock:
            return self._status, [r.copy() for r in self._runs], self._runs_total, self.message

    def _on_queue(self, queued: bool) -> None:
        with self._lock:
            if self._status in ("queued", "running"):
                self._status = "queued" if queued else "running"

    def _progress(self, p: CompareProgress) -> None:
        with self._lock:
            self._runs_total = p.runs_total
            if p.run_index < len(self._runs):
                self._runs[p.run_index] = p.run
            else:
                self._runs.append(p.run)

    def _set(self, status: str, message: str | None = None) -> None:
        with self._lock:
            self._status, self.message = status, message

    def _work(self, turns: Turns, kwargs: dict) -> None:
        if not turns.wait():
            return
        try:
            models: dict[tuple[str, int], ClassifierGPT] = {}
            with self._lock:
                self.models = models  # filled as each run finishes
            run_comparison(**kwargs, on_event=self._progress,
                           should_stop=lambda: not turns.between_steps(), models=models)
            with self._lock:
                if not turns.stop.is_set():
                    self._status = "done"
        except (ConfigError, TrainingDiverged) as e:
            self._set("error", str(e))
        except Exception as e:  # shown on the page; the pre-trained model is never touched
            self._set("error", _("Fine-tuning stopped: {error}: {detail}").format(
                error=type(e).__name__, detail=e))


# --- the recipe at CPU scale ------------------------------------------------------------------

@dataclass(frozen=True)
class Preset:
    label: str
    n_layer: int
    n_head: int
    n_embd: int
    block_size: int = 64  # fits both tasks with their special tokens (about 50 tokens)

    def model_config(self, vocab_size: int) -> GPTConfig:
        return GPTConfig(vocab_size=vocab_size, block_size=self.block_size, n_layer=self.n_layer,
                         n_head=self.n_head, n_embd=self.n_embd, dropout=0.0).validate()


# tiny first: measured on a 2-core CPU with one torch thread, it pre-trains 600 steps in under a
# minute and reaches a lower held-out loss in those steps than small (1.68 vs 1.87 nats), and
# pre-training helps it more (bench/gpt1_compare.py); small is about 6x slower per step
PRESETS = {
    "tiny": Preset(N_("tiny: 2 layers, 64 wide (about 0.1 M parameters; the default)"), 2, 4,
                   64),
    "small": Preset(N_("small: 4 layers, 128 wide (about 0.8 M parameters; about 6x slower)"),
                    4, 4, 128),
}
# AdamW on the corpus; 2e-3 learns fastest in a few hundred steps at these sizes
PRETRAIN = TrainConfig(learning_rate=2e-3, weight_decay=0.1, batch_size=32, max_steps=600,
                       seed=1337, eval_interval=50, eval_batches=4)


def pretrain_task(text: str, tokenizer: Tokenizer, block_size: int) -> TextTask:
    """Stage 1's data: windows of the corpus; its held-out end is the labelled tasks' val text."""
    return TextTask(text, tokenizer, block_size, val_fraction=HELD_OUT_FRACTION)
