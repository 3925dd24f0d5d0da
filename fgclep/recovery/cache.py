"""On-disk (sqlite) cache of proposals keyed by backend identity and normalised statement set.

MIMIC-IV-ECG reports are heavily templated: 800k reports hold tens of thousands of distinct
statement sets, so each set costs one backend call. Every proposal is committed as soon as it is
made, so a run that is interrupted (killed, timed out) resumes without repeating calls. Proposals
that carry an ``error`` (a failed HTTP call) are not stored, so a later run retries them.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

from fgclep.recovery.backends.base import Proposal

_SCHEMA = """CREATE TABLE IF NOT EXISTS proposals (
    namespace TEXT NOT NULL, key TEXT NOT NULL, statements TEXT NOT NULL,
    proposal TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (namespace, key))"""


class ProposalCache:
    """sqlite-backed map (namespace, statement-set key) -> :class:`Proposal`.

    Parameters
    ----------
    path : str or Path
        Database file (created with its parent folder when missing).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as err:
            raise ValueError(f"ProposalCache: {self.path} is not a usable sqlite database "
                             f"({err})") from err
        self._lock = threading.Lock()

    def get(self, namespace: str, key: str) -> Optional[Proposal]:
        """The cached proposal or None."""
        return self.get_many(namespace, [key]).get(key)

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, Proposal]:
        """Cached proposals for the keys that are present."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, Proposal] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, proposal FROM proposals WHERE namespace=? AND key IN ({marks})",
                    [namespace, *chunk]).fetchall()
                for key, blob in rows:
                    out[key] = Proposal.from_json(json.loads(blob))
        return out

    def put(self, namespace: str, key: str, statements: Sequence[str], proposal: Proposal) -> bool:
        """Store and commit one proposal; returns False (nothing stored) when it has an error."""
        if proposal.error:
            return False
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO proposals VALUES (?, ?, ?, ?, ?)",
                             (namespace, key, json.dumps(list(statements)),
                              json.dumps(proposal.to_json()), time.time()))
            self._db.commit()
        return True

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM proposals").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> "ProposalCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
