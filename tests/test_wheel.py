"""The wheel builds from the source tree, holds the compiled core and imports from elsewhere."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_builds_installs_and_imports(tmp_path):
    dist = tmp_path / "dist"
    # A fresh build directory keeps this independent of the editable build in build/.
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist),
         "-C", f"build-dir={tmp_path / 'build'}", str(REPO_ROOT)],
        capture_output=True, text=True, timeout=900,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    wheels = list(dist.glob("fgclep-*.whl"))
    assert len(wheels) == 1, wheels
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert any(n.startswith("fgclep/_core") and n.endswith(".so") for n in names), names
    assert "fgclep/cli/main.py" in names
    assert "fgclep/signal/filters.py" in names

    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(wheels[0])],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    # -S skips site-packages' .pth files, so the editable install cannot redirect the import;
    # numpy comes from the venv's site-packages, placed after the wheel's target.
    code = (
        "import numpy as np, fgclep, fgclep._core as core; "
        "from fgclep.signal import bandpass; "
        "y = bandpass(np.ones((2, 600), np.float32), 500.0); "
        "print(fgclep.__file__); print(core.__file__); print(y.dtype, y.shape)"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]]))
    run = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[0].startswith(str(target)) and lines[1].startswith(str(target)), lines
    assert lines[2] == "float32 (2, 600)"
