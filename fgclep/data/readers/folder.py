"""A generic folder of WFDB records, with an optional CSV of reports and labels.

Without a CSV every ``*.hea`` below the root is a record and its header comments (joined with
``". "``) are the report. With ``csv=PATH`` the CSV lists the records: a path column (``path``,
``record``, ``filename`` or ``id``; relative to the root, with or without ``.hea``), and
optional ``report`` and ``labels`` (``;``-separated) columns. A row whose file is missing or
whose report is not valid UTF-8 is skipped with that reason.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fgclep.data.readers.wfdb import header_path, read_wfdb
from fgclep.data.record import ECGRecord
from fgclep.data.sources import Item, Skip, Source

__all__ = ["FolderSource", "read_report_csv", "PATH_COLUMNS"]

PATH_COLUMNS = ("path", "record", "filename", "id")


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def read_report_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a report CSV as dicts; undecodable bytes are kept as surrogates and flagged.

    Each row gets ``_utf8_error`` (str or None) naming the bad column, so one bad row is
    skipped instead of failing the whole file.
    """
    raw = Path(path).read_bytes()
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    rows = []
    for line_no, row in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
        bad = [k for k, v in row.items() if isinstance(v, str) and _has_surrogates(v)]
        row = {k: v for k, v in row.items() if k is not None}
        row["_utf8_error"] = (f"{path} line {line_no}: column(s) {bad} are not valid UTF-8"
                              if bad else None)
        rows.append(row)
    return rows


@dataclass
class FolderSource(Source):
    """Source for ``fgclep preprocess wfdb --root DIR [--csv FILE]``."""

    def list_items(self, limit: int | None = None) -> tuple[list[Item], list[Skip]]:
        csv_path = self.options.get("csv")
        if not csv_path:
            heads = sorted(self.root.rglob("*.hea"))
            if limit is not None:
                heads = heads[:limit]
            return [{"source": str(h.with_suffix("")), "id": h.relative_to(self.root)
                     .with_suffix("").as_posix()} for h in heads], []
        rows = read_report_csv(csv_path)
        if not rows:
            return [], []
        column = next((c for c in PATH_COLUMNS if c in rows[0]), None)
        if column is None:
            raise ValueError(f"preprocess: {csv_path} needs one of the columns {PATH_COLUMNS}")
        items: list[Item] = []
        skips: list[Skip] = []
        for row in rows:
            if limit is not None and len(items) + len(skips) >= limit:
                break
            rel = (row.get(column) or "").strip()
            hea = header_path(self.root / rel)
            where = str(hea.with_suffix(""))
            if not rel or not hea.is_file():
                skips.append((where, f"{csv_path}: row names {rel!r}, file not found ({hea})"))
                continue
            items.append({"source": where, "id": Path(rel).with_suffix("").as_posix()
                          if rel.lower().endswith(".hea") else rel,
                          "report": row.get("report") or "", "labels": row.get("labels") or "",
                          "utf8_error": row["_utf8_error"]})
        return items, skips

    def load(self, item: Item) -> ECGRecord:
        if item.get("utf8_error"):
            raise ValueError(f"report text is not valid UTF-8: {item['utf8_error']}")
        rec = read_wfdb(item["source"])
        rec.record_id = item["id"]
        if "report" in item:
            rec.report = item["report"].strip()
            rec.labels = [lab.strip() for lab in item["labels"].split(";") if lab.strip()]
        else:
            rec.report = ". ".join(c for c in rec.meta.get("comments", []) if c)
        return rec
