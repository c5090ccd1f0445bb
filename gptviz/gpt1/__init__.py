"""GPT-1 (document 004): pre-train on text, then fine-tune on a labelled task.

- `labelled.py`: the labelled tasks, made from the built-in corpus so they work offline;
- `finetune.py`: special tokens, input transformations, ClassifierGPT, L3 = L2 + λ·L1, FineTuner;
- `comparison.py`: pre-trained against scratch with everything else equal, as a background job.
"""
