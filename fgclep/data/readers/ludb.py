"""LUDB: 12-lead 500 Hz 10 s records with cardiologists' per-lead wave annotations.

The report is the diagnoses listed after ``#<diagnoses>:`` in the header; the labels are those
diagnosis lines. ``meta["fiducials"]`` holds the ground truth as fgclep's delineation arrays:
per :data:`fgclep.leads.FIDUCIALS` name an int64 ``(12, n_beats)`` array (``-1`` absent), with
beats defined by the QRS complexes of the lead with the most annotated QRS complexes and each
lead's waves matched to them (QRS peak within 100 ms; P between the previous QRS and this QRS
onset; T between this QRS offset and the next QRS). ``meta["annotated_span"]`` is int64
``(12, 2)``: first and last annotated sample per lead (only the middle part is annotated).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fgclep.data.readers.wfdb import read_wfdb
from fgclep.data.record import ECGRecord
from fgclep.data.sources import Item, Skip, Source, jsonable
from fgclep.leads import FIDUCIALS, LEADS_12

__all__ = ["read_ludb", "read_ludb_waves", "ludb_fiducials", "LudbSource"]

_WAVE_KIND = {"p": "p", "N": "qrs", "t": "t"}


def read_ludb_waves(record_path: str | Path, lead: str) -> list[tuple[str, int, int, int]]:
    """Waves of one lead's annotation file: ``(kind, onset, peak, offset)``, -1 if missing."""
    import wfdb

    try:
        ann = wfdb.rdann(str(record_path), lead.lower())
    except Exception as exc:  # wfdb raises several types on missing/damaged files
        raise ValueError(f"{record_path}.{lead.lower()}: cannot read annotations ({exc})") from None
    waves, onset, current = [], -1, None
    for sample, symbol in zip(ann.sample.tolist(), ann.symbol):
        if symbol == "(":
            onset, current = int(sample), None
        elif symbol == ")":
            if current is not None:
                waves.append((current[0], current[1], current[2], int(sample)))
            onset, current = -1, None
        elif symbol in _WAVE_KIND:
            if current is not None:  # peak without closing parenthesis
                waves.append((current[0], current[1], current[2], -1))
            current = (_WAVE_KIND[symbol], onset, int(sample))
            onset = -1
    if current is not None:
        waves.append((current[0], current[1], current[2], -1))
    return waves


def ludb_fiducials(waves_per_lead: list[list[tuple[str, int, int, int]]], fs: float
                   ) -> dict[str, np.ndarray]:
    """Align per-lead waves into FIDUCIALS arrays ``(n_leads, n_beats)`` (see module doc)."""
    qrs = [[w for w in waves if w[0] == "qrs"] for waves in waves_per_lead]
    ref = max(range(len(qrs)), key=lambda i: (len(qrs[i]), -i)) if qrs else 0
    peaks = np.array([w[2] for w in qrs[ref]], dtype=np.int64) if qrs else np.zeros(0, np.int64)
    n_leads, n_beats = len(waves_per_lead), len(peaks)
    out = {name: np.full((n_leads, n_beats), -1, dtype=np.int64) for name in FIDUCIALS}
    tol = int(round(0.1 * fs))
    for lead, waves in enumerate(waves_per_lead):
        for b, peak in enumerate(peaks):
            match = [w for w in qrs[lead] if abs(w[2] - peak) <= tol]
            if not match:
                continue
            _, on, pk, off = min(match, key=lambda w: abs(w[2] - peak))
            out["qrs_on"][lead, b], out["r_peak"][lead, b], out["qrs_off"][lead, b] = on, pk, off
            prev_peak = peaks[b - 1] if b > 0 else -1
            next_peak = peaks[b + 1] if b + 1 < n_beats else np.iinfo(np.int64).max
            start = on if on >= 0 else pk
            p = [w for w in waves if w[0] == "p" and prev_peak < w[2] < start]
            if p:
                out["p_on"][lead, b], out["p_peak"][lead, b], out["p_off"][lead, b] = p[-1][1:]
            end = off if off >= 0 else pk
            t = [w for w in waves if w[0] == "t" and end < w[2] < next_peak]
            if t:
                out["t_peak"][lead, b], out["t_off"][lead, b] = t[0][2], t[0][3]
    return out


def _diagnoses(comments: list[str]) -> list[str]:
    lines, inside = [], False
    for c in comments:
        if re.match(r"^<diagnoses>\s*:", c, re.IGNORECASE):
            inside = True
            rest = c.split(":", 1)[1].strip()
            if rest:
                lines.append(rest)
            continue
        if inside and re.match(r"^<\w+>\s*:", c):
            inside = False
        if inside and c.strip():
            lines.append(c.strip())
    return lines


def read_ludb(path: str | Path, annotations: bool = True) -> ECGRecord:
    """Read one LUDB record with its diagnoses and (optionally) ground-truth fiducials."""
    rec = read_wfdb(path)
    if rec.lead_names != LEADS_12:
        raise ValueError(f"{rec.source}.hea: LUDB record without the 12 standard leads")
    diagnoses = _diagnoses(rec.meta.get("comments", []))
    rec.report = " ".join(d if d.endswith(".") else d + "." for d in diagnoses)
    rec.labels = [d.rstrip(". ") for d in diagnoses]
    fields = {}
    for c in rec.meta.get("comments", []):
        m = re.match(r"^<(\w+)>\s*:\s*(.*)$", c)
        if m:
            fields[m.group(1).lower()] = m.group(2).strip()
    meta = {"age": fields.get("age", ""), "sex": fields.get("sex", "")}
    if annotations:
        waves = [read_ludb_waves(rec.source, lead) for lead in LEADS_12]
        meta["fiducials"] = ludb_fiducials(waves, rec.sampling_rate)
        span = np.full((12, 2), -1, dtype=np.int64)
        for i, lead_waves in enumerate(waves):
            samples = [s for w in lead_waves for s in w[1:] if s >= 0]
            if samples:
                span[i] = (min(samples), max(samples))
        meta["annotated_span"] = span
    rec.meta = meta
    return rec


@dataclass
class LudbSource(Source):
    """``fgclep preprocess ludb --root DIR`` (the LUDB folder or its ``data/``)."""

    expected_rate: float | None = 500.0
    # The cardiologists' fiducials (500 Hz, 10 s: valid in cache coordinates) per record.
    ground_truth_file: str | None = "ludb_fiducials.jsonl"

    def list_items(self, limit: int | None = None) -> tuple[list[Item], list[Skip]]:
        root = Path(self.root)
        base = root / "data" if (root / "data").is_dir() else root
        heads = sorted(base.glob("*.hea"), key=lambda h: (int(h.stem) if h.stem.isdigit()
                                                          else 10**9, h.stem))
        if limit is not None:
            heads = heads[:limit]
        return [{"source": str(h.with_suffix(""))} for h in heads], []

    def load(self, item: Item) -> ECGRecord:
        rec = read_ludb(item["source"], annotations=True)
        rec.meta["ground_truth"] = {"fiducials": jsonable(rec.meta.pop("fiducials")),
                                    "annotated_span": jsonable(rec.meta.pop("annotated_span"))}
        return rec
