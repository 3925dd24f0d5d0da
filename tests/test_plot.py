"""fgclep.plot.ecg_grid: PNG output at paper scale, layouts, fiducials, overlay, bad input."""
from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest

from fgclep.data import synthetic
from fgclep.leads import LEADS_12
from fgclep.plot import ecg_grid


@pytest.fixture(scope="module")
def corpus():
    return synthetic.generate(1, seed=0, abnormalities=["st_elevation"])


def _png_size_mm(path, dpi):
    img = mpimg.imread(path)
    return img.shape[1] / dpi * 25.4, img.shape[0] / dpi * 25.4, img


def test_writes_png_at_paper_scale(tmp_path, corpus):
    path = tmp_path / "sub" / "ecg.png"
    fig = ecg_grid(corpus.signals[0], 500, fiducials=corpus.fiducials[0], path=path,
                   title="SYNTHETIC", overlay=corpus.signals[0] * 0.5, dpi=80)
    assert path.stat().st_size > 10_000
    width_mm, height_mm, img = _png_size_mm(path, 80)
    # 10 s at 25 mm/s plus 20 mm of margins; 4 rows (3 x 4 grid + rhythm strip).
    assert abs(width_mm - 270.0) < 0.5
    assert abs(height_mm - (4 * 35 + 17)) < 0.5
    assert fig.get_size_inches()[0] * 25.4 == pytest.approx(270.0)
    # Pink paper with dark trace pixels: not a blank image.
    rgb = img[..., :3]
    assert (rgb.mean(axis=2) < 0.2).mean() > 0.005          # black trace
    assert ((rgb[..., 0] > 0.85) & (rgb[..., 1] < 0.8)).mean() > 0.01   # pink grid lines


def test_other_layout_one_row_per_lead(tmp_path):
    x = np.sin(np.linspace(0, 20, 1000))[None, :].repeat(3, axis=0)
    path = tmp_path / "three.png"
    ecg_grid(x, 250, lead_names=("A", "B", "C"), path=path, dpi=50)
    width_mm, height_mm, _ = _png_size_mm(path, 50)
    assert abs(width_mm - (4 * 25 + 20)) < 1.0        # 4 s record
    assert abs(height_mm - (3 * 35 + 17)) < 1.0


def test_returns_figure_without_path(corpus):
    fig = ecg_grid(corpus.signals[0], 500)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) > 12


def test_standard_leads_in_another_order(tmp_path, corpus):
    order = list(reversed(LEADS_12))
    fig = ecg_grid(corpus.signals[0][::-1], 500, lead_names=order)
    assert [t.get_text() for t in fig.axes[0].texts][:3] == ["I", "II", "III"]


@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((np.zeros((12,)), 500), {}, ValueError, "2-D"),
    ((np.zeros((11, 500)), 500), {}, ValueError, "lead_names has 12 names but signal has 11"),
    ((np.zeros((12, 500)), 0), {}, ValueError, "sampling_rate"),
    ((np.zeros((12, 500)), 500), {"overlay": np.zeros((12, 400))}, ValueError, "overlay shape"),
    ((np.full((12, 500), np.nan), 500), {}, ValueError, "NaN"),
    ((np.zeros((12, 500)), 500), {"fiducials": {"q_peak": np.zeros((12, 2), int)}},
     ValueError, "unknown fiducial"),
    ((np.zeros((12, 500)), 500), {"fiducials": {"r_peak": np.zeros((3, 2), int)}},
     ValueError, "r_peak"),
    ((np.zeros((12, 500)), 500), {"fiducials": [1, 2]}, TypeError, "dict"),
    ((np.zeros((12, 500), dtype=bool), 500), {}, TypeError, "numeric"),
])
def test_rejects_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ecg_grid(*args, **kwargs)
