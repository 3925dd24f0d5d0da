"""Knowledge base: diagnostic statements -> concepts -> candidate waveform features.

The data live in ``fgclep/recovery/kb_data/``:

* ``concepts.json`` — concept ID -> description, ``feature_sets`` (alternative sets of feature
  IDs: a diagnosis can be shown by one set or another, e.g. LVH by Sokolow-Lyon voltage, by
  Cornell voltage or by a lateral strain pattern) and free-text ``aliases`` (English, German
  PTB-XL phrasing, synonyms).
* ``ptbxl_scp.json`` (all 71 SCP codes plus the diagnostic super/sub classes), ``cpsc.json``,
  ``csn.json``, ``cinc.json`` — label code -> concepts; ``ludb.json`` and ``mimic.json`` —
  verbatim statements of LUDB headers and MIMIC-IV-ECG machine reports -> concepts.

Matching (:meth:`KnowledgeBase.match`) is robust to case, punctuation, abbreviations and word
order (see :mod:`fgclep.recovery.normalize`): a report is split into statements, each statement
is scanned for the longest windows of consecutive tokens whose token set equals an alias's, and
windows preceded by a negation ("no", "without", "kein" ...) are ignored.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable, Optional

from fgclep.recovery.normalize import (NEGATIONS, normalize_code, split_statements, statement_key,
                                       tokens)
from fgclep.recovery.vocabulary import FEATURE_IDS, VOCABULARY

logger = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = ("ptbxl", "cpsc", "csn", "cinc", "synthetic", "ludb", "mimic")
# Label namespace of each fgclep dataset name (fgclep.data.tasks' Task.dataset, cache meta).
DATASET_SOURCES: dict[str, str] = {"ptbxl": "ptbxl", "cpsc2018": "cpsc", "csn": "cinc",
                                   "synthetic": "synthetic", "ludb": "ludb",
                                   "mimic-iv-ecg": "mimic"}
_CODE_FILES = {"ptbxl": "ptbxl_scp.json", "cpsc": "cpsc.json", "csn": "csn.json",
               "cinc": "cinc.json", "synthetic": "synthetic.json"}
_STATEMENT_FILES = {"ludb": "ludb.json", "mimic": "mimic.json"}
_ORDER = {fid: i for i, fid in enumerate(FEATURE_IDS)}


@dataclass(frozen=True)
class Concept:
    """A diagnosis with alternative sets of waveform features that can show it."""

    id: str
    description: str
    feature_sets: tuple[tuple[str, ...], ...]
    aliases: tuple[str, ...]
    note: str = ""

    @property
    def features(self) -> tuple[str, ...]:
        """Union of all alternative feature sets, in vocabulary order."""
        return order_features(f for s in self.feature_sets for f in s)


@dataclass(frozen=True)
class Match:
    """One concept found in a statement, with the words that matched."""

    concept: str
    text: str
    statement: str


def order_features(features: Iterable[str]) -> tuple[str, ...]:
    """Unique feature IDs in the vocabulary's stable order (unknown IDs raise ValueError)."""
    feats = set(features)
    unknown = feats - set(_ORDER)
    if unknown:
        raise ValueError(f"order_features: unknown feature ids {sorted(unknown)}")
    return tuple(sorted(feats, key=_ORDER.__getitem__))


def _read(name: str) -> dict:
    with resources.files("fgclep.recovery").joinpath("kb_data", name).open(encoding="utf-8") as f:
        return json.load(f)


class KnowledgeBase:
    """Statement -> concept -> feature knowledge base (see module docstring).

    Examples
    --------
    >>> kb = load_kb()
    >>> kb.resolve("1st degree A-V block")
    ['av_block_1']
    >>> kb.concept("av_block_1").features
    ('pr_prolonged',)
    """

    def __init__(self, concepts: dict, codes: dict[str, dict], statements: dict[str, dict]):
        self.concepts: dict[str, Concept] = {}
        for cid, c in concepts.items():
            sets = tuple(tuple(s) for s in c.get("feature_sets", []))
            for s in sets:
                bad = [f for f in s if f not in VOCABULARY]
                if bad:
                    raise ValueError(f"KnowledgeBase: concept {cid!r} uses unknown features {bad}")
            self.concepts[cid] = Concept(cid, c["description"], sets,
                                         tuple(c.get("aliases", ())), c.get("note", ""))
        self.codes: dict[str, dict[str, tuple[str, ...]]] = {}
        self.code_descriptions: dict[str, dict[str, str]] = {}
        for src, table in codes.items():
            self.codes[src] = {normalize_code(k): self._check(v["concepts"], f"{src}:{k}")
                               for k, v in table.items()}
            self.code_descriptions[src] = {normalize_code(k): v.get("description", "")
                                           for k, v in table.items()}
        self._exact: dict[tuple[str, ...], tuple[str, ...]] = {}
        for src, table in statements.items():
            for text, v in table.items():
                self._exact[statement_key(text)] = self._check(v["concepts"], f"{src}:{text}")
        self._alias: dict[tuple[str, ...], str] = {}
        for cid, c in self.concepts.items():
            for alias in (c.description, *c.aliases):
                key = statement_key(alias)
                if key and self._alias.setdefault(key, cid) != cid:
                    logger.debug("alias %r of %s already names %s", alias, cid, self._alias[key])
        self._max_len = max(len(k) for k in self._alias)

    def _check(self, concepts: Iterable[str], where: str) -> tuple[str, ...]:
        out = tuple(concepts)
        bad = [c for c in out if c not in self.concepts]
        if bad:
            raise ValueError(f"KnowledgeBase: {where} names unknown concepts {bad}")
        return out

    # ------------------------------------------------------------------ lookups
    def concept(self, concept_id: str) -> Concept:
        """The :class:`Concept` with this ID (ValueError when unknown)."""
        try:
            return self.concepts[concept_id]
        except KeyError:
            raise ValueError(f"KnowledgeBase.concept: unknown concept {concept_id!r}") from None

    def resolve_code(self, code: str, source: Optional[str] = None) -> list[str]:
        """Concepts of a label code; ``source`` picks one of :data:`SOURCES` (else all, PTB-XL
        first). Returns [] for an unknown code."""
        if source is not None and source not in self.codes:
            return []
        key = normalize_code(code)
        for src in ([source] if source else list(self.codes)):
            if key in self.codes[src]:
                return list(self.codes[src][key])
        return []

    def match(self, text: str) -> list[Match]:
        """All concepts named in a free-text report or statement, in order of appearance."""
        found: list[Match] = []
        for stmt in split_statements(text):
            toks = tokens(stmt)
            exact = self._exact.get(tuple(sorted(set(toks))))
            if exact:
                found.extend(Match(c, stmt, stmt) for c in exact)
                continue
            used = [False] * len(toks)
            hits: list[tuple[int, str, str]] = []
            for width in range(min(self._max_len, len(toks)), 0, -1):
                for start in range(len(toks) - width + 1):
                    if any(used[start:start + width]):
                        continue
                    window = toks[start:start + width]
                    cid = self._alias.get(tuple(sorted(set(window))))
                    if cid is None:
                        continue
                    for k in range(start, start + width):
                        used[k] = True
                    if any(t in NEGATIONS for t in toks[max(0, start - 3):start]):
                        continue
                    hits.append((start, cid, " ".join(window)))
            found.extend(Match(cid, words, stmt) for _, cid, words in sorted(hits))
        return found

    def resolve(self, statement: str, source: Optional[str] = None) -> list[str]:
        """Concept IDs for one statement or label: code lookup first, then text matching."""
        if not isinstance(statement, str):
            raise TypeError(f"KnowledgeBase.resolve: statement must be str, "
                            f"got {type(statement).__name__}")
        s = statement.strip()
        if s and " " not in s:
            by_code = self.resolve_code(s, source)
            if by_code:
                return by_code
        out: list[str] = []
        for m in self.match(s):
            if m.concept not in out:
                out.append(m.concept)
        return out

    def propose(self, statements: Iterable[str], source: Optional[str] = None
                ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(feature IDs, concept IDs) for a set of statements: the union of each matched
        concept's alternative feature sets, in vocabulary order."""
        concepts: list[str] = []
        for st in statements:
            for cid in self.resolve(st, source):
                if cid not in concepts:
                    concepts.append(cid)
        feats = order_features(f for cid in concepts for f in self.concepts[cid].features)
        return feats, tuple(concepts)

    def phrase_index(self) -> dict[tuple[str, ...], str]:
        """Order-free keys of feature IDs and phrases -> feature ID (for mapping LLM output)."""
        index: dict[tuple[str, ...], str] = {}
        for fid, feat in VOCABULARY.items():
            for text in (fid.replace("_", " "), feat.phrase):
                key = statement_key(text)
                if key:
                    index.setdefault(key, fid)
        return index


@lru_cache(maxsize=1)
def load_kb() -> KnowledgeBase:
    """The packaged knowledge base (loaded once)."""
    codes = {src: _read(name) for src, name in _CODE_FILES.items()}
    statements = {src: _read(name) for src, name in _STATEMENT_FILES.items()}
    return KnowledgeBase(_read("concepts.json"), codes, statements)
