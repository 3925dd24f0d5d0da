"""The C++ core compiles without warnings under the project's own warning flags.

pip hides the compiler's output during ``make build``, so a new -Wconversion or -Wshadow warning
would otherwise go unseen. The flags are read from CMakeLists.txt so the two cannot drift apart.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_SOURCES = sorted(p for p in (ROOT / "csrc").glob("*.cpp") if p.name != "bindings.cpp")


def _core_warning_flags() -> list[str]:
    text = (ROOT / "CMakeLists.txt").read_text()
    m = re.search(r"target_compile_options\(fgclep_core PRIVATE (-W[^)]*)\)", text)
    if m is None:
        raise AssertionError("CMakeLists.txt no longer sets fgclep_core's warning flags")
    return m.group(1).split()


@pytest.mark.skipif(shutil.which("c++") is None, reason="no C++ compiler on PATH")
@pytest.mark.parametrize("source", CORE_SOURCES, ids=lambda p: p.name)
def test_core_source_compiles_without_warnings(source):
    flags = _core_warning_flags()
    assert "-Wconversion" in flags  # the flag set this test exists to enforce
    cmd = ["c++", "-std=c++17", "-fsyntax-only", "-Werror", *flags, f"-I{ROOT / 'csrc'}", str(source)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
