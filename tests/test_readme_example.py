"""The notebook example in the README runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- example:start -->", "<!-- example:end -->"


def example_source() -> tuple[str, str]:
    for path in (ROOT / "README.md", ROOT / "docs" / "notebook_example.md"):
        if path.is_file() and START in (text := path.read_text(encoding="utf-8")):
            block = text.split(START, 1)[1].split(END, 1)[0]
            code = re.search(r"```python\n(.*?)```", block, flags=re.S)
            assert code, f"no python block between the markers in {path.name}"
            return path.name, code.group(1)
    raise AssertionError("no example between the markers in README.md or docs/")


def test_notebook_example_trains_addition_and_answers(capsys):
    name, source = example_source()
    ns: dict = {}
    exec(compile(source, name, "exec"), ns)
    evals = ns["evals"]
    assert evals[0].step == 0 and evals[-1].step == 300
    assert evals[-1].val_loss < 0.6 * evals[0].val_loss  # it learnt something about sums
    assert evals[-1].metrics["accuracy"] > 0.3 > evals[0].metrics["accuracy"]  # from about 0
    out = capsys.readouterr().out
    assert "step 300: val loss" in out
    assert re.search(r"^37 \+ 85 = \d{3} \((right|wrong: .+)\)$", out, flags=re.M)
    fig = ns["accuracy_figure"](evals)
    assert len(fig.data[0].x) == len(evals)


def test_readme_gpt1_snippet_computes_the_combined_loss():
    """The GPT-1 notebook snippet in the README runs as printed, and its loss is L2 + 0.5 * L1."""
    import torch

    text = (ROOT / "README.md").read_text(encoding="utf-8").split("### GPT-1", 1)[1]
    code = re.search(r"```python\n(.*?)```", text, flags=re.S)
    assert code, "no python block in the README's GPT-1 section"
    ns: dict = {}
    exec(compile(code.group(1), "README.md (GPT-1)", "exec"), ns)
    out, loss, batch = ns["out"], ns["loss"], ns["batch"]
    l2 = torch.nn.functional.cross_entropy(out.class_logits, batch.labels)
    assert torch.isclose(loss.total, l2 + 0.5 * out.lm_loss)
    # backward reached the classification head and the transformer
    grads = [p.grad for p in ns["model"].parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    # the multiple-choice lines: 8 examples of 4 sequences, a score for each choice
    assert ns["quiz"].idx.shape == (8, 4, 43) and ns["scores"].shape == (8, 4)


def test_readme_library_snippet_trains_document_000_and_ablates(capsys):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (source,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
                 if "from gptviz.ablate import" in b]
    ns: dict = {}
    exec(compile(source, "README.md", "exec"), ns)
    out = capsys.readouterr().out
    effects = re.findall(r"^(L\d H\d|MLP \d) ([+-]\d\.\d{4})$", out, flags=re.M)
    # document 000's model: 4 layers of 4 heads and an MLP, each switched off alone
    assert [name for name, _ in effects] == [
        n for layer in range(1, 5) for n in [f"L{layer} H{h}" for h in range(1, 5)]
        + [f"MLP {layer}"]]
    assert any(float(v) != 0.0 for _, v in effects)
