"""PhysioNet/CinC Challenge 2020/2021 records (``.hea`` + ``.mat``): CPSC2018, CSN, Georgia, ...

``# Dx:`` SNOMED-CT codes are mapped with the shipped ``task_defs/snomed_ct.json`` (from the
Challenge's dx_mapping tables): for ``csn`` to the Challenge abbreviation (``Unknown`` for codes
outside the tables), for ``cpsc2018`` to the MERL benchmark names (AFIB, VPC, NORM, 1AVB, CRBBB,
STE, PAC, CLBBB, STD; the Challenge's equivalent codes are merged, e.g. RBBB -> CRBBB).
The report names the diagnoses. Records are keyed by file name (never directory order).
Georgia's ``E00666.hea`` names its record ``E00666.mat`` on the record line; the header parser
of :func:`fgclep.data.read_wfdb` accepts it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from fgclep.data.readers.wfdb import read_wfdb
from fgclep.data.record import ECGRecord
from fgclep.data.sources import Item, Skip, Source

__all__ = ["read_challenge", "map_dx", "CpscSource", "CsnSource", "CPSC_FROM_ABBREVIATION"]

# Challenge abbreviation -> MERL's CPSC2018 class name (equivalent codes merged as in the
# Challenge scoring: RBBB~CRBBB, PAC~SVPB, PVC~VPB; CPSC's "ventricular ectopics" is its PVC).
CPSC_FROM_ABBREVIATION = {"AF": "AFIB", "PVC": "VPC", "VPB": "VPC", "VEB": "VPC", "NSR": "NORM",
                          "IAVB": "1AVB", "CRBBB": "CRBBB", "RBBB": "CRBBB", "STE": "STE",
                          "PAC": "PAC", "SVPB": "PAC", "LBBB": "CLBBB", "CLBBB": "CLBBB",
                          "STD": "STD"}
# Sub-folders of the Challenge 2021 training set that make up each dataset (names of the
# Challenge's own archives and of PhysioNet's challenge-2021 files; `fgclep download` uses the
# latter). Without any of them, every header under --root is used.
SUBSETS = {"cpsc2018": ("WFDB_CPSC2018", "cpsc_2018"),
           "csn": ("WFDB_ChapmanShaoxing", "WFDB_Ningbo", "chapman_shaoxing", "ningbo")}


@lru_cache(maxsize=None)
def _snomed() -> dict[str, dict]:
    text = resources.files("fgclep.data").joinpath("task_defs", "snomed_ct.json").read_text(
        encoding="utf-8")
    return json.loads(text)["codes"]


def map_dx(codes: list[str], scheme: str) -> tuple[list[str], list[str]]:
    """Map SNOMED-CT codes to labels (``scheme`` "csn" or "cpsc2018") and diagnosis names."""
    table = _snomed()
    labels, names = [], []
    for code in codes:
        entry = table.get(code)
        if entry is None:
            label, name = "Unknown", f"unknown diagnosis (SNOMED {code})"
        else:
            name = entry["name"]
            label = entry["abbreviation"]
            if scheme == "cpsc2018":
                label = CPSC_FROM_ABBREVIATION.get(label, label)
        if label not in labels:
            labels.append(label)
        if name not in names:
            names.append(name)
    return labels, names


def read_challenge(path: str | Path, scheme: str = "csn") -> ECGRecord:
    """Read one Challenge-format record with its ``Dx`` labels, age and sex.

    Parameters
    ----------
    path : path
        Record path with or without ``.hea``.
    scheme : {"csn", "cpsc2018"}
        Label naming (see module docstring).
    """
    if scheme not in ("csn", "cpsc2018"):
        raise ValueError(f"read_challenge: scheme must be 'csn' or 'cpsc2018', got {scheme!r}")
    rec = read_wfdb(path)
    fields = {}
    for comment in rec.meta.get("comments", []):
        key, sep, value = comment.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    if "dx" not in fields:
        raise ValueError(f"{rec.source}.hea: no '# Dx:' line")
    codes = [c.strip() for c in fields["dx"].split(",") if c.strip()]
    rec.labels, names = map_dx(codes, scheme)
    rec.report = ". ".join(n[:1].upper() + n[1:] for n in names) + ("." if names else "")
    rec.meta = {"age": fields.get("age", ""), "sex": fields.get("sex", ""),
                "dx": ";".join(codes), **{k: v for k, v in rec.meta.items() if k != "comments"}}
    return rec


@dataclass
class ChallengeSource(Source):
    scheme: str = "csn"
    expected_rate: float | None = 500.0
    split_fractions: tuple[float, float, float] = (0.72, 0.08, 0.20)

    def _headers(self) -> list[Path]:
        root = Path(self.root)
        subsets = [d for name in SUBSETS[self.scheme] for d in root.glob(f"**/{name}")
                   if d.is_dir()]
        dirs = subsets or [root]
        heads = {h for d in dirs for h in d.rglob("*.hea")}
        return sorted(heads, key=lambda h: (h.stem, str(h)))

    def list_items(self, limit: int | None = None) -> tuple[list[Item], list[Skip]]:
        heads = self._headers()
        if limit is not None:
            heads = heads[:limit]
        return [{"source": str(h.with_suffix(""))} for h in heads], []

    def load(self, item: Item) -> ECGRecord:
        return read_challenge(item["source"], scheme=self.scheme)


@dataclass
class CsnSource(ChallengeSource):
    """``fgclep preprocess csn --root DIR`` (Challenge 2021 WFDB_ChapmanShaoxing/WFDB_Ningbo)."""

    scheme: str = "csn"


@dataclass
class CpscSource(ChallengeSource):
    """``fgclep preprocess cpsc2018 --root DIR``: Challenge format (WFDB_CPSC2018) or the
    original release (``TrainingSet*/A*.mat`` + ``REFERENCE.csv``, detected automatically)."""

    scheme: str = "cpsc2018"

    def _original(self) -> bool:
        return (Path(self.root) / "REFERENCE.csv").is_file() and not self._headers()

    def list_items(self, limit: int | None = None) -> tuple[list[Item], list[Skip]]:
        if self._original():
            from fgclep.data.readers.cpsc2018 import list_original

            return list_original(Path(self.root), limit)
        return super().list_items(limit)

    def load(self, item: Item) -> ECGRecord:
        if item.get("original"):
            from fgclep.data.readers.cpsc2018 import read_cpsc2018

            return read_cpsc2018(item["source"], item["labels"])
        return super().load(item)
