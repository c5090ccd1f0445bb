"""The first optimizer's cost, paid in the background once a page beyond the home page has run.

PyTorch's optimizers import torch._dynamo on their first construction (0.8 s here). No page
needs an optimizer to draw (a Trainer builds its AdamW at its first step), so the pages do not
wait for this: pages/_warm.py imports this module in a background thread after the first run of
a training page, while the browser draws it and the reader looks, and the first click of Train
usually finds the import done. If it does not, the training thread's own import of
torch._dynamo waits on Python's lock for that module until this thread has finished it (a
thread that holds no import lock of its own cannot deadlock on it).
"""

from __future__ import annotations

import torch

from gptviz.config import TrainConfig
from gptviz.train import make_optimizer

_w = torch.nn.Linear(2, 2)
_opt, _ = make_optimizer(_w, TrainConfig())  # as a Trainer builds it
_w(torch.zeros(1, 2)).sum().backward()
_opt.step()
del _w, _opt
