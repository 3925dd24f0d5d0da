"""MIMIC-IV-ECG: ``record_list.csv`` + ``machine_measurements.csv`` + ``files/...`` WFDB records.

The report is the machine statements ``report_0..report_17`` (stripped, empty/NaN dropped)
joined with ``". "``; reports with fewer than ``min_words`` words (default 4, MERL's rule) are
skipped. The numeric machine measurements (``rr_interval``, ``p_onset``, ``p_end``,
``qrs_onset``, ``qrs_end``, ``t_end``, ``p_axis``, ``qrs_axis``, ``t_axis``) are kept in
``meta`` as in the file (NaN where empty). Leads are reordered by name (MIMIC stores aVF before
aVL); NaN samples are interpolated by the preprocessing step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fgclep.data.readers.wfdb import header_path, read_wfdb
from fgclep.data.record import ECGRecord
from fgclep.data.sources import Item, Skip, Source

__all__ = ["MimicSource", "join_statements", "MEASUREMENTS"]

MEASUREMENTS = ("rr_interval", "p_onset", "p_end", "qrs_onset", "qrs_end", "t_end", "p_axis",
                "qrs_axis", "t_axis")
_N_REPORTS = 18


def join_statements(statements: list[Any]) -> str:
    """Join machine statements with ``". "``: strip each, drop empty/NaN and trailing periods."""
    parts = []
    for s in statements:
        if s is None or (isinstance(s, float) and math.isnan(s)):
            continue
        text = str(s).strip().rstrip(".").strip()
        if text and text.lower() != "nan":
            parts.append(text)
    return ". ".join(parts) + ("." if parts else "")


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


@dataclass
class MimicSource(Source):
    """``fgclep preprocess mimic-iv-ecg --root DIR [--min-words 4]``."""

    expected_rate: float | None = 500.0

    def list_items(self, limit: int | None = None) -> tuple[list[Item], list[Skip]]:
        import pandas as pd

        root = Path(self.root)
        paths = {name: root / f"{name}.csv" for name in ("record_list", "machine_measurements")}
        for path in paths.values():
            if not path.is_file():
                raise ValueError(f"mimic-iv-ecg: {path} not found (is --root the MIMIC-IV-ECG "
                                 f"folder?)")
        records = pd.read_csv(paths["record_list"], dtype=str, keep_default_na=False)
        mm = pd.read_csv(paths["machine_measurements"], dtype=str, keep_default_na=False,
                         encoding_errors="surrogateescape")
        mm = mm.set_index("study_id")
        min_words = int(self.options.get("min_words", 4))
        items, skips = [], []
        for row in records.to_dict("records"):
            if limit is not None and len(items) + len(skips) >= limit:
                break
            hea = header_path(root / row["path"])
            where = str(hea.with_suffix(""))
            if not hea.is_file():
                skips.append((where, f"record_list.csv study {row['study_id']}: file not found "
                                     f"({hea})"))
                continue
            if row["study_id"] not in mm.index:
                skips.append((where, f"study {row['study_id']} has no machine_measurements row"))
                continue
            m = mm.loc[row["study_id"]]
            if getattr(m, "ndim", 1) > 1:
                m = m.iloc[0]
            statements = [m.get(f"report_{i}", "") for i in range(_N_REPORTS)]
            if any("\udc80" <= ch <= "\udcff" for s in statements for ch in str(s)):
                skips.append((where, f"study {row['study_id']}: report text is not valid UTF-8"))
                continue
            report = join_statements(statements)
            n_words = len(report.split())
            if n_words < min_words:
                skips.append((where, f"study {row['study_id']}: report has {n_words} words "
                                     f"(< {min_words})"))
                continue
            items.append({"source": where, "id": row["study_id"], "report": report,
                          "subject_id": row["subject_id"],
                          "measurements": {k: _number(m.get(k)) for k in MEASUREMENTS}})
        return items, skips

    def load(self, item: Item) -> ECGRecord:
        rec = read_wfdb(item["source"])
        rec.record_id = str(item["id"])
        rec.report = item["report"]
        rec.labels = []
        rec.meta = {"subject_id": item["subject_id"], **item["measurements"]}
        return rec
