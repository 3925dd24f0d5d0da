"""Statement normalisation: matching robust to case, punctuation, abbreviations and word order.

A statement becomes a list of canonical tokens: lower case, German umlauts spelled out, accents
and punctuation removed, abbreviations expanded ("LBBB" -> left bundle branch block, "1st" ->
first, "A-V"/"atrioventricular" -> av, roman numerals next to "degree"/"block" -> ordinals),
spelling variants merged (ischaemia -> ischemia, infarct -> infarction, elevated -> elevation),
simple plurals stripped and filler or hedge words dropped ("the", "of", "degree", "possible",
"probably" ...). Word order is handled by comparing the sorted set of tokens, so "first-degree
atrioventricular block", "1st degree AV block", "AV block I" and "block, AV, first degree" all
share the key ``('av', 'block', 'first')``.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_BIGRAMS = {("a", "v"): "av", ("a", "fib"): "afib", ("p", "r"): "pr", ("q", "t"): "qt",
            ("non", "specific"): "nonspecific", ("counter", "clockwise"): "counterclockwise",
            ("pre", "excitation"): "preexcitation", ("intra", "ventricular"): "intraventricular"}
_EXPAND = {
    "1st": "first", "2nd": "second", "3rd": "third", "atrioventricular": "av", "avb": "av block",
    "lbbb": "left bundle branch block", "rbbb": "right bundle branch block",
    "clbbb": "complete left bundle branch block", "crbbb": "complete right bundle branch block",
    "ilbbb": "incomplete left bundle branch block", "irbbb": "incomplete right bundle branch block",
    "bbb": "bundle branch block", "lafb": "left anterior fascicular block",
    "lahb": "left anterior fascicular block", "lpfb": "left posterior fascicular block",
    "lphb": "left posterior fascicular block", "hemiblock": "fascicular block",
    "lvh": "left ventricular hypertrophy", "rvh": "right ventricular hypertrophy",
    "lad": "left axis deviation", "rad": "right axis deviation", "afib": "atrial fibrillation",
    "af": "atrial fibrillation", "mi": "myocardial infarction", "infarct": "infarction",
    "infarkt": "infarction", "ischaemia": "ischemia", "ischaemie": "ischemia",
    "ischemie": "ischemia", "ischaemic": "ischemic", "ekg": "ecg", "qtc": "qt",
    "ventricle": "ventricular", "prolongation": "prolonged", "lengthened": "prolonged",
    "long": "prolonged", "abnormality": "abnormal", "abnorm": "abnormal", "abnormes": "abnormal",
    "abnormales": "abnormal", "abnormity": "abnormal", "unspecific": "nonspecific",
    "unspezifische": "nonspecific", "unspezifischer": "nonspecific",
    "unspezifisches": "nonspecific", "elevated": "elevation", "depressed": "depression",
    "inverted": "inversion", "flattening": "flat", "flattened": "flat",
    "intraventr": "intraventricular",
    "intravintricular": "intraventricular", "repolarisation": "repolarization", "wolf": "wolff",
    "colockwise": "clockwise", "countercolockwise": "counterclockwise", "ischaemische": "ischemic",
    "anomaly": "abnormal", "widening": "wide", "widened": "wide", "segments": "segment",
}
_TERRITORY_STEMS = ("inferior", "anterior", "lateral", "anteroseptal", "anterolateral",
                    "inferolateral", "posterior", "septal", "inferoposterior", "hochlateral",
                    "apikal")
for _stem in _TERRITORY_STEMS:
    for _end in ("er", "en", "e", "es"):
        _EXPAND.setdefault(_stem + _end, "apical" if _stem == "apikal" else _stem)
_ROMAN = {"i": "first", "ii": "second", "iii": "third", "1": "first", "2": "second",
          "3": "third", "one": "first", "two": "second", "three": "third"}
_ROMAN_CONTEXT = {"block", "degree", "grad", "grades", "type", "av"}
STOPWORDS = frozenset("""
the of a an with in on at to is are be been was may might could degree grad grades possible
possibly probable probably likely suspected suspect consider considered cannot rule out exclude
excluded verdacht auf moeglich mogl wahrscheinlich or and und oder due for fuer this that these
there es n minor slightly mild mildly moderate marked leads lead ableitungen ableitung seen
also noted findings finding compatible consistent suggesting suggest suggests pattern evidence
""".split())
NEGATIONS = frozenset({"no", "not", "without", "kein", "keine", "keinen", "nicht", "never"})
_SPLIT = re.compile(r"(?:\.\s+|\.$|;|\n|\|)")
_PUNCT = re.compile(r"[^a-z0-9]+")


def _depluralise(tok: str) -> str:
    if len(tok) <= 3 or not tok.endswith("s") or tok.endswith("ss"):
        return tok
    if tok.endswith("es") and tok[:-2].endswith(("x", "ch", "sh")):
        return tok[:-2]
    return tok[:-1]


def tokens(text: str) -> list[str]:
    """Canonical tokens of a statement (stopwords dropped, negations kept).

    Examples
    --------
    >>> tokens("First-degree atrioventricular block")
    ['first', 'av', 'block']
    >>> tokens("AV block I")
    ['av', 'block', 'first']
    """
    if not isinstance(text, str):
        raise TypeError(f"tokens: text must be str, got {type(text).__name__}")
    s = unicodedata.normalize("NFKD", text.lower().translate(_UMLAUTS))
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    raw = [t for t in _PUNCT.sub(" ", s).split() if t]
    merged: list[str] = []
    i = 0
    while i < len(raw):
        pair = tuple(raw[i:i + 2])
        if len(pair) == 2 and pair in _BIGRAMS:
            merged.append(_BIGRAMS[pair])  # type: ignore[index]
            i += 2
        else:
            merged.append(raw[i])
            i += 1
    expanded: list[str] = []
    for tok in merged:
        expanded.extend(_EXPAND.get(tok, tok).split())
    out: list[str] = []
    for j, tok in enumerate(expanded):
        if tok in _ROMAN:
            prev = expanded[j - 1] if j else ""
            nxt = expanded[j + 1] if j + 1 < len(expanded) else ""
            if prev in _ROMAN_CONTEXT or nxt in ("degree", "grad", "grades", "av"):
                tok = _ROMAN[tok]
        tok = _depluralise(tok)
        tok = _EXPAND.get(tok, tok)
        if tok not in STOPWORDS:
            out.extend(tok.split())
    return out


def statement_key(text_or_tokens: str | Iterable[str]) -> tuple[str, ...]:
    """Order-free key: the sorted set of canonical tokens (negations included)."""
    toks = tokens(text_or_tokens) if isinstance(text_or_tokens, str) else list(text_or_tokens)
    return tuple(sorted(set(toks)))


def normalize_statement(text: str) -> str:
    """A canonical, order-free string for one statement ("" when nothing is left)."""
    return " ".join(statement_key(text))


def normalize_code(code: str) -> str:
    """Canonical form of a label code: upper case, no spaces, no leading/trailing ``_``."""
    if not isinstance(code, str):
        raise TypeError(f"normalize_code: code must be str, got {type(code).__name__}")
    return code.strip().upper().replace(" ", "").strip("_")


def split_statements(report: str) -> list[str]:
    """Split a report into statements at full stops, semicolons, newlines and ``|``.

    Examples
    --------
    >>> split_statements("Sinus rhythm. Left axis deviation; Borderline ECG")
    ['Sinus rhythm', 'Left axis deviation', 'Borderline ECG']
    """
    if report is None:
        return []
    if not isinstance(report, str):
        raise TypeError(f"split_statements: report must be str, got {type(report).__name__}")
    return [p.strip(" ,:-") for p in _SPLIT.split(report) if p and p.strip(" ,:-")]


def statement_set_key(statements: Iterable[str]) -> str:
    """Key of a statement set for caching: sorted unique normalised statements joined by ``|``.

    A one-word statement keeps its code form (``code:AF``): label codes can mean different
    things per dataset (Chapman's AF is flutter), so they must not share a key with the text
    their abbreviation expands to.
    """
    keys = {f"code:{normalize_code(s)}" if s.strip() and " " not in s.strip()
            else normalize_statement(s) for s in statements}
    keys.discard("")
    return "|".join(sorted(keys))
