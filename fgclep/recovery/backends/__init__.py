"""Feature-proposal backends behind one interface: ``kb`` (offline default), ``openai``
(any OpenAI-compatible chat-completions server) and ``transformers`` (a local causal LM)."""
from __future__ import annotations

from fgclep.recovery.backends.base import Backend, Proposal, build_messages, parse_output
from fgclep.recovery.backends.kb import KBBackend

BACKENDS: tuple[str, ...] = ("kb", "openai", "transformers")


def create_backend(name: str, **options) -> Backend:
    """Build a backend by name; ``options`` go to its constructor (None values are ignored)."""
    options = {k: v for k, v in options.items() if v is not None}
    if name == "kb":
        return KBBackend(**options)
    if name == "openai":
        from fgclep.recovery.backends.openai import OpenAIBackend
        return OpenAIBackend(**options)
    if name == "transformers":
        from fgclep.recovery.backends.transformers_backend import TransformersBackend
        return TransformersBackend(**options)
    raise ValueError(f"create_backend: unknown backend {name!r}; choose one of {BACKENDS}")


__all__ = ["BACKENDS", "Backend", "KBBackend", "Proposal", "build_messages", "create_backend",
           "parse_output"]
