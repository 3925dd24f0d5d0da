"""The recover-features pipeline: reports -> proposals -> validation -> enhanced reports.

:func:`recover_features` reads reports (``REPORTS.csv`` with columns ``record, report``, or a
preprocessing cache), proposes features per normalised statement set with a backend (each set
once, cached in sqlite), validates them against measurements (``FEATURES.csv`` from
``extract-features``, signals of the cache measured with :func:`fgclep.signal.ecg_measure`,
and/or MIMIC-IV-ECG machine measurements) and appends one JSON line per record to ``out``. An
interrupted run resumes: records already in ``out`` are skipped (a torn last line is dropped),
proposals come from the sqlite cache; records whose statement set failed in the backend, or
whose ``FEATURES.csv`` row has a measurement that is not a number (blank and "nan" mean not
measured), are listed with the reason in ``<out stem>.skipped.csv`` and retried by the next run; a backend whose server never
answers (wrong address) stops the run with a ValueError naming it. With ``validator`` "model" or
"both" the coarse-stage model's check (:mod:`fgclep.recovery.model_check`) runs over the whole
output at the end. Statistics over the whole output go to
``<out stem>.stats.json``; with a cache, ``CACHE/enhanced_reports.csv`` (``id,
enhanced_report``) is written for ``open_cache(reports="enhanced")``.
"""
from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from fgclep.recovery.backends import BACKENDS, create_backend
from fgclep.recovery.backends.base import BackendUnreachable
from fgclep.recovery.cache import ProposalCache
from fgclep.recovery.model_check import VALIDATORS, apply_model_check, load_checkpoint
from fgclep.recovery.normalize import split_statements, statement_set_key
from fgclep.recovery.render import render_enhanced
from fgclep.recovery.validate import MEASUREMENT_MODES, machine_row, validate_features
from fgclep.recovery.vocabulary import FEATURE_IDS

logger = logging.getLogger(__name__)


@dataclass
class RecoveryConfig:
    """Options of :func:`recover_features` (the CLI's flags)."""

    out: str | os.PathLike                       # ENHANCED.jsonl
    cache: Optional[str | os.PathLike] = None    # preprocessing cache (reports + signals)
    reports: Optional[str | os.PathLike] = None  # REPORTS.csv: record, report
    features: Optional[str | os.PathLike] = None  # FEATURES.csv from extract-features
    machine_measurements: Optional[str | os.PathLike] = None  # MIMIC machine_measurements.csv
    measurements: str = "fgclep"                 # fgclep | machine | both
    backend: str = "kb"                          # kb | openai | transformers
    backend_options: dict = field(default_factory=dict)  # model, base_url, api_key_env, ...
    keep_unverifiable: bool = False              # unverifiable features enter the report text
    proposal_cache: Optional[str | os.PathLike] = None  # default: <out stem>.proposals.sqlite
    batch_size: int = 256                        # records per chunk (written, then flushed)
    validator: str = "measurements"              # measurements | model | both (second check)
    checkpoint: Optional[str | os.PathLike] = None  # coarse-stage RUN_DIR for the model check
    keep_rate: float = 0.8                       # model check: share of candidates kept


@dataclass
class RecoveryResult:
    """Paths written and the statistics of the whole output file."""

    out: Path
    stats_path: Path
    stats: dict
    enhanced_csv: Optional[Path] = None


def _stem(out: Path) -> Path:
    return out.with_suffix("") if out.suffix == ".jsonl" else out


def _read_table(path: Path, key_cols: tuple[str, ...], what: str):
    """(DataFrame of strings, key column) of a CSV input; ValueError naming it when unusable."""
    import pandas as pd

    if not path.is_file():
        raise ValueError(f"recover_features: {what} file {path} "
                         + ("is a folder, not a file" if path.is_dir() else "does not exist"))
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"recover_features: {what} file {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"recover_features: cannot read {what} file {path}: {err}") from err
    if df.empty:
        raise ValueError(f"recover_features: {what} file {path} has no records "
                         f"(columns {list(df.columns)})")
    key = next((c for c in key_cols if c in df.columns), None)
    if key is None:
        raise ValueError(f"recover_features: {what} file {path} needs one of the columns "
                         f"{key_cols}; it has {list(df.columns)}")
    return df, key


_NOT_MEASURED = frozenset({"", "nan", "na", "n/a", "null", "none"})


def _non_numeric_rows(df, key: str, path: Path) -> dict[str, str]:
    """{record: reason} for FEATURES rows with a measurement cell that is not a number (blank
    cells and "nan" are "not measured", not errors)."""
    import numpy as np
    import pandas as pd
    from fgclep.leads import measurement_columns

    bad: dict[str, str] = {}
    for col in [c for c in measurement_columns() if c in df.columns]:
        text = df[col].str.strip()
        wrong = (pd.to_numeric(text, errors="coerce").isna()
                 & ~text.str.lower().isin(_NOT_MEASURED)).to_numpy()
        for i in np.flatnonzero(wrong):
            rid = str(df[key].iat[i])
            bad.setdefault(rid, f"FEATURES file {path} row {i + 1} (record {rid}): {col} "
                                f"{df[col].iat[i]!r} is not a number")
    return bad


def _load_inputs(cfg: RecoveryConfig):
    """(records [(id, report)], fgclep rows by id or None, {id: why} of bad fgclep rows,
    machine rows by id, dataset)."""
    ds = None
    if cfg.cache is not None:
        from fgclep.data import open_cache

        ds = open_cache(cfg.cache)
        reports = ["" if not isinstance(r, str) else r for r in ds.index["report"].tolist()]
        records = list(zip([str(i) for i in ds.index["id"].tolist()], reports))
    else:
        df, key = _read_table(Path(cfg.reports), ("record",), "REPORTS")
        rows = df.to_dict("records")
        if rows and "report" not in rows[0]:
            raise ValueError(f"recover_features: REPORTS file {cfg.reports} needs a 'report' "
                             "column")
        records = [(str(r[key]), r.get("report", "")) for r in rows]
    ours, bad = None, {}
    if cfg.features is not None:
        df, key = _read_table(Path(cfg.features), ("record", "id"), "FEATURES")
        rows = df.to_dict("records")
        from fgclep.leads import measurement_columns
        if rows and not set(measurement_columns()) & set(rows[0]):
            raise ValueError(f"recover_features: FEATURES file {cfg.features} has none of the "
                             "measurement columns of `fgclep extract-features` (heart_rate, "
                             f"qrs_duration, ...); it has {list(rows[0])}")
        ours = {str(r[key]): r for r in rows}
        if cfg.measurements != "machine":
            bad = _non_numeric_rows(df, key, Path(cfg.features))
            if ours and len(bad) == len(ours):
                raise ValueError(f"recover_features: no row of FEATURES file {cfg.features} "
                                 f"has numeric measurements; {next(iter(bad.values()))}")
    machine: dict[str, dict] = {}
    if cfg.machine_measurements is not None:
        df, key = _read_table(Path(cfg.machine_measurements), ("record", "id", "study_id"),
                              "machine measurements")
        machine = {str(r[key]): machine_row(r) for r in df.to_dict("records")}
    return records, ours, bad, machine, ds


def _check(cfg: RecoveryConfig) -> None:
    if (cfg.cache is None) == (cfg.reports is None):
        raise ValueError("recover_features: give exactly one of cache or reports")
    if cfg.backend not in BACKENDS:
        raise ValueError(f"recover_features: backend must be one of {BACKENDS}, "
                         f"got {cfg.backend!r}")
    if cfg.measurements not in MEASUREMENT_MODES:
        raise ValueError(f"recover_features: measurements must be one of {MEASUREMENT_MODES}, "
                         f"got {cfg.measurements!r}")
    if cfg.measurements != "fgclep" and cfg.machine_measurements is None:
        raise ValueError(f"recover_features: measurements={cfg.measurements!r} needs "
                         "machine_measurements (MIMIC-IV-ECG machine_measurements.csv)")
    if cfg.measurements != "machine" and cfg.features is None and cfg.cache is None:
        raise ValueError("recover_features: fgclep measurements need features (FEATURES.csv) "
                         "or a cache whose signals are measured")
    if cfg.validator not in VALIDATORS:
        raise ValueError(f"recover_features: validator must be one of {VALIDATORS}, "
                         f"got {cfg.validator!r}")
    if cfg.validator != "measurements" and (cfg.checkpoint is None or cfg.cache is None):
        raise ValueError(f"recover_features: validator={cfg.validator!r} needs checkpoint "
                         "(a coarse-stage RUN_DIR) and cache (the ECG signals it scores)")
    if not 0.0 < cfg.keep_rate <= 1.0:
        raise ValueError(f"recover_features: keep_rate must be in (0, 1], got {cfg.keep_rate}")
    if cfg.batch_size < 1:
        raise ValueError(f"recover_features: batch_size must be >= 1, got {cfg.batch_size}")


def _read_done(out: Path) -> list[dict]:
    """Rows already in ``out``; a torn last line (killed run) is cut off the file."""
    if not out.is_file():
        return []
    rows, good = [], 0
    with open(out, "rb") as f:
        for line in f:
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                break
            if not line.endswith(b"\n") or not isinstance(row, dict) or "record" not in row:
                break
            rows.append(row)
            good += len(line)
    if good != out.stat().st_size:
        logger.warning("recover_features: dropping a torn line at the end of %s", out)
        with open(out, "r+b") as f:
            f.truncate(good)
    return rows


def _measure_chunk(ds, positions: list[int]) -> list[dict]:
    from fgclep.signal import ecg_measure

    signals = ds.signals(positions)
    table = ecg_measure(signals, float(ds.meta.get("sampling_rate", 500)))
    return table.to_dict("records")


def _propose_sets(backend, store: ProposalCache, namespace: str, sets: dict, run: dict,
                  errors: dict) -> dict:
    """Proposals for {key: statements}, from the cache or the backend (stored one by one)."""
    cached = store.get_many(namespace, sets)
    run["cache_hits"] += len(cached)
    todo = [k for k in sets if k not in cached]
    step = max(1, int(getattr(backend, "concurrency", 1)))
    for i in range(0, len(todo), step):
        keys = todo[i:i + step]
        for key, prop in zip(keys, backend.propose_many([sets[k] for k in keys])):
            run["backend_calls"] += 1
            run["malformed"] += prop.malformed
            run["mapped"] += prop.mapped
            run["dropped"] += len(prop.dropped)
            if prop.error:
                run["failed_sets"] += 1
                errors[key] = prop.error
                continue
            store.put(namespace, key, sets[key], prop)
            cached[key] = prop
    return cached


def compute_stats(rows: list[dict]) -> dict:
    """Per-feature proposed/confirmed/refuted/unverifiable counts and overall rates."""
    per = {fid: {"proposed": 0, "confirmed": 0, "refuted": 0, "unverifiable": 0,
                 "model_rejected": 0} for fid in FEATURE_IDS}
    for row in rows:
        for kind in ("proposed", "confirmed", "refuted", "unverifiable", "model_rejected"):
            for fid in row.get(kind, []):
                if fid in per:
                    per[fid][kind] += 1
    tot = {k: sum(v[k] for v in per.values())
           for k in ("proposed", "confirmed", "refuted", "unverifiable", "model_rejected")}
    verifiable = tot["confirmed"] + tot["refuted"]
    return {"n_records": len(rows), "totals": tot,
            "refuted_rate": tot["refuted"] / verifiable if verifiable else None,
            "refuted_share_of_proposed": tot["refuted"] / tot["proposed"] if tot["proposed"]
            else None,
            "features": {k: v for k, v in per.items() if v["proposed"]}}


def format_stats(stats: dict) -> str:
    """Plain-text table of :func:`compute_stats` output."""
    model = bool(stats.get("model_check"))
    lines = [f"{'feature':28s} {'proposed':>9s} {'confirmed':>9s} {'refuted':>8s} "
             f"{'unverif.':>8s}" + (f" {'model-rej.':>10s}" if model else "")]
    for fid, c in stats["features"].items():
        lines.append(f"{fid:28s} {c['proposed']:9d} {c['confirmed']:9d} {c['refuted']:8d} "
                     f"{c['unverifiable']:8d}" + (f" {c['model_rejected']:10d}" if model else ""))
    rate = stats["refuted_rate"]
    lines.append(f"records: {stats['n_records']}; refuted (hallucination) rate among verifiable "
                 f"proposals: {'n/a' if rate is None else f'{100 * rate:.1f} %'}")
    skipped = stats.get("run", {}).get("skipped_records", 0)
    if skipped:
        lines.append(f"{skipped} records skipped after backend errors or non-numeric FEATURES "
                     "cells (reasons in the .skipped.csv file); run the same command again to "
                     "retry them")
    if model:
        mc = stats["model_check"]
        lines.append(f"model check ({mc['validator']}, keep rate {mc['keep_rate']:.2f}): "
                     f"{mc['kept']} kept, {mc['rejected']} rejected")
    return "\n".join(lines)


def recover_features(config: RecoveryConfig) -> RecoveryResult:
    """Run the pipeline described in the module docstring; returns :class:`RecoveryResult`."""
    cfg = config
    _check(cfg)
    from fgclep._paths import check_file_path, make_dir
    out = check_file_path(cfg.out, "recover_features")
    make_dir(out.parent, "recover_features", "folder of out")
    records, ours, bad, machine, ds = _load_inputs(cfg)
    backend = create_backend(cfg.backend, **cfg.backend_options)
    namespace = backend.identity()
    done_rows = _read_done(out)
    done = {r["record"] for r in done_rows}
    run = {"backend_calls": 0, "cache_hits": 0, "failed_sets": 0, "malformed": 0, "mapped": 0,
           "dropped": 0, "no_measurements": 0, "resumed_records": len(done)}
    positions = {rid: k for k, (rid, _) in enumerate(records)}
    todo, seen = [], set(done)
    skipped: list[tuple[str, str]] = []
    for rid, report in records:
        if rid not in seen:
            seen.add(rid)
            if rid in bad:       # a non-numeric measurement: skipped with the reason
                skipped.append((rid, bad[rid]))
            else:
                todo.append((rid, report))
    store = ProposalCache(cfg.proposal_cache or f"{_stem(out)}.proposals.sqlite")
    errors: dict[str, str] = {}
    measure_signals = ours is None and cfg.measurements != "machine"
    try:
        with open(out, "a", encoding="utf-8") as fh:
            for start in range(0, len(todo), cfg.batch_size):
                chunk = todo[start:start + cfg.batch_size]
                stmts = {rid: split_statements(rep) for rid, rep in chunk}
                keys = {rid: statement_set_key(s) for rid, s in stmts.items()}
                sets = {keys[rid]: sorted(set(stmts[rid])) for rid, _ in chunk}
                props = _propose_sets(backend, store, namespace, sets, run, errors)
                measured = (dict(zip([rid for rid, _ in chunk],
                                     _measure_chunk(ds, [positions[rid] for rid, _ in chunk])))
                            if measure_signals else {})
                for rid, report in chunk:
                    prop = props.get(keys[rid])
                    if prop is None:     # backend failed: retried by the next run
                        skipped.append((rid, errors.get(keys[rid], "backend failed")))
                        continue
                    row = measured.get(rid) if measure_signals else (ours or {}).get(rid)
                    mrow = machine.get(rid)
                    if row is None and mrow is None:
                        run["no_measurements"] += 1
                    val = validate_features(prop.features, row, mrow, cfg.measurements)
                    kept = val.confirmed + (val.unverifiable if cfg.keep_unverifiable else ())
                    rec = {"record": rid, "report": report, "concepts": list(prop.concepts),
                           "proposed": list(prop.features), "confirmed": list(val.confirmed),
                           "refuted": list(val.refuted), "unverifiable": list(val.unverifiable),
                           "enhanced_report": render_enhanced(report, kept)}
                    fh.write(json.dumps(rec) + "\n")
                    done_rows.append(rec)
                fh.flush()
    except BackendUnreachable as err:    # a wrong address: stop, keep what is written
        kept = (f"; the {len(done_rows)} records in {out} are kept and the same command "
                "resumes after them" if done_rows else "")
        raise ValueError(f"recover_features: {err}{kept}") from None
    finally:
        store.close()
    model_summary = None
    if cfg.validator != "measurements":
        model = load_checkpoint(cfg.checkpoint)
        model_summary = apply_model_check(done_rows, ds, model, cfg.validator, cfg.keep_rate,
                                          cfg.keep_unverifiable)
        for row in done_rows:
            row["enhanced_report"] = render_enhanced(row["report"], row["model_kept"])
        tmp = out.with_suffix(out.suffix + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in done_rows)
        os.replace(tmp, out)
    stats = compute_stats(done_rows)
    stats.update({"backend": namespace, "measurements": cfg.measurements,
                  "validator": cfg.validator, "model_check": model_summary,
                  "keep_unverifiable": cfg.keep_unverifiable, "run": run,
                  "n_input_records": len(records)})
    skipped_path = Path(f"{_stem(out)}.skipped.csv")
    if skipped:
        logger.warning("recover_features: %d records skipped (backend errors, listed in %s); "
                       "run again to retry them", len(skipped), skipped_path)
        with open(skipped_path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([("record", "reason"), *skipped])
    elif skipped_path.exists():
        skipped_path.unlink()
    stats["run"]["skipped_records"] = len(skipped)
    stats_path = Path(f"{_stem(out)}.stats.json")
    stats_path.write_text(json.dumps(stats, indent=1), encoding="utf-8")
    enhanced_csv = None
    if ds is not None:
        enhanced_csv = Path(cfg.cache) / "enhanced_reports.csv"
        tmp = enhanced_csv.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "enhanced_report"])
            writer.writerows((r["record"], r["enhanced_report"]) for r in done_rows)
        os.replace(tmp, enhanced_csv)
    logger.info("recover_features: %d records, config %s", len(done_rows),
                {k: v for k, v in asdict(cfg).items() if k != "backend_options"})
    return RecoveryResult(out, stats_path, stats, enhanced_csv)
