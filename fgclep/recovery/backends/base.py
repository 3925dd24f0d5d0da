"""The backend interface, the LLM prompt and the tolerant parser of LLM output.

A backend turns one set of diagnostic statements into a :class:`Proposal`: candidate feature IDs
from the closed vocabulary. LLM output is parsed leniently: JSON (optionally inside a code fence
or surrounded by prose) with a ``features`` list, or a bare list; each item is kept when it is a
vocabulary ID, mapped when it is a feature phrase / ID variant or a diagnosis the knowledge base
knows (counted in ``mapped``), and otherwise dropped (listed in ``dropped``). Output that is not
JSON at all gives an empty proposal with ``malformed=True``. Nothing here raises on bad output.
"""
from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Optional, Sequence

from fgclep.recovery.kb import KnowledgeBase, load_kb, order_features
from fgclep.recovery.normalize import statement_key
from fgclep.recovery.vocabulary import FEATURE_IDS, VOCABULARY

PROMPT_VERSION = "1"


@dataclass(frozen=True)
class Proposal:
    """Candidate features for one statement set, with provenance counters."""

    features: tuple[str, ...]
    concepts: tuple[str, ...] = ()
    mapped: int = 0
    dropped: tuple[str, ...] = ()
    malformed: bool = False
    error: Optional[str] = None
    extra: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        """A JSON-serialisable dict (the cache's stored form)."""
        return {"features": list(self.features), "concepts": list(self.concepts),
                "mapped": self.mapped, "dropped": list(self.dropped),
                "malformed": self.malformed, "error": self.error}

    @classmethod
    def from_json(cls, d: dict) -> "Proposal":
        """Inverse of :meth:`to_json` (unknown feature IDs are dropped)."""
        feats = tuple(f for f in d.get("features", []) if f in VOCABULARY)
        return cls(feats, tuple(d.get("concepts", [])), int(d.get("mapped", 0)),
                   tuple(d.get("dropped", [])), bool(d.get("malformed", False)), d.get("error"))


class BackendUnreachable(Exception):
    """The backend's server has never answered and connections to it fail (refused, unknown
    host): a batch job stops instead of retrying every record against a wrong address."""


class Backend(ABC):
    """Proposes vocabulary features for statement sets."""

    name: str = "base"

    def identity(self) -> str:
        """Cache namespace: backend, model and prompt version (never secrets)."""
        return f"{self.name}:v{PROMPT_VERSION}"

    @abstractmethod
    def propose(self, statements: Sequence[str]) -> Proposal:
        """Features for one set of statements."""

    def propose_many(self, statement_sets: Sequence[Sequence[str]]) -> list[Proposal]:
        """Features for several sets (sequential unless a backend parallelises)."""
        return [self.propose(s) for s in statement_sets]


# ---------------------------------------------------------------------------- prompt
def feature_schema() -> dict:
    """JSON schema of the expected answer: ``{"features": [<vocabulary id>, ...]}``."""
    return {"type": "object", "additionalProperties": False, "required": ["features"],
            "properties": {"features": {"type": "array",
                                        "items": {"type": "string", "enum": list(FEATURE_IDS)}}}}


def build_messages(statements: Sequence[str]) -> list[dict]:
    """Chat messages asking for the waveform features implied by the statements."""
    vocab = "\n".join(f"- {fid}: {f.phrase}" for fid, f in VOCABULARY.items())
    system = ("You are a cardiologist. Given diagnostic statements from one ECG report, list the "
              "waveform features that the diagnoses imply, choosing ONLY from this vocabulary "
              "(use the IDs):\n" + vocab + "\nAnswer with JSON only: "
              '{"features": ["<id>", ...]}. Use an empty list when nothing is implied.')
    user = "Statements:\n" + "\n".join(f"- {s}" for s in statements)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# ---------------------------------------------------------------------------- parsing
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
_TRUNCATED = re.compile(r'"features"\s*:\s*\[([^\]]*)$', re.S)


def _load_json(text: str) -> object:
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    for open_, close in (("{", "}"), ("[", "]")):
        i, j = text.find(open_), text.rfind(close)
        if 0 <= i < j:
            candidates.append(text[i:j + 1])
    for cand in candidates:
        try:
            return json.loads(cand)
        except (json.JSONDecodeError, ValueError):
            continue
    raise ValueError("no JSON found")


def map_feature(item: str, kb: Optional[KnowledgeBase] = None) -> tuple[tuple[str, ...], bool]:
    """(feature IDs, mapped?) for one output item; ``((), False)`` when it cannot be mapped."""
    s = item.strip()
    if s in VOCABULARY:
        return (s,), False
    kb = kb or load_kb()
    variant = re.sub(r"[\s\-]+", "_", s.lower())
    if variant in VOCABULARY:
        return (variant,), True
    key = statement_key(s)
    index = _phrase_index(kb)
    if key in index:
        return (index[key],), True
    concepts = kb.resolve(s)
    feats = order_features(f for c in concepts for f in kb.concepts[c].features)
    return (feats, True) if feats else ((), False)


_PHRASES: dict[int, dict] = {}


def _phrase_index(kb: KnowledgeBase) -> dict:
    if id(kb) not in _PHRASES:
        _PHRASES[id(kb)] = kb.phrase_index()
    return _PHRASES[id(kb)]


def parse_output(text: object, kb: Optional[KnowledgeBase] = None) -> Proposal:
    """Parse an LLM answer into a :class:`Proposal` (never raises).

    Examples
    --------
    >>> parse_output('{"features": ["pr_prolonged", "prolonged QT", "banana"]}').features
    ('pr_prolonged', 'qtc_prolonged')
    """
    if not isinstance(text, str):
        return Proposal((), malformed=True, error="output is not text")
    malformed = False
    try:
        obj = _load_json(text)
    except ValueError:
        # Truncated answer (generation budget ran out): keep the complete quoted items of the
        # features list, and say the output was malformed.
        m = _TRUNCATED.search(text)
        if m is None:
            return Proposal((), malformed=True)
        obj, malformed = re.findall(r'"([^"\\]*)"', m.group(1)), True
    if isinstance(obj, dict):
        items = obj.get("features", obj.get("feature_ids", []))
    else:
        items = obj
    if not isinstance(items, list):
        return Proposal((), malformed=True)
    feats: list[str] = []
    mapped, dropped = 0, []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id") or item.get("feature") or item.get("name") or ""
        if not isinstance(item, str) or not item.strip():
            dropped.append(str(item))
            continue
        got, was_mapped = map_feature(item, kb)
        if got:
            feats.extend(got)
            mapped += was_mapped
        else:
            dropped.append(item)
    return Proposal(order_features(feats), mapped=mapped, dropped=tuple(dropped),
                    malformed=malformed)
