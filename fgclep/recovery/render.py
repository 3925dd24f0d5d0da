"""Enhanced report text: the original report plus the confirmed features' phrases."""
from __future__ import annotations

from typing import Sequence

from fgclep.recovery.kb import order_features
from fgclep.recovery.normalize import tokens
from fgclep.recovery.vocabulary import TERRITORIES, VOCABULARY


def render_enhanced(report: str, features: Sequence[str]) -> str:
    """Original text, then one sentence per feature in vocabulary order.

    A generic feature is left out when one of its territory variants is present ("ST
    depression" beside "ST depression in lateral leads"), and a phrase whose words all occur in
    the report already is not repeated.

    Examples
    --------
    >>> render_enhanced("Sinus bradycardia", ["p_present", "hr_low"])
    'Sinus bradycardia. Heart rate below 60 bpm. P waves present.'
    """
    if not isinstance(report, str):
        raise TypeError(f"render_enhanced: report must be str, got {type(report).__name__}")
    feats = order_features(features)
    present = set(feats)
    report_tokens = set(tokens(report))
    sentences = []
    for fid in feats:
        if any(f"{fid}_{t}" in present for t in TERRITORIES):
            continue
        phrase = VOCABULARY[fid].phrase
        if set(tokens(phrase)) <= report_tokens:
            continue
        sentences.append(phrase[0].upper() + phrase[1:] + ".")
    base = report.strip()
    if not sentences:
        return base
    if base and not base.endswith((".", "!", "?")):
        base += "."
    return (base + " " if base else "") + " ".join(sentences)
