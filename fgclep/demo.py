"""``fgclep demo``: the whole fgclep chain, offline, on the SYNTHETIC corpus.

The demo is a sequence of steps, each a function ``step(config, state) -> dict`` that reads what
earlier steps left in ``state`` (a plain dict) and returns its own section of the result;
:func:`run_demo` runs :data:`STEPS` in order, collects the sections under their names, writes
``demo_summary.json`` into the output folder and returns the whole result.

Steps: ``corpus``, ``clean``, ``plot`` (the signal core: generate, clean, time against scipy,
raw-vs-clean PNG), then the chain of :mod:`fgclep.demo_steps`: ``preprocess`` (cache),
``features`` (measurements), ``recover`` (enhanced reports, knowledge-base backend), ``train``
(coarse, then fine) and ``evaluate`` (zero-shot and linear probe of the fine, coarse and a random
encoder on held-out test records; ``results.json``, ``results.md`` and PNGs).

Everything the demo produces is labelled SYNTHETIC: the data come from
:mod:`fgclep.data.synthetic`, never from patients. With ``data=CACHE`` the chain runs on a real
preprocessed cache instead, and its results are labelled REAL DATA.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from fgclep import demo_steps

logger = logging.getLogger(__name__)

DEFAULT_OUT = Path("fgclep-demo")


TARGETS = ("identity", "threshold", "fgclep")  # fgclep.train TrainConfig.target values


@dataclass
class DemoConfig:
    """Settings of one demo run."""
    out_dir: Path = DEFAULT_OUT      # folder for everything the demo writes
    n_records: int = 200             # synthetic records to generate and clean (signal steps)
    seed: int = 0                    # corpus, split and training seed
    small: bool = False              # a fast smoke run (CI): fewer records and epochs everywhere
    chain: bool = True               # run the pretraining/evaluation chain after the signal steps
    data: Optional[Path] = None      # a real preprocessed cache for the chain instead of synthetic
    task: Optional[str] = None       # evaluation task (default: the synthetic task / the cache's)
    chain_records: Optional[int] = None  # synthetic records in the chain's cache (default by size)
    target: str = "identity"         # loss targets for both stages (see fgclep.demo_steps)

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if self.data is not None:
            self.data = Path(self.data)
            if not (self.data / "index.csv").is_file():
                raise ValueError(f"run_demo: data {str(self.data)!r} is not a preprocessed cache "
                                 "(no index.csv); make one with `fgclep preprocess`")
        if self.target not in TARGETS:
            raise ValueError(f"run_demo: target must be one of {TARGETS}, got {self.target!r}")
        if self.chain_records is not None and (isinstance(self.chain_records, bool) or not isinstance(
                self.chain_records, int) or self.chain_records < 50):
            raise ValueError(f"run_demo: chain_records must be an int >= 50, got {self.chain_records!r}")
        if isinstance(self.n_records, bool) or not isinstance(self.n_records, int) \
                or self.n_records < 1:
            raise ValueError(f"run_demo: n_records must be an int >= 1, got {self.n_records!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"run_demo: seed must be an int >= 0, got {self.seed!r}")
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ValueError(f"run_demo: out_dir {str(self.out_dir)!r} exists and is not a "
                             "folder")


SMALL_N_RECORDS = 16


def _timed(fn: Callable, *args, repeats: int = 1, **kwargs):
    """Best wall time of ``repeats`` calls and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return best, out


def step_corpus(config: DemoConfig, state: dict) -> dict:
    """Generate the SYNTHETIC corpus (labels, reports, exact fiducials)."""
    from fgclep.data import synthetic

    seconds, corpus = _timed(synthetic.generate, config.n_records, seed=config.seed)
    state["corpus"] = corpus
    counts: dict[str, int] = {}
    for labels in corpus.labels:
        for name in labels:
            counts[name] = counts.get(name, 0) + 1
    return {"n_records": len(corpus), "sampling_rate": corpus.sampling_rate,
            "n_samples": int(corpus.signals.shape[-1]), "seconds": seconds,
            "label_counts": dict(sorted(counts.items())),
            "example_report": corpus.reports[_example_index(corpus)]}


def _example_index(corpus) -> int:
    """First record with an abnormality (a more interesting picture), else record 0."""
    for i, labels in enumerate(corpus.labels):
        if labels != ["normal"]:
            return i
    return 0


def step_clean(config: DemoConfig, state: dict) -> dict:
    """Clean the batch with the C++ core; time it against the scipy twin on a subset.

    The scipy twin (scipy.signal.medfilt + sosfiltfilt) needs about a second per record on a
    busy 2-core machine, so both backends are timed on the same first ``k`` records (4 with
    ``small``, else 16) and their outputs compared there; the whole batch is cleaned by fgclep.
    """
    import fgclep
    from fgclep.signal import ecg_clean

    corpus = state["corpus"]
    x, fs = corpus.signals, corpus.sampling_rate
    t_full, clean = _timed(ecg_clean, x, fs)
    state["clean"] = clean
    k = min(len(x), 4 if config.small else 16)
    t_cpp, sub = _timed(ecg_clean, x[:k], fs, repeats=1 if config.small else 3)
    t_scipy, twin = _timed(ecg_clean, x[:k], fs, backend="scipy")
    peak = float(np.abs(twin).max()) or 1.0
    return {"threads": fgclep.get_num_threads(), "n_records": len(x),
            "fgclep_seconds": t_full, "fgclep_records_per_s": len(x) / t_full,
            "timed_subset": k, "subset_fgclep_seconds": t_cpp,
            "subset_scipy_seconds": t_scipy, "speedup": t_scipy / t_cpp,
            "max_abs_diff_rel_peak": float(np.abs(sub.astype(np.float64) - twin).max() / peak)}


def step_plot(config: DemoConfig, state: dict) -> dict:
    """Write one 12-lead PNG: the cleaned record in black over the raw one in blue."""
    from fgclep.plot import ecg_grid

    corpus, clean = state["corpus"], state["clean"]
    i = _example_index(corpus)
    path = config.out_dir / "synthetic_ecg_raw_vs_clean.png"
    title = f"SYNTHETIC {corpus.record_ids[i]}: {corpus.reports[i]}  (blue raw, black cleaned)"
    ecg_grid(clean[i], corpus.sampling_rate, corpus.lead_names,
             fiducials=corpus.fiducials[i], path=path, title=title, overlay=corpus.signals[i])
    return {"record_id": corpus.record_ids[i], "png": str(path)}


SIGNAL_STEPS: list[tuple[str, Callable[[DemoConfig, dict], dict]]] = [
    ("corpus", step_corpus),
    ("clean", step_clean),
    ("plot", step_plot),
]
CHAIN_STEPS: list[tuple[str, Callable[[DemoConfig, dict], dict]]] = [
    ("preprocess", demo_steps.step_preprocess),
    ("features", demo_steps.step_features),
    ("recover", demo_steps.step_recover),
    ("train", demo_steps.step_train),
    ("evaluate", demo_steps.step_evaluate),
]
STEPS = SIGNAL_STEPS + CHAIN_STEPS


def format_summary(result: dict) -> str:
    """A short human-readable summary of :func:`run_demo`'s result, labelled SYNTHETIC."""
    lines = ["fgclep demo on the SYNTHETIC corpus (generated, not patient data)"]
    data = (result.get("config") or {}).get("data")
    if data:
        lines.append(f"  chain on REAL DATA from the cache {data} (its results are not synthetic)")
    c = result.get("corpus")
    if c:
        lines.append(f"  corpus: {c['n_records']} synthetic records, {c['sampling_rate']} Hz x "
                     f"{c['n_samples']} samples, 12 leads ({c['seconds']:.2f} s)")
        lines.append("  labels: " + ", ".join(f"{k} {v}" for k, v in c["label_counts"].items()))
        lines.append(f"  example report: {c['example_report']}")
    k = result.get("clean")
    if k:
        lines.append(f"  ecg_clean ({k['threads']} threads): {k['n_records']} records in "
                     f"{k['fgclep_seconds']:.2f} s ({k['fgclep_records_per_s']:.0f} records/s); "
                     f"on {k['timed_subset']} records fgclep {k['subset_fgclep_seconds']:.3f} s "
                     f"vs scipy twin {k['subset_scipy_seconds']:.3f} s = {k['speedup']:.1f}x, "
                     f"max |difference| {k['max_abs_diff_rel_peak']:.1e} of peak")
    p = result.get("plot")
    if p:
        lines.append(f"  12-lead PNG (raw vs clean, {p['record_id']}): {p['png']}")
    for name, section in result.items():
        if name not in ("corpus", "clean", "plot", "config", "summary_json") \
                and isinstance(section, dict) and "summary" in section:
            lines.append(f"  {name}: {section['summary']}")
    if "summary_json" in result:
        lines.append(f"  summary: {result['summary_json']}")
    if "evaluate" in result:
        lines += ["", result["evaluate"]["table"]]
    if "seconds" in result:
        lines.append(f"\ndemo wall time {result['seconds']:.0f} s")
    return "\n".join(lines)


def run_demo(out_dir: str | Path = DEFAULT_OUT, n_records: int | None = None, seed: int = 0,
             small: bool = False, chain: bool = True, data: str | Path | None = None,
             task: str | None = None, chain_records: int | None = None,
             target: str = "identity") -> dict:
    """Run the offline demo on the SYNTHETIC corpus and return its result.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``synthetic_ecg_raw_vs_clean.png`` and ``demo_summary.json`` (created).
    n_records : int, optional
        Records to generate; default 200, or 16 with ``small``.
    seed : int
        Corpus seed.
    small : bool
        Quick smoke run (what CI runs).
    chain : bool
        Run the pretraining and evaluation chain after the signal steps.
    data : path, optional
        A real preprocessed cache for the chain (instead of a generated synthetic one).
    task : str, optional
        Evaluation task; default ``synthetic``, or the first task of the cache's dataset.
    chain_records : int, optional
        Synthetic records in the chain's cache (default 1500, or 400 with ``small``).
    target : {"identity", "fgclep"}
        Loss targets of both training stages.

    Returns
    -------
    dict
        ``{"config": ..., "corpus": ..., "clean": ..., "plot": ..., "preprocess": ...,
        "features": ..., "recover": ..., "train": ..., "evaluate": ..., "summary_json": path,
        "seconds": wall time}``; each step's section is a JSON-serialisable dict.

    Examples
    --------
    >>> result = run_demo("/tmp/fgclep-demo-doc", small=True)   # doctest: +SKIP
    >>> print(format_summary(result))                           # doctest: +SKIP
    """
    if n_records is None:
        n_records = SMALL_N_RECORDS if small else DemoConfig.n_records
    config = DemoConfig(out_dir=Path(out_dir), n_records=n_records, seed=seed, small=small,
                        chain=chain, data=data, task=task, chain_records=chain_records,
                        target=target)
    from fgclep._paths import make_dir
    make_dir(config.out_dir, "run_demo", "out_dir")
    t0 = time.perf_counter()
    state: dict = {}
    result: dict = {"config": {**asdict(config), "out_dir": str(config.out_dir),
                               "data": str(config.data) if config.data else None},
                    "label": "SYNTHETIC" if config.data is None else "SYNTHETIC signal steps; "
                             f"chain on REAL DATA {config.data}"}
    for name, step in (STEPS if config.chain else SIGNAL_STEPS):
        logger.info("demo step %s", name)
        result[name] = step(config, state)
    result["seconds"] = time.perf_counter() - t0
    path = config.out_dir / "demo_summary.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    result["summary_json"] = str(path)
    return result
