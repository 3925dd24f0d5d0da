"""The offline default backend: the packaged knowledge base alone."""
from __future__ import annotations

from typing import Optional, Sequence

from fgclep.recovery.backends.base import Backend, Proposal
from fgclep.recovery.kb import SOURCES, KnowledgeBase, load_kb


class KBBackend(Backend):
    """Propose the union of the matched concepts' alternative feature sets.

    Parameters
    ----------
    kb : KnowledgeBase, optional
        Defaults to :func:`fgclep.recovery.kb.load_kb`.
    source : str, optional
        Label namespace for bare codes (one of :data:`fgclep.recovery.kb.SOURCES`), e.g. "csn"
        where "AF" means atrial flutter.
    """

    name = "kb"

    def __init__(self, kb: Optional[KnowledgeBase] = None, source: Optional[str] = None):
        if source is not None and source not in SOURCES:
            raise ValueError(f"KBBackend: source must be one of {SOURCES} or None, got {source!r}")
        self.kb = kb or load_kb()
        self.source = source

    def identity(self) -> str:
        return f"kb:{self.source or 'any'}"

    def propose(self, statements: Sequence[str]) -> Proposal:
        feats, concepts = self.kb.propose(statements, self.source)
        return Proposal(feats, concepts)
