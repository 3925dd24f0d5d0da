"""OpenAI-compatible chat-completions backend (vLLM, Ollama, llama.cpp server, hosted APIs).

Standard library only (``urllib``). The request asks for JSON constrained by
:func:`~fgclep.recovery.backends.base.feature_schema` through ``response_format`` of type
``json_schema``; a server that rejects it (HTTP 400/422) is retried with ``json_object`` and then
without ``response_format``, and the working mode is remembered. 429, 5xx, timeouts and connection
errors are retried with exponential backoff (``Retry-After`` honoured); after ``max_retries`` the
proposal carries an ``error`` instead of raising. Before the server has answered once,
connection-level failures (refused, unknown host, network unreachable) are counted over all
requests, and the ``unreachable_after``-th raises
:class:`~fgclep.recovery.backends.base.BackendUnreachable` naming ``base_url``: a wrong address
stops a batch in seconds instead of retrying every record. The API key is read from the environment
variable named by ``api_key_env`` and never logged or stored in errors or the cache.
"""
from __future__ import annotations

import errno
import http.client
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from fgclep.recovery.backends.base import (PROMPT_VERSION, Backend, BackendUnreachable, Proposal,
                                           build_messages, feature_schema, parse_output)

logger = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_FORMATS = ("json_schema", "json_object", "none")
_NO_ROUTE = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH,
                       errno.EADDRNOTAVAIL})


def _is_connect_error(err: BaseException) -> bool:
    """True when no connection could be made at all (not a timeout, not a dropped answer)."""
    reason = getattr(err, "reason", err) if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return False
    return isinstance(reason, (ConnectionRefusedError, socket.gaierror)) or (
        isinstance(reason, OSError) and reason.errno in _NO_ROUTE)


class OpenAIBackend(Backend):
    """Propose features with an OpenAI-compatible ``/chat/completions`` endpoint.

    Parameters
    ----------
    model : str
        Model name sent to the server.
    base_url : str
        API root, e.g. ``http://127.0.0.1:8000/v1`` (vLLM) or ``https://api.openai.com/v1``.
    api_key_env : str
        Name of the environment variable holding the key (may be unset for local servers).
    timeout : float
        Seconds per HTTP request.
    max_retries : int
        Retries after the first attempt for 429/5xx/timeouts/connection errors.
    backoff : float
        First backoff in seconds, doubled per retry, capped at ``max_backoff``.
    concurrency : int
        Parallel requests in :meth:`propose_many`.
    response_format : {"json_schema", "json_object", "none"}
        Preferred structured-output mode (downgraded automatically when rejected).
    unreachable_after : int
        Connection-level failures, before the server's first answer, after which
        :class:`~fgclep.recovery.backends.base.BackendUnreachable` is raised.
    """

    name = "openai"

    def __init__(self, model: str = "gpt-4o-mini", base_url: str = "https://api.openai.com/v1",
                 api_key_env: str = "OPENAI_API_KEY", timeout: float = 60.0, max_retries: int = 5,
                 backoff: float = 1.0, max_backoff: float = 60.0, concurrency: int = 4,
                 max_tokens: int = 256, response_format: str = "json_schema",
                 unreachable_after: int = 3):
        if not isinstance(model, str) or not model:
            raise ValueError(f"OpenAIBackend: model must be a non-empty string, got {model!r}")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"OpenAIBackend: base_url must start with http:// or https://, "
                             f"got {base_url!r}")
        if response_format not in _FORMATS:
            raise ValueError(f"OpenAIBackend: response_format must be one of {_FORMATS}, "
                             f"got {response_format!r}")
        if timeout <= 0 or max_retries < 0 or concurrency < 1 or backoff < 0:
            raise ValueError("OpenAIBackend: timeout > 0, max_retries >= 0, concurrency >= 1 and "
                             f"backoff >= 0 required (got {timeout}, {max_retries}, "
                             f"{concurrency}, {backoff})")
        if unreachable_after < 1:
            raise ValueError(f"OpenAIBackend: unreachable_after must be >= 1, "
                             f"got {unreachable_after}")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout, self.max_retries = float(timeout), int(max_retries)
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.concurrency, self.max_tokens = int(concurrency), int(max_tokens)
        self._format = response_format
        self._lock = threading.Lock()
        self.unreachable_after = int(unreachable_after)
        self._answered, self._connect_failures = False, 0
        self._unreachable: str | None = None
        self.stats = {"requests": 0, "retries": 0, "format_downgrades": 0, "failures": 0}

    def identity(self) -> str:
        return f"openai:{self.base_url}:{self.model}:v{PROMPT_VERSION}"

    # ------------------------------------------------------------------ HTTP
    def _body(self, statements: Sequence[str], fmt: str) -> bytes:
        body: dict = {"model": self.model, "messages": build_messages(statements),
                      "temperature": 0, "max_tokens": self.max_tokens}
        if fmt == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "waveform_features", "schema": feature_schema(), "strict": True}}
        elif fmt == "json_object":
            body["response_format"] = {"type": "json_object"}
        return json.dumps(body).encode("utf-8")

    def _post(self, payload: bytes) -> tuple[int, dict, bytes]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        req = urllib.request.Request(f"{self.base_url}/chat/completions", data=payload,
                                     headers=headers, method="POST")
        with self._lock:
            self.stats["requests"] += 1
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            try:  # the error holds the open response: read it, then close its socket
                return err.code, dict(err.headers or {}), err.read() if err.fp else b""
            finally:
                err.close()

    def _wait(self, attempt: int, headers: dict) -> None:
        delay = min(self.max_backoff, self.backoff * (2 ** attempt))
        retry_after = {k.lower(): v for k, v in headers.items()}.get("retry-after")
        if retry_after is not None:
            try:
                delay = min(self.max_backoff, max(0.0, float(retry_after)))
            except ValueError:
                pass
        with self._lock:
            self.stats["retries"] += 1
        time.sleep(delay)

    def _count_connect_failure(self, last: str) -> None:
        with self._lock:
            if self._answered:
                return
            self._connect_failures += 1
            if self._connect_failures >= self.unreachable_after and self._unreachable is None:
                self._unreachable = (
                    f"OpenAIBackend: cannot connect to {self.base_url} ({last}; "
                    f"{self._connect_failures} attempts, no answer yet): check that the server "
                    "is running and that base_url is right")
        self._raise_if_unreachable()

    def _raise_if_unreachable(self) -> None:
        if self._unreachable is not None:
            raise BackendUnreachable(self._unreachable)

    def complete(self, statements: Sequence[str]) -> str:
        """Raw assistant text for one statement set (raises RuntimeError when retries run out,
        BackendUnreachable when the server has never answered; see the module docstring)."""
        attempt, last = 0, "no attempt"
        while True:
            self._raise_if_unreachable()      # another worker found the server unreachable
            fmt = self._format
            headers: dict = {}
            try:
                status, headers, raw = self._post(self._body(statements, fmt))
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
                    OSError, http.client.HTTPException) as err:
                status, raw, last = -1, b"", f"{type(err).__name__}: {getattr(err, 'reason', err)}"
                if _is_connect_error(err):
                    self._count_connect_failure(last)
            else:
                self._answered = True
            if status == 200:
                try:
                    data = json.loads(raw.decode("utf-8"))
                    return data["choices"][0]["message"]["content"] or ""
                except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError):
                    last = "malformed chat-completions response"
                    status = -1
            elif status in (400, 422) and fmt != "none":
                with self._lock:
                    if self._format == fmt:
                        self._format = _FORMATS[_FORMATS.index(fmt) + 1]
                        self.stats["format_downgrades"] += 1
                        logger.info("server rejected response_format=%s; using %s", fmt,
                                    self._format)
                continue
            elif status not in _RETRY_STATUS and status != -1:
                raise RuntimeError(f"OpenAIBackend: HTTP {status} from {self.base_url}")
            else:
                last = f"HTTP {status}" if status != -1 else last
            if attempt >= self.max_retries:
                raise RuntimeError(f"OpenAIBackend: giving up after {attempt + 1} attempts "
                                   f"({last})")
            self._wait(attempt, headers)
            attempt += 1

    def propose(self, statements: Sequence[str]) -> Proposal:
        try:
            text = self.complete(statements)
        except RuntimeError as err:
            with self._lock:
                self.stats["failures"] += 1
            logger.warning("%s", err)
            return Proposal((), error=str(err))
        return parse_output(text)

    def propose_many(self, statement_sets: Sequence[Sequence[str]]) -> list[Proposal]:
        if len(statement_sets) <= 1 or self.concurrency == 1:
            return [self.propose(s) for s in statement_sets]
        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            return list(pool.map(self.propose, statement_sets))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)   # BackendUnreachable: stop the rest
