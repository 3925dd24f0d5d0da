"""The pretraining-and-evaluation half of ``fgclep demo`` (steps appended to :data:`fgclep.demo.STEPS`).

preprocess (SYNTHETIC corpus → cache) → extract features (``fgclep.signal.ecg_measure`` on the
cached signals → ``features.csv``) → recover features (knowledge-base backend, validated against
those measurements → ``CACHE/enhanced_reports.csv``) → train *coarse* on the original reports →
train *fine* on the enhanced reports starting from coarse → evaluate fine, coarse and a randomly
initialised encoder (zero-shot from fgclep's class prompts, linear probe) on held-out test records.

Each step is ``step(config, state) -> dict`` like the steps of :mod:`fgclep.demo`; the state
carries paths and objects between them. With ``config.data`` the chain runs on that real
preprocessed cache instead of generating one (the label then says so, not SYNTHETIC).
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# Sizes of the two demo scales. "small" is what CI runs (about 2 minutes on 2 cores).
SIZES: dict[str, dict[str, Any]] = {
    "full": {"n_records": 1500, "coarse_epochs": 10, "fine_epochs": 4, "batch_size": 64, "lr": 2e-3},
    "small": {"n_records": 400, "coarse_epochs": 6, "fine_epochs": 3, "batch_size": 50, "lr": 3e-3},
}
MODEL = "resnet1d_small"  # a few hundred records/s on one CPU core (docs/benchmarks.md)
MODELS = ("fine", "coarse", "random")

__all__ = ["SIZES", "MODEL", "MODELS", "step_preprocess", "step_features", "step_recover",
           "step_train", "step_evaluate", "format_results"]


def _label(config) -> str:
    return "REAL DATA" if getattr(config, "data", None) else "SYNTHETIC"


def _sizes(config) -> dict[str, Any]:
    return SIZES["small" if config.small else "full"]


def step_preprocess(config, state: dict) -> dict:
    """Write the SYNTHETIC corpus into a preprocessing cache (or open ``config.data``)."""
    from fgclep.data import open_cache

    t0 = time.perf_counter()
    if getattr(config, "data", None):
        path = Path(config.data)
        made = False
    else:
        from fgclep.data.preprocess import PreprocessConfig, preprocess

        path = config.out_dir / "cache"
        n = config.chain_records or _sizes(config)["n_records"]
        preprocess(PreprocessConfig("synthetic", path, limit=n, seed=config.seed, progress=False,
                                    overwrite=True))
        made = True
    ds = open_cache(path)
    state["cache"] = path
    splits = ds.index["split"].value_counts().to_dict()
    return {"cache": str(path), "n_records": len(ds), "splits": {k: int(v) for k, v in splits.items()},
            "dataset": ds.meta.get("dataset"), "generated": made, "seconds": time.perf_counter() - t0,
            "summary": f"{_label(config)} cache {path} ({len(ds)} records, splits {splits})"}


def step_features(config, state: dict) -> dict:
    """Measure every cached record with ``fgclep.signal.ecg_measure``; write ``features.csv``."""
    import pandas as pd

    from fgclep.data import open_cache
    from fgclep.signal import ecg_measure

    ds = open_cache(state["cache"])
    fs = float(ds.meta.get("sampling_rate", 500))
    t0 = time.perf_counter()
    tables = []
    for start in range(0, len(ds), 256):
        idx = np.arange(start, min(start + 256, len(ds)))
        table = ecg_measure(ds.signals(idx), fs)
        table.insert(0, "record", ds.index["id"].iloc[idx].astype(str).to_numpy())
        tables.append(table)
    seconds = time.perf_counter() - t0
    features = pd.concat(tables, ignore_index=True)
    path = config.out_dir / "features.csv"
    features.to_csv(path, index=False)
    state["features"] = path
    cols = [c for c in ("heart_rate", "pr_interval", "qrs_duration", "qtc_bazett", "qrs_axis")
            if c in features.columns]
    nan_share = {c: float(features[c].isna().mean()) for c in cols}
    return {"features_csv": str(path), "n_records": len(features), "n_columns": features.shape[1] - 1,
            "seconds": seconds, "records_per_s": len(features) / seconds if seconds else None,
            "nan_share": nan_share,
            "summary": f"ecg_measure: {len(features)} records in {seconds:.1f} s "
                       f"({len(features) / max(seconds, 1e-9):.0f} records/s) -> {path}"}


def step_recover(config, state: dict) -> dict:
    """Recover waveform features from the reports (KB backend), validated by the measurements."""
    from fgclep.recovery.pipeline import RecoveryConfig, recover_features

    t0 = time.perf_counter()
    out = config.out_dir / "enhanced.jsonl"
    if out.exists():  # a fresh run: recover-features resumes from an existing file otherwise
        out.unlink()
    res = recover_features(RecoveryConfig(out=out, cache=state["cache"], features=state["features"],
                                          backend="kb", proposal_cache=config.out_dir / "kb.sqlite"))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    n_changed = sum(r["enhanced_report"] != r["report"] for r in rows)
    example = next((r for r in rows if r["confirmed"]), rows[0] if rows else None)
    totals = {k: int(v) for k, v in res.stats.get("totals", {}).items()}
    return {"enhanced_jsonl": str(out), "enhanced_csv": str(res.enhanced_csv), "n_records": len(rows),
            "n_enhanced": n_changed, "totals": totals, "refuted_rate": res.stats.get("refuted_rate"),
            "stats_json": str(res.stats_path), "seconds": time.perf_counter() - t0,
            "example": {k: example[k] for k in ("report", "confirmed", "refuted", "enhanced_report")}
            if example else None,
            "summary": f"kb recovery: {n_changed} of {len(rows)} reports gained validated features; "
                       f"{totals}"}


def _train_one(config, state: dict, stage: str, out: Path, init: Path | None) -> dict:
    from fgclep.train import TrainConfig, train

    from fgclep.data import open_cache

    s = _sizes(config)
    n_train = int((open_cache(state["cache"]).index["split"] == "train").sum())
    cfg = TrainConfig(cache=str(state["cache"]), out=str(out), model=MODEL, stage=stage,
                      init=str(init) if init else None, target=config.target,
                      # SigLIP's logit-bias start for (near-)identity targets; 0 suits soft targets.
                      model_overrides={"init_logit_bias": -10.0} if config.target != "fgclep" else {},
                      epochs=s["coarse_epochs"] if stage == "coarse" else s["fine_epochs"],
                      batch_size=max(2, min(s["batch_size"], n_train)), lr=s["lr"], device="cpu",
                      seed=config.seed,
                      progress=False, log_every=5)
    t0 = time.perf_counter()
    res = train(cfg)
    return {"run_dir": str(out), "steps": int(res["steps"]), "final_loss": float(res["final_loss"]),
            "epochs": cfg.epochs, "seconds": time.perf_counter() - t0}


def step_train(config, state: dict) -> dict:
    """Train coarse (original reports), then fine (enhanced reports, initialised from coarse)."""
    runs = config.out_dir / "runs"
    coarse = _train_one(config, state, "coarse", runs / "coarse", None)
    fine = _train_one(config, state, "fine", runs / "fine", runs / "coarse")
    state["runs"] = {"coarse": runs / "coarse", "fine": runs / "fine"}
    return {"model": MODEL, "coarse": coarse, "fine": fine,
            "summary": f"{MODEL}: coarse {coarse['steps']} steps ({coarse['seconds']:.0f} s, loss "
                       f"{coarse['final_loss']:.3f}), fine {fine['steps']} steps ({fine['seconds']:.0f} s, "
                       f"loss {fine['final_loss']:.3f})"}


def _task_for(config, cache) -> Any:
    from fgclep.data.tasks import get_task, list_tasks

    if getattr(config, "task", None):
        return get_task(config.task)
    dataset = cache.meta.get("dataset")
    for name in list_tasks():
        if get_task(name).dataset == dataset:
            return get_task(name)
    raise ValueError(f"demo: no benchmark task for dataset {dataset!r}; pass task=...")


def step_evaluate(config, state: dict) -> dict:
    """Zero-shot and linear probe of fine, coarse and random encoders on the held-out test split."""
    import torch

    from fgclep.data import open_cache
    from fgclep.eval.features import extract_ecg_features, load_encoder
    from fgclep.eval.linear_probe import linear_probe_from_features
    from fgclep.eval.plots import plot_model_comparison, plot_roc_curves
    from fgclep.eval.prompts import builtin_prompts, prompts_for_classes
    from fgclep.eval.taskdata import resolve_task, task_labels
    from fgclep.eval.zeroshot import class_embeddings, zeroshot_from_features
    from fgclep.models import create_model

    cache = open_cache(state["cache"])
    task = resolve_task(_task_for(config, cache), cache.index)
    tl = task_labels(cache.index, task, seed=config.seed)
    prompts = prompts_for_classes(task.classes, builtin_prompts(task.name), source=task.name)
    label = _label(config)
    results: dict[str, Any] = {"label": label, "task": task.name, "classes": list(task.classes),
                               "n_test": int(len(tl.indices["test"])), "models": {}}
    t0 = time.perf_counter()
    for name in MODELS:
        if name == "random":
            torch.manual_seed(config.seed + 1)
            model = create_model(MODEL)
        else:
            model = load_encoder(state["runs"][name])
        feats = {s: extract_ecg_features(model, cache, tl.indices[s], batch_size=128)
                 for s in ("train", "val", "test")}
        class_emb = class_embeddings(model, prompts)
        zs, scores = zeroshot_from_features(feats["test"], tl.labels["test"], class_emb,
                                            task.classes, feats["val"], tl.labels["val"], n_boot=200,
                                            seed=config.seed)
        lp, _ = linear_probe_from_features(feats, tl.labels, task.classes, fraction=1.0, seeds=(config.seed,),
                                           n_boot=0)
        results["models"][name] = {
            "zeroshot": {"macro_auroc": zs["macro_auroc"], "macro_auroc_ci": zs["macro_auroc_ci"],
                         "macro_f1": zs.get("macro_f1"),
                         "per_class_auroc": {r["class"]: r["auroc"] for r in zs["per_class"]}},
            "linear_probe": {"macro_auroc": lp["macro_auroc"], "fraction": 1.0,
                             "selected_C": lp["per_seed"][0]["selected_C"]},
        }
        plot_roc_curves(tl.labels["test"], scores, list(task.classes),
                        config.out_dir / f"roc_zeroshot_{name}.png",
                        title=f"{label}: zero-shot ROC, {name} encoder, {task.name} test split")
        del model
    results["seconds"] = time.perf_counter() - t0
    plot_model_comparison({"zero-shot": {m: results["models"][m]["zeroshot"]["macro_auroc"] for m in MODELS},
                           "linear probe": {m: results["models"][m]["linear_probe"]["macro_auroc"]
                                            for m in MODELS}},
                          config.out_dir / "macro_auroc.png",
                          title=f"{label}: macro AUROC on held-out {task.name} test records")
    # results.json: the contract other tools and CI read (zeroshot / linear_probe macro AUROC per model).
    flat = {"label": label, "task": task.name, "n_test": results["n_test"],
            **{m: {"zeroshot": {"macro_auroc": results["models"][m]["zeroshot"]["macro_auroc"]},
                   "linear_probe": {"macro_auroc": results["models"][m]["linear_probe"]["macro_auroc"]}}
               for m in MODELS},
            "details": results}
    path = config.out_dir / "results.json"
    path.write_text(json.dumps(flat, indent=2) + "\n")
    table = format_results(flat)
    (config.out_dir / "results.md").write_text(table + "\n")
    return {"results_json": str(path), "table": table, "seconds": results["seconds"],
            **{m: flat[m] for m in MODELS},
            "summary": "results table below; " + str(path)}


def format_results(flat: dict) -> str:
    """The demo's results table (Markdown), labelled with the data's origin."""
    lines = [f"{flat['label']} results, task {flat['task']}, {flat['n_test']} held-out test records "
             f"(macro AUROC)", "", "| encoder | zero-shot | linear probe (100 %) |", "|---|---|---|"]
    desc = {"fine": "fine (coarse + enhanced reports)", "coarse": "coarse (original reports only)",
            "random": "random initialisation"}
    for m in MODELS:
        zs, lp = flat[m]["zeroshot"]["macro_auroc"], flat[m]["linear_probe"]["macro_auroc"]
        lines.append(f"| {desc[m]} | {'–' if zs is None else f'{zs:.3f}'} | "
                     f"{'–' if lp is None else f'{lp:.3f}'} |")
    return "\n".join(lines)
