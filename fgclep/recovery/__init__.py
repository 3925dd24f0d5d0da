"""Waveform-feature recovery: diagnostic statements -> candidate waveform features (knowledge
base or LLM) -> validation against the ECG's own measurements -> enhanced report text.

See DESIGN.md section 5. Public API:

* :mod:`~fgclep.recovery.vocabulary` — ``VOCABULARY``, ``FEATURE_IDS``, ``get_feature``,
  ``evaluate`` (closed feature vocabulary with cited, three-valued predicates);
* :func:`load_kb` / :class:`KnowledgeBase` — statement, code and synonym matching to concepts
  and their alternative feature sets;
* :func:`create_backend` — ``"kb"``, ``"openai"``, ``"transformers"`` proposal backends;
* :func:`validate_features`, :func:`machine_row` — confirmed / refuted / unverifiable;
* :func:`render_enhanced` — original report plus confirmed phrases in a stable order;
* :func:`recover_features` with :class:`RecoveryConfig` — the ``fgclep recover-features`` job.
"""
from __future__ import annotations

from fgclep.recovery.backends import BACKENDS, Backend, Proposal, create_backend
from fgclep.recovery.cache import ProposalCache
from fgclep.recovery.kb import KnowledgeBase, load_kb
from fgclep.recovery.pipeline import RecoveryConfig, RecoveryResult, recover_features
from fgclep.recovery.render import render_enhanced
from fgclep.recovery.validate import Validation, machine_row, validate_features
from fgclep.recovery.vocabulary import FEATURE_IDS, VOCABULARY, evaluate, get_feature

__all__ = ["BACKENDS", "FEATURE_IDS", "VOCABULARY", "Backend", "KnowledgeBase", "Proposal",
           "ProposalCache", "RecoveryConfig", "RecoveryResult", "Validation", "create_backend",
           "evaluate", "get_feature", "load_kb", "machine_row", "recover_features",
           "render_enhanced", "validate_features"]
