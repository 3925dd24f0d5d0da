"""The six-task benchmark: zero-shot and 1/10/100 % linear probes, as a Markdown table.

Tasks and class orders follow MERL's benchmark (DESIGN.md §3): PTB-XL super/sub/form/rhythm,
CPSC2018 and Chapman-Shaoxing-Ningbo (CSN). Each task reads the cache of its dataset:
``CACHES/<task.dataset>`` (e.g. ``CACHES/ptbxl``), or ``CACHES/<task name>`` when that exists.
A task whose cache is missing is reported as missing, never silently dropped.
"""
from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

from fgclep.eval.linear_probe import DEFAULT_CS, linear_probe
from fgclep.eval.zeroshot import zeroshot

logger = logging.getLogger(__name__)

SIX_TASKS: tuple[str, ...] = ("ptbxl_super", "ptbxl_sub", "ptbxl_form", "ptbxl_rhythm", "cpsc2018", "csn")
FRACTIONS: tuple[float, ...] = (0.01, 0.1, 1.0)
TASK_TITLES = {"ptbxl_super": "PTBXL-Super", "ptbxl_sub": "PTBXL-Sub", "ptbxl_form": "PTBXL-Form",
               "ptbxl_rhythm": "PTBXL-Rhythm", "cpsc2018": "CPSC2018", "csn": "CSN",
               "synthetic": "Synthetic"}

__all__ = ["SIX_TASKS", "FRACTIONS", "find_cache", "evaluate_all", "markdown_tables"]


def find_cache(caches_dir: str | Path, task: Any) -> Path | None:
    """The cache directory of ``task`` under ``caches_dir`` (task name first, then dataset)."""
    root = Path(caches_dir)
    for name in (task.name, getattr(task, "dataset", None)):
        if name and (root / name / "index.csv").is_file():
            return root / name
    if (root / "index.csv").is_file():
        ds = _cache_dataset(root)
        if ds in (task.name, getattr(task, "dataset", None)):
            return root
    return None


def _cache_dataset(path: Path) -> str | None:
    try:
        return json.loads((path / "meta.json").read_text()).get("dataset")
    except (OSError, ValueError):
        return None


def _fmt(v: float | None, sd: float | None = None) -> str:
    if v is None:
        return "–"
    return f"{100 * v:.2f}" + (f" ± {100 * sd:.2f}" if sd is not None else "")


def markdown_tables(results: Mapping[str, Any], model_name: str = "fgclep") -> str:
    """Two Markdown tables in the paper's layout: zero-shot macro AUROC per task (+ average) and
    linear-probe macro AUROC per task × label fraction (mean ± SD over seeds), all × 100."""
    tasks = list(results["tasks"])
    lines = ["### Zero-shot (macro AUROC × 100, test split)", ""]
    head = ["model"] + [TASK_TITLES.get(t, t) for t in tasks] + ["Average"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    zs = [results["tasks"][t].get("zeroshot", {}).get("macro_auroc") for t in tasks]
    done = [v for v in zs if v is not None]
    avg = sum(done) / len(done) if done and len(done) == len(zs) else None
    lines.append("| " + " | ".join([model_name] + [_fmt(v) for v in zs] + [_fmt(avg)]) + " |")
    fractions = results.get("fractions", FRACTIONS)
    lines += ["", f"### Linear probe (macro AUROC × 100, mean ± SD over seeds {results.get('seeds')}, "
              f"mode {results.get('mode', 'linear')})", ""]
    head = ["model"] + [f"{TASK_TITLES.get(t, t)} {100 * f:g}%" for t in tasks for f in fractions]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    cells = []
    for t in tasks:
        for f in fractions:
            r = results["tasks"][t].get("linear_probe", {}).get(str(f))
            cells.append(_fmt(r["macro_auroc"], r.get("macro_auroc_sd")) if r else "–")
    lines.append("| " + " | ".join([model_name] + cells) + " |")
    missing = [t for t in tasks if results["tasks"][t].get("missing")]
    if missing:
        lines += ["", f"Missing caches (not evaluated): {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def evaluate_all(model: Any, caches_dir: str | Path, tasks: Sequence[str] = SIX_TASKS,
                 fractions: Sequence[float] = FRACTIONS, seeds: Sequence[int] = (0, 1, 2),
                 mode: str = "linear", Cs: Sequence[float] = DEFAULT_CS, n_boot: int = 1000,
                 prompts: str | Path | None = None, splits_dir: str | Path | None = None,
                 batch_size: int = 64, out_dir: str | Path | None = None, model_name: str = "fgclep",
                 finetune_options: Mapping[str, Any] | None = None) -> dict:
    """Zero-shot and linear probes on every task; writes per-task JSON and ``results.md``.

    Parameters
    ----------
    model : DualEncoder-like
    caches_dir : path
        Folder holding one preprocessed cache per dataset (``ptbxl/``, ``cpsc2018/``, ``csn/``).
    tasks : sequence of str
        Task names (default: the six benchmark tasks).
    fractions, seeds, mode, Cs, n_boot : see :func:`fgclep.eval.linear_probe.linear_probe`.
    prompts : path, optional
        A prompt file (e.g. MERL's ``CKEPE_prompt.json``) used for every task instead of the
        built-in prompts; read by class name.
    splits_dir : path, optional
        MERL split CSVs (``task.split_indices(..., splits_dir)``).
    out_dir : path, optional
        Receives ``<task>/zeroshot.json``, ``<task>/linear_probe_<fraction>.json``,
        ``results.json`` and ``results.md``. ECG features are cached under ``out_dir/features``.

    Returns
    -------
    dict
        ``tasks`` → {``zeroshot``, ``linear_probe`` {fraction → summary}, ``missing``}, plus
        ``markdown`` (the tables) and ``seconds``.
    """
    from fgclep.data import open_cache
    from fgclep.eval.taskdata import resolve_task

    t0 = time.perf_counter()
    if not Path(caches_dir).is_dir():
        raise ValueError(f"evaluate_all: caches folder {caches_dir} is not a directory")
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and out.exists() and not out.is_dir():
        raise ValueError(f"evaluate_all: out {out} is a file, not a directory")
    feat_dir = out / "features" if out is not None else None
    results: dict[str, Any] = {"tasks": {}, "fractions": [float(f) for f in fractions],
                               "seeds": [int(s) for s in seeds], "mode": mode}
    for name in tasks:
        task = resolve_task(name)
        entry: dict[str, Any] = {"missing": False}
        results["tasks"][name] = entry
        path = find_cache(caches_dir, task)
        if path is None:
            warnings.warn(f"evaluate_all: no cache for task {name} under {caches_dir} "
                          f"(looked for {name}/ and {task.dataset}/); reported as missing", stacklevel=2)
            entry["missing"] = True
            continue
        cache = open_cache(path)
        task = resolve_task(task, cache.index)
        entry["cache"] = str(path)
        entry["classes"] = list(task.classes)
        task_out = out / name if out is not None else None
        logger.info("evaluate_all: %s zero-shot", name)
        zs = zeroshot(model, cache, task, prompts=prompts, splits_dir=splits_dir, batch_size=batch_size,
                      n_boot=n_boot, feature_cache_dir=feat_dir,
                      out=task_out / "zeroshot.json" if task_out is not None else None)
        entry["zeroshot"] = {k: zs[k] for k in ("macro_auroc", "macro_auroc_ci", "macro_f1") if k in zs}
        entry["linear_probe"] = {}
        for f in fractions:
            logger.info("evaluate_all: %s %s probe at fraction %g", name, mode, f)
            lp = linear_probe(model, cache, task, fraction=f, mode=mode, seeds=seeds, Cs=Cs,
                              splits_dir=splits_dir, batch_size=batch_size, n_boot=n_boot,
                              feature_cache_dir=feat_dir, finetune_options=finetune_options,
                              out=task_out / f"linear_probe_{f:g}.json" if task_out is not None else None)
            entry["linear_probe"][str(float(f))] = {"macro_auroc": lp["macro_auroc"],
                                                    "macro_auroc_sd": lp["macro_auroc_sd"]}
    if tasks and all(e["missing"] for e in results["tasks"].values()):
        raise ValueError(f"evaluate_all: no cache for any of the tasks {list(tasks)} under "
                         f"{caches_dir} (expected <task>/ or <dataset>/ folders made by "
                         "fgclep preprocess)")
    results["fractions"] = [float(f) for f in fractions]
    results["seconds"] = time.perf_counter() - t0
    md = markdown_tables(results, model_name=model_name)
    results["markdown"] = md
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text(md)
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results
