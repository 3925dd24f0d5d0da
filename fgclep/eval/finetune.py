"""Fine-tuning probe: the ECG encoder AND a linear head train on the labelled subset.

Only reached through ``linear_probe(..., mode="finetune")`` / ``--mode finetune``: the reference
benchmark code fine-tuned silently unless a run name contained "linear"; here the mode is an
explicit argument. The epoch is selected by validation macro AUROC and the test split is scored
once, with the weights of the selected epoch.
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from fgclep.eval.features import _device_of, _load_batch
from fgclep.eval.linear_probe import _macro, stratified_subset, summarize_seeds
from fgclep.eval.metrics import evaluate_scores

logger = logging.getLogger(__name__)

__all__ = ["finetune_probe"]


class _Classifier(nn.Module):
    def __init__(self, model: Any, dim: int, n_classes: int):
        super().__init__()
        self.model = model
        self.head = nn.Linear(dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.model.encode_ecg(x))


@torch.no_grad()
def _scores(clf: _Classifier, cache: Any, idx: np.ndarray, batch_size: int, dev) -> np.ndarray:
    clf.eval()
    out = []
    for start in range(0, idx.size, batch_size):
        x = torch.from_numpy(np.ascontiguousarray(_load_batch(cache, idx[start:start + batch_size]),
                                                  dtype=np.float32)).to(dev)
        out.append(clf(x).float().cpu().numpy())
    return np.concatenate(out)


def finetune_probe(model: Any, cache: Any, tl: Any, fraction: float = 1.0,
                   seeds: Sequence[int] = (0, 1, 2), epochs: int = 10, lr: float = 1e-4,
                   weight_decay: float = 1e-4, batch_size: int = 32, n_boot: int = 1000,
                   device: str | None = None) -> tuple[dict, np.ndarray]:
    """Fine-tune a copy of the model's ECG encoder with a linear head, per seed.

    Parameters
    ----------
    model : DualEncoder-like
        Copied for each seed; the caller's model is not modified.
    cache : ECGCache-like or ndarray
        Signals (``signals(indices)``).
    tl : TaskLabels
        Indices and labels per split (:func:`fgclep.eval.taskdata.task_labels`).
    fraction : float
        Share of training labels (stratified, ≥ 1 positive per class).
    seeds : sequence of int
        Subset draw, head initialisation and batch order per seed.
    epochs, lr, weight_decay, batch_size : training settings (AdamW, binary cross-entropy).
    n_boot : int
        Bootstrap resamples for the test CIs.
    device : str, optional
        Default: the model's device.

    Returns
    -------
    (dict, numpy.ndarray)
        Summary over seeds (as :func:`fgclep.eval.linear_probe.linear_probe_from_features`) with
        ``selected_epoch`` and the validation curve per seed; test scores of the first seed.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"finetune_probe: epochs must be a positive int, got {epochs!r}")
    classes = list(tl.classes)
    dev = torch.device(device) if device is not None else _device_of(model)
    with torch.no_grad():
        probe = _load_batch(cache, tl.indices["train"][:1])
        model.eval()
        dim = int(model.encode_ecg(torch.from_numpy(np.asarray(probe, np.float32)).to(dev)).shape[-1])
    per_seed, first_scores = [], None
    for seed in seeds:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        sub = stratified_subset(tl.labels["train"], fraction, seed=seed)
        train_idx, y_train = tl.indices["train"][sub], tl.labels["train"][sub].astype(np.float32)
        clf = _Classifier(copy.deepcopy(model), dim, len(classes)).to(dev)
        params = [p for p in clf.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        loss_fn = nn.BCEWithLogitsLoss()
        best_state, best_val, best_epoch, curve = None, -np.inf, 0, []
        for epoch in range(1, epochs + 1):
            clf.train()
            order = rng.permutation(train_idx.size)
            for start in range(0, order.size, batch_size):
                b = order[start:start + batch_size]
                x = torch.from_numpy(np.ascontiguousarray(_load_batch(cache, train_idx[b]),
                                                          dtype=np.float32)).to(dev)
                loss = loss_fn(clf(x), torch.from_numpy(y_train[b]).to(dev))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            v = _macro(tl.labels["val"], _scores(clf, cache, tl.indices["val"], batch_size, dev))
            curve.append(v)
            logger.info("finetune_probe: seed %d epoch %d val macro AUROC %.4f", seed, epoch, v)
            if np.isfinite(v) and v > best_val:
                best_val, best_epoch = v, epoch
                best_state = copy.deepcopy(clf.state_dict())
        if best_state is not None:
            clf.load_state_dict(best_state)
        s_val = _scores(clf, cache, tl.indices["val"], batch_size, dev)
        s_test = _scores(clf, cache, tl.indices["test"], batch_size, dev)
        res = evaluate_scores(tl.labels["test"], s_test, classes, y_val=tl.labels["val"],
                              scores_val=s_val, n_boot=n_boot, seed=seed)
        res.update({"seed": int(seed), "n_train": int(sub.size), "selected_epoch": best_epoch,
                    "val_macro_auroc_by_epoch": curve})
        per_seed.append(res)
        if first_scores is None:
            first_scores = s_test
        del clf, opt, best_state
    summary = summarize_seeds(per_seed, classes)
    summary.update({"classes": classes, "fraction": float(fraction), "mode": "finetune",
                    "head": "torch nn.Linear on encode_ecg output, encoder trained (AdamW, BCE)",
                    "epochs": epochs, "lr": lr, "seeds": [int(s) for s in seeds], "per_seed": per_seed})
    return summary, first_scores
