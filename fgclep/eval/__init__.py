"""Evaluation of pretrained ECG encoders: zero-shot from class prompts, linear probe (and explicit
fine-tuning), metrics (AUROC with bootstrap CIs, F1 at validation-chosen thresholds), plots, and
the six-task benchmark table.

Zero-shot follows CLIP/MERL (Liu et al., ICML 2024): prompts → averaged text embeddings, cosine
similarity per class. fgclep departs from MERL's released benchmark code where it was wrong
(DESIGN.md §3): labels are matched by class name, the probe mode is explicit, hyper-parameters
and epochs are selected on validation, and low-label subsets keep a positive per class.
"""
from __future__ import annotations

from fgclep.eval.features import embedding_throughput, extract_ecg_features
from fgclep.eval.linear_probe import linear_probe, linear_probe_from_features, stratified_subset
from fgclep.eval.metrics import (auroc, bootstrap_ci, evaluate_scores, f1_at_thresholds,
                                 macro_auroc, select_thresholds)
from fgclep.eval.prompts import builtin_prompts, load_prompt_file, prompts_for_classes
from fgclep.eval.zeroshot import class_embeddings, zeroshot, zeroshot_from_features, zeroshot_scores

__all__ = [
    "auroc", "bootstrap_ci", "builtin_prompts", "class_embeddings", "embedding_throughput",
    "evaluate_scores", "extract_ecg_features", "f1_at_thresholds", "linear_probe",
    "linear_probe_from_features", "load_prompt_file", "macro_auroc", "prompts_for_classes",
    "select_thresholds", "stratified_subset", "zeroshot", "zeroshot_from_features", "zeroshot_scores",
]
