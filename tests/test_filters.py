"""fgclep.signal filtering: parity of the C++ core with scipy, shapes/dtypes, threads, bad input."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import scipy.signal as sps
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, special

import fgclep
from fgclep import _core
from fgclep.signal import bandpass, ecg_clean, notch, remove_baseline, resample
from fgclep.signal.filters import baseline_windows

RATES = (100, 250, 360, 500, 1000)
BANDS = ((0.5, 40.0), (0.05, None), (None, 40.0), (5.0, 15.0), (1.0, None))
TOL = {np.float32: 1e-5, np.float64: 1e-10}  # max |difference| / peak |signal|


def _scipy_sos(order, low, high, fs):
    if low is None:
        return sps.butter(order, high, btype="lowpass", fs=fs, output="sos")
    if high is None:
        return sps.butter(order, low, btype="highpass", fs=fs, output="sos")
    return sps.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")


def _walk(rng, shape, dtype=np.float64):
    """A random walk plus noise: broadband, with drift that exercises the edge padding."""
    x = np.cumsum(rng.standard_normal(shape), axis=-1) + 3.0 * rng.standard_normal(shape)
    return x.astype(dtype)


def _rel_err(got, ref, x):
    return float(np.max(np.abs(np.asarray(got, np.float64) - np.asarray(ref, np.float64))) / np.max(np.abs(x)))


@pytest.fixture(params=["simd", "generic"])
def kernel(request):
    """Run a test with the vector kernel (when the CPU has one) and with the generic kernel."""
    _core.set_filter_simd(request.param == "simd")
    yield request.param
    _core.set_filter_simd(True)


# ---- design ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("low,high", BANDS)
def test_butter_sos_matches_scipy(fs, low, high):
    for order in range(1, 11):
        ref = _scipy_sos(order, low, high, fs)
        got = _core.butter_sos(order, low, high, float(fs))
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15 * np.abs(ref).max())
        np.testing.assert_allclose(_core.sosfilt_zi(got), sps.sosfilt_zi(ref), rtol=1e-12, atol=1e-14)
        n_sec = len(ref)
        expected_pad = 3 * (2 * n_sec + 1 - min((ref[:, 2] == 0).sum(), (ref[:, 5] == 0).sum()))
        assert _core.sosfiltfilt_padlen(got) == expected_pad


@pytest.mark.parametrize("freq,q,fs", [(50.0, 30.0, 500.0), (60.0, 30.0, 360.0), (50.0, 10.0, 250.0), (60.0, 35.0, 1000.0)])
def test_iirnotch_matches_scipy(freq, q, fs):
    b, a = sps.iirnotch(freq, q, fs=fs)
    np.testing.assert_allclose(_core.iirnotch_sos(freq, q, fs)[0], np.r_[b, a], rtol=1e-15, atol=1e-16)


def test_kaiser_fir_design_matches_scipy():
    for v in np.linspace(0.0, 20.0, 41):
        assert _core.bessel_i0(float(v)) == pytest.approx(float(special.i0(v)), rel=1e-14)
    for numtaps, cutoff in [(41, 0.5), (101, 0.2), (501, 1 / 25), (1, 0.3)]:
        ref = sps.firwin(numtaps, cutoff, window=("kaiser", 5.0))
        np.testing.assert_allclose(_core.firwin_kaiser(numtaps, cutoff, 5.0), ref, rtol=1e-12, atol=1e-15)


# ---- zero-phase filtering parity ------------------------------------------------------------


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bandpass_matches_sosfiltfilt(fs, dtype, kernel, rng):
    x = _walk(rng, (3, 2 * fs + 7), dtype)  # odd length, 3 rows (a partial block of lanes)
    for low, high in BANDS:
        for order in range(1, 9):
            ref = sps.sosfiltfilt(_scipy_sos(order, low, high, fs), x, axis=-1)
            got = bandpass(x, fs, low, high, order)
            assert got.dtype == dtype and got.shape == x.shape
            assert _rel_err(got, ref, x) <= TOL[dtype], (low, high, order)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backends_agree_and_shapes_round_trip(dtype, rng):
    x3 = _walk(rng, (2, 3, 1001), dtype)
    ref = bandpass(x3, 500, backend="scipy")
    assert ref.dtype == dtype
    for index in ((), (0,), (0, 1)):
        x = x3[index]
        got = bandpass(x, 500)
        assert got.shape == x.shape and got.dtype == dtype
        assert _rel_err(got, ref[index], x) <= TOL[dtype]


def test_non_contiguous_input_equals_contiguous(rng):
    base = _walk(rng, (1500, 12), np.float32)
    view = base.T  # (12, 1500), Fortran-ordered view
    np.testing.assert_array_equal(bandpass(view, 500), bandpass(np.ascontiguousarray(view), 500))
    np.testing.assert_array_equal(bandpass(view.astype(">f4"), 500), bandpass(view, 500))  # big-endian
    strided = _walk(rng, (4, 3000), np.float64)[:, ::2]
    np.testing.assert_array_equal(notch(strided, 250), notch(strided.copy(), 250))
    np.testing.assert_array_equal(remove_baseline(view, 500), remove_baseline(view.copy(), 500))
    np.testing.assert_array_equal(resample(strided, 250, 500), resample(strided.copy(), 250, 500))


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 9),
    n=st.integers(200, 900),
    order=st.integers(1, 8),
    low_frac=st.floats(0.002, 0.2),
    width=st.floats(0.05, 0.7),
    kind=st.sampled_from(["band", "low", "high"]),
    f64=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_bandpass_parity_property(rows, n, order, low_frac, width, kind, f64, seed):
    fs = 500.0
    low = low_frac * fs / 2
    high = min(low + width * fs / 2, 0.95 * fs / 2)
    low, high = (None, high) if kind == "low" else (low, None) if kind == "high" else (low, high)
    sos = _scipy_sos(order, low, high, fs)
    if n <= _core.sosfiltfilt_padlen(sos):
        return
    dtype = np.float64 if f64 else np.float32
    x = _walk(np.random.default_rng(seed), (rows, n), dtype)
    err = _rel_err(bandpass(x, fs, low, high, order), sps.sosfiltfilt(sos, x, axis=-1), x)
    assert err <= TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_notch_matches_filtfilt(dtype, kernel, rng):
    for fs, freq in [(500, 50.0), (360, 60.0), (250, 50.0), (1000, 60.0)]:
        t = np.arange(4 * fs + 3) / fs
        x = (_walk(rng, (2, t.size)) + 2 * np.sin(2 * np.pi * freq * t)).astype(dtype)
        b, a = sps.iirnotch(freq, 30.0, fs=fs)
        got = notch(x, fs, freq)
        assert got.dtype == dtype
        assert _rel_err(got, sps.filtfilt(b, a, x, axis=-1), x) <= TOL[dtype]
        assert _rel_err(notch(x, fs, freq, backend="scipy"), got, x) <= TOL[dtype]


# ---- baseline and resampling -----------------------------------------------------------------


def test_baseline_windows_are_odd_rounded():
    assert baseline_windows(500) == (101, 301)
    assert baseline_windows(360) == (73, 217)
    assert baseline_windows(250) == (51, 151)
    assert baseline_windows(1000) == (201, 601)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_baseline_equals_ndimage(dtype, rng):
    for fs in (100, 250, 360, 500):
        w1, w2 = baseline_windows(fs)
        x = _walk(rng, (2, 3 * fs + 1), dtype)
        x[0, 10:60] = 1.5  # ties
        ref = x - ndimage.median_filter(ndimage.median_filter(x, size=(1, w1), mode="reflect"), size=(1, w2), mode="reflect")
        got = remove_baseline(x, fs)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(remove_baseline(x, fs, backend="scipy"), ref)


def test_median_baseline_many_ties_and_short_rows(rng):
    for n in (61, 62, 75, 130):
        x = rng.integers(-3, 4, size=(3, n)).astype(np.float32)
        np.testing.assert_array_equal(remove_baseline(x, 100), remove_baseline(x, 100, backend="scipy"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_highpass_baseline_matches_scipy(dtype, rng):
    x = _walk(rng, (2, 2000), dtype)
    ref = sps.sosfiltfilt(sps.butter(4, 0.5, btype="highpass", fs=500, output="sos"), x, axis=-1)
    assert _rel_err(remove_baseline(x, 500, method="highpass"), ref, x) <= TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("src,dst,n", [(100, 500, 1000), (250, 500, 2500), (360, 500, 3600), (1000, 500, 10000), (257, 500, 2570), (360, 500, 257), (1000, 500, 257), (500, 100, 5001), (500, 500, 777)])
def test_resample_matches_resample_poly(dtype, src, dst, n, rng):
    x = _walk(rng, (2, n), dtype)
    g = np.gcd(src, dst)
    ref = sps.resample_poly(x.astype(np.float64), dst // g, src // g, axis=-1)
    got = resample(x, src, dst)
    assert got.shape == ref.shape == (2, -(-n * (dst // g) // (src // g)))
    assert got.dtype == dtype
    assert _rel_err(got, ref, x) <= TOL[dtype]
    assert _rel_err(resample(x, src, dst, backend="scipy"), ref, x) <= TOL[dtype]


# ---- ecg_clean ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fgclep", "bandpass"])
@pytest.mark.parametrize("powerline", [None, 50.0])
def test_ecg_clean_backends_agree(method, powerline, rng):
    x = _walk(rng, (2, 12, 2500), np.float32)
    got = ecg_clean(x, 500, method=method, powerline=powerline)
    ref = ecg_clean(x, 500, method=method, powerline=powerline, backend="scipy")
    assert got.shape == x.shape and got.dtype == np.float32
    assert _rel_err(got, ref, x) <= 1e-5
    # Composition: the same steps one by one.
    steps = remove_baseline(x, 500) if method == "fgclep" else x
    steps = bandpass(steps, 500, 0.5, 40.0, 4)
    if powerline is not None:
        steps = notch(steps, 500, powerline, 30.0)
    np.testing.assert_array_equal(got, steps)


def test_ecg_clean_interpolates_nan_runs(rng):
    x = _walk(rng, (3, 2000), np.float64)
    bad = x.copy()
    bad[0, 100:140] = np.nan
    bad[1, :5] = np.inf
    filled = bad.copy()
    idx = np.arange(2000)
    filled[0, 100:140] = np.interp(idx[100:140], idx[np.isfinite(bad[0])], bad[0, np.isfinite(bad[0])])
    filled[1, :5] = bad[1, 5]
    np.testing.assert_array_equal(ecg_clean(bad, 500, nan_policy="interpolate"), ecg_clean(filled, 500))
    bad[2] = np.nan
    with pytest.warns(RuntimeWarning, match="entirely NaN"):
        out = ecg_clean(bad, 500, nan_policy="interpolate")
    np.testing.assert_array_equal(out[2], 0.0)


# ---- threads and the GIL --------------------------------------------------------------------


def test_threads_give_identical_results(rng):
    x = _walk(rng, (24, 12, 5000), np.float32)
    before = fgclep.get_num_threads()
    try:
        fgclep.set_num_threads(1)
        one = [bandpass(x, 500), remove_baseline(x, 500), resample(x, 500, 360)]
        fgclep.set_num_threads(2)
        two = [bandpass(x, 500), remove_baseline(x, 500), resample(x, 500, 360)]
    finally:
        fgclep.set_num_threads(before)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_gil_is_released_during_filtering(rng):
    """A Python thread keeps running while one long C++ call filters a batch."""
    x = _walk(rng, (300, 5000), np.float32)
    stamps: list[float] = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0.001)

    before = fgclep.get_num_threads()
    fgclep.set_num_threads(1)
    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        time.sleep(0.02)
        duration = 0.0
        for _ in range(20):  # one call lasting >= 0.3 s
            t0 = time.perf_counter()
            ecg_clean(x, 500)
            duration = time.perf_counter() - t0
            if duration >= 0.3:
                break
            x = np.concatenate([x, x])
        t1 = t0 + duration
    finally:
        stop.set()
        thread.join()
        fgclep.set_num_threads(before)
    inside = [t for t in stamps if t0 <= t <= t1]
    gaps = np.diff([t0, *inside, t1])
    # With the GIL held the ticker would stall for the whole call.
    assert len(inside) >= 10 and gaps.max() < 0.5 * duration


# ---- bad input ------------------------------------------------------------------------------


def test_bad_inputs_raise_with_names(rng):
    x = _walk(rng, (2, 1000), np.float32)
    nan_x = x.copy()
    nan_x[1, 10] = np.nan
    inf_x = x.copy()
    inf_x[0, -1] = np.inf
    for backend in ("cpp", "scipy"):
        with pytest.raises(ValueError, match=r"bandpass: signal contains NaN or infinite values \(first at index \(1,\)\)"):
            bandpass(nan_x, 500, backend=backend)
        with pytest.raises(ValueError, match=r"remove_baseline: signal contains NaN"):
            remove_baseline(inf_x, 500, backend=backend)
        with pytest.raises(ValueError, match=r"resample: signal contains NaN"):
            resample(nan_x, 500, 250, backend=backend)
        with pytest.raises(ValueError, match=r"notch: signal contains NaN"):
            notch(inf_x, 500, backend=backend)
    with pytest.raises(ValueError, match="ecg_clean: signal contains NaN"):
        ecg_clean(nan_x, 500)
    with pytest.raises(TypeError, match="bandpass: signal must be float32 or float64, got dtype int16"):
        bandpass(x.astype(np.int16), 500)
    with pytest.raises(ValueError, match=r"bandpass: signal must have shape .* got ndim=0"):
        bandpass(np.float32(1.0), 500)
    with pytest.raises(ValueError, match="got ndim=4"):
        ecg_clean(x[None, None], 500)
    for fs in (0, -5.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="bandpass: sampling_rate must be a finite number > 0"):
            bandpass(x, fs)
    with pytest.raises(TypeError, match="sampling_rate must be a number"):
        bandpass(x, "500")
    for kwargs, pattern in [
        (dict(low=0.0), r"bandpass: low must be in \(0, Nyquist=250\) Hz, got 0.0"),
        (dict(high=250.0), r"bandpass: high must be in \(0, Nyquist=250\) Hz, got 250.0"),
        (dict(low=-1.0, high=None), "bandpass: low must be in"),
        (dict(low=40.0, high=20.0), "bandpass: low must be < high"),
        (dict(low=None, high=None), "bandpass: low and high cannot both be None"),
        (dict(order=0), r"bandpass: order must be in \[1, 10\], got 0"),
        (dict(order=11), r"bandpass: order must be in \[1, 10\], got 11"),
        (dict(backend="numba"), r"bandpass: backend must be one of \('cpp', 'scipy'\), got 'numba'"),
    ]:
        with pytest.raises(ValueError, match=pattern):
            bandpass(x, 500, **kwargs)
    with pytest.raises(TypeError, match="bandpass: order must be an int"):
        bandpass(x, 500, order=4.0)
    with pytest.raises(ValueError, match=r"bandpass: signal needs at least 28 samples .* got 27"):
        bandpass(x[:, :27], 500)  # order 4 band-pass: 4 sections, padding 27
    bandpass(x[:, :28], 500)
    with pytest.raises(ValueError, match=r"remove_baseline: signal needs at least 301 samples"):
        remove_baseline(x[:, :300], 500)
    with pytest.raises(ValueError, match="remove_baseline: method must be one of"):
        remove_baseline(x, 500, method="wavelet")
    with pytest.raises(ValueError, match="notch: freq must be in"):
        notch(x, 100, freq=50.0)
    with pytest.raises(ValueError, match="notch: quality must be a number > 0"):
        notch(x, 500, quality=0)
    with pytest.raises(ValueError, match="resample: target_rate must be a finite number > 0"):
        resample(x, 500, 0)
    with pytest.raises(ValueError, match="is not a ratio of integers"):
        resample(x, 500, 500 * np.sqrt(2))
    with pytest.raises(ValueError, match="ecg_clean: method must be one of"):
        ecg_clean(x, 500, method="neurokit")
    with pytest.raises(ValueError, match="ecg_clean: nan_policy must be one of"):
        ecg_clean(x, 500, nan_policy="omit")
    with pytest.raises(ValueError, match="ecg_clean: sampling_rate must be > 80 Hz"):
        ecg_clean(x, 50)
    with pytest.raises(ValueError, match="ecg_clean: powerline must be in"):
        ecg_clean(x, 500, powerline=300.0)


# ---- real data ------------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_record_parity(shared_data):
    wfdb = pytest.importorskip("wfdb")
    path = shared_data / "wfdb-samples" / "100"
    if not path.with_suffix(".hea").exists():
        pytest.skip(f"{path}.hea is absent")
    record = wfdb.rdrecord(str(path), sampto=3600)  # MIT-BIH 100: 2 leads, 360 Hz, 10 s
    x = record.p_signal.T.astype(np.float32)
    fs = record.fs
    ref = sps.sosfiltfilt(_scipy_sos(4, 0.5, 40.0, fs), x, axis=-1)
    assert _rel_err(bandpass(x, fs), ref, x) <= 1e-5
    r500 = resample(x, fs, 500)
    assert r500.shape == (2, 5000)
    assert _rel_err(r500, sps.resample_poly(x.astype(np.float64), 25, 18, axis=-1), x) <= 1e-5
    assert _rel_err(ecg_clean(r500, 500, powerline=60.0), ecg_clean(r500, 500, powerline=60.0, backend="scipy"), r500) <= 1e-5
