"""Class prompts for zero-shot classification.

fgclep ships its own class descriptions (``fgclep/eval/prompts/<task>.json``, several prompts per
class: the diagnosis name, its waveform definition, an alternative phrasing), written from
standard ECG criteria. Users can instead pass MERL's ``CKEPE_prompt.json`` (Liu et al., ICML 2024),
a flat ``{class key: text}`` mapping, for comparison with published numbers. Both formats are read
*by key name*, never by position.

Key matching: exact first; then, as MERL's own code does, with ``_`` removed and ``(S)``/``(s)``
dropped (``NST_`` ↔ ``NST``, ``PRC(S)`` ↔ ``PRC``), case-insensitively.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping, Sequence

logger = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"

__all__ = ["PROMPTS_DIR", "builtin_prompt_tasks", "load_prompt_file", "builtin_prompts",
           "prompts_for_classes", "normalize_key"]


def normalize_key(key: str) -> str:
    """Normalised class key used for lenient matching (``"NST_"`` → ``"NST"``, ``"PRC(S)"`` → ``"PRC"``)."""
    k = key.strip().replace("_", "")
    for suffix in ("(S)", "(s)"):
        k = k.replace(suffix, "")
    return k.upper()


def builtin_prompt_tasks() -> list[str]:
    """Task names for which fgclep ships prompts."""
    return sorted(p.stem for p in PROMPTS_DIR.glob("*.json"))


def load_prompt_file(path: str | Path) -> dict[str, list[str]]:
    """Read a prompt file: ``{key: text}`` (CKEPE format) or ``{key: [text, ...]}``.

    Returns
    -------
    dict
        Class key → non-empty list of prompts.

    Raises
    ------
    ValueError
        If the file is missing, is not JSON, is not an object, or a value is not a non-empty
        string or list of non-empty strings (the message names the file and the key).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"load_prompt_file: prompt file {path} "
                         + ("is a folder, not a file" if path.is_dir() else "does not exist"))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"load_prompt_file: {path} is not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict) or not data:
        raise ValueError(f"load_prompt_file: {path} must hold a non-empty JSON object "
                         f"(class key -> text or list of texts), got {type(data).__name__}")
    out: dict[str, list[str]] = {}
    for key, value in data.items():
        texts = [value] if isinstance(value, str) else value
        if (not isinstance(texts, list) or not texts
                or not all(isinstance(t, str) and t.strip() for t in texts)):
            raise ValueError(f"load_prompt_file: {path}: key {key!r} must map to a non-empty "
                             f"string or list of non-empty strings, got {value!r}")
        out[str(key)] = [t.strip() for t in texts]
    return out


def builtin_prompts(task: str) -> dict[str, list[str]]:
    """fgclep's own prompts for ``task`` (one of :func:`builtin_prompt_tasks`)."""
    path = PROMPTS_DIR / f"{task}.json"
    if not path.is_file():
        raise ValueError(f"builtin_prompts: no built-in prompts for task {task!r}; "
                         f"available: {builtin_prompt_tasks()}")
    return load_prompt_file(path)


def prompts_for_classes(classes: Sequence[str], prompts: Mapping[str, Sequence[str]] | str | Path,
                        source: str | None = None) -> dict[str, list[str]]:
    """Pick each class's prompts from a mapping, by key name.

    Parameters
    ----------
    classes : sequence of str
        Class names in the task's order.
    prompts : mapping or path
        Class key → prompts (or a path to a prompt file).
    source : str, optional
        Name used in error messages (defaults to the path).

    Returns
    -------
    dict
        ``{class: [prompt, ...]}`` in the order of ``classes``.

    Raises
    ------
    ValueError
        Naming every class that has no prompt, and the source.
    """
    if isinstance(prompts, (str, Path)):
        source = source or str(prompts)
        prompts = load_prompt_file(prompts)
    source = source or "prompt mapping"
    by_norm: dict[str, str] = {}
    for key in prompts:
        by_norm.setdefault(normalize_key(key), key)
    out: dict[str, list[str]] = {}
    missing = []
    for cls in classes:
        key = cls if cls in prompts else by_norm.get(normalize_key(cls))
        if key is None:
            missing.append(cls)
            continue
        texts = prompts[key]
        out[cls] = [texts] if isinstance(texts, str) else list(texts)
    if missing:
        raise ValueError(f"prompts_for_classes: {source} has no prompt for classes {missing}")
    return out
