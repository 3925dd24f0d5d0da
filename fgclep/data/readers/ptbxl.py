"""PTB-XL: ``ptbxl_database.csv`` + ``records500/`` (or ``records100/``).

Labels are the record's SCP codes (keys of the ``scp_codes`` dict, parsed with
:func:`ast.literal_eval`); the benchmark tasks aggregate them through ``scp_statements.csv``
(:mod:`fgclep.data.tasks`). ``strat_fold`` gives the split: 1-8 train, 9 val, 10 test.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fgclep.data.readers.wfdb import header_path, read_wfdb
from fgclep.data.record import ECGRecord
from fgclep.data.sources import Item, Skip, Source

__all__ = ["PtbxlSource", "parse_scp_codes", "fold_to_split"]

_RATES = {500: "filename_hr", 100: "filename_lr"}


def parse_scp_codes(text: str, where: str = "scp_codes") -> dict[str, float]:
    """Parse PTB-XL's ``scp_codes`` column (a Python dict literal) safely."""
    try:
        value = ast.literal_eval(str(text))
    except (ValueError, SyntaxError) as exc:
        raise ValueError(f"{where}: cannot parse scp_codes {str(text)[:60]!r} ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: scp_codes is not a dict: {str(text)[:60]!r}")
    return {str(k): float(v) for k, v in value.items()}


def fold_to_split(fold: Any) -> str:
    """PTB-XL's recommended split: folds 1-8 train, 9 val, 10 test."""
    f = int(float(fold))
    if not 1 <= f <= 10:
        raise ValueError(f"strat_fold must be 1-10, got {fold!r}")
    return "test" if f == 10 else "val" if f == 9 else "train"


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


@dataclass
class PtbxlSource(Source):
    """``fgclep preprocess ptbxl --root DIR``; option ``rate`` 500 (default) or 100."""

    def __post_init__(self) -> None:
        rate = int(self.options.get("rate", 500))
        if rate not in _RATES:
            raise ValueError(f"ptbxl: rate must be 500 or 100, got {rate}")
        self.expected_rate = float(rate)

    def list_items(self, limit: int | None = None) -> tuple[list[Item], list[Skip]]:
        import pandas as pd

        db_path = Path(self.root) / "ptbxl_database.csv"
        if not db_path.is_file():
            raise ValueError(f"ptbxl: {db_path} not found (is --root the PTB-XL folder?)")
        db = pd.read_csv(db_path, dtype=str, keep_default_na=False,
                         encoding_errors="surrogateescape")
        column = _RATES[int(self.expected_rate)]
        missing = {"ecg_id", "report", "scp_codes", "strat_fold", column} - set(db.columns)
        if missing:
            raise ValueError(f"ptbxl: {db_path} lacks columns {sorted(missing)}")
        items, skips = [], []
        for row in db.to_dict("records"):
            if limit is not None and len(items) + len(skips) >= limit:
                break
            hea = header_path(Path(self.root) / row[column])
            where = str(hea.with_suffix(""))
            if not hea.is_file():
                skips.append((where, f"ptbxl_database.csv ecg_id {row['ecg_id']}: file not "
                                     f"found ({hea})"))
                continue
            items.append({"source": where, "row": {k: row[k] for k in (
                "ecg_id", "patient_id", "age", "sex", "report", "scp_codes", "strat_fold")
                if k in row}})
        return items, skips

    def load(self, item: Item) -> ECGRecord:
        row = item["row"]
        where = f"ptbxl_database.csv ecg_id {row['ecg_id']}"
        if _has_surrogates(row["report"]):
            raise ValueError(f"{where}: report text is not valid UTF-8")
        codes = parse_scp_codes(row["scp_codes"], where)
        try:
            split = fold_to_split(row["strat_fold"])
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        rec = read_wfdb(item["source"])
        rec.record_id = str(int(float(row["ecg_id"])))
        rec.report = row["report"].strip()
        rec.labels = list(codes)
        rec.meta = {"split": split, "strat_fold": int(float(row["strat_fold"])),
                    "patient_id": row.get("patient_id", ""), "age": row.get("age", ""),
                    "sex": row.get("sex", ""),
                    "scp_codes": ";".join(f"{k}:{v:g}" for k, v in codes.items())}
        return rec
