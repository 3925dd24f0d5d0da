"""One synthetic record: sample true parameters, build the beat, lay out beats, add noise.

Internal to :mod:`fgclep.data.synthetic`. All durations are chosen in milliseconds, turned into
whole samples, and the *realised* values (from the sample counts and the laid-out beats) are
what the record's ``params`` report and what the range checks use; a draw that misses a range or
would make consecutive beats overlap is rejected and redrawn.
"""
from __future__ import annotations

import numpy as np

from fgclep.data import _synthetic_waves as W

# Ranges the realised parameters must fall in (DESIGN.md section 7 and the issue).
HR_RANGE = {"normal": (60.0, 100.0), "sinus_bradycardia": (40.0, 55.0),
            "sinus_tachycardia": (105.0, 150.0)}
PR_RANGE = {"normal": (120.0, 200.0), "av_block_1": (220.0, 320.0)}
QRS_RANGE = {"normal": (80.0, 110.0), "bundle_branch_block": (125.0, 160.0)}
QTC_RANGE = {"normal": (380.0, 440.0), "long_qt": (480.0, 560.0)}
AXIS_RANGE = {"normal": (-30.0, 90.0), "left_axis_deviation": (-75.0, -45.0),
              "right_axis_deviation": (100.0, 150.0)}
SOKOLOW_RANGE = {"normal": (1.5, 3.3), "lvh": (3.6, 5.0)}
ST_ELEVATION_RANGE = (0.15, 0.4)
ST_DEPRESSION_RANGE = (0.1, 0.3)
T_INVERSION_DEPTH = (0.1, 0.4)
AF_MIN_RR_CV = 0.10


def _key(labels: set, table: dict) -> str:
    hits = [name for name in table if name in labels]
    return hits[0] if hits else "normal"


def _inside(value: float, bounds: tuple) -> bool:
    return bounds[0] <= value <= bounds[1]


def _u(rng: np.random.Generator, bounds: tuple, margin: float) -> float:
    """Uniform draw from ``bounds`` shrunk by ``margin`` at each end."""
    return float(rng.uniform(bounds[0] + margin, bounds[1] - margin))


def _axis(vec: np.ndarray) -> float:
    """Frontal axis (degrees) of a dipole or area vector from its leads I and aVF."""
    proj = W.LEAD_MATRIX @ vec
    return float(np.degrees(np.arctan2(proj[5], proj[0])))


def _beat_times(rng, rr0_ms: float, af: bool, n_ms: float, lead_in_ms: float):
    """QRS-onset times (ms) from before 0 to past the end, and the RR draw's spread."""
    n_beats = int((n_ms + lead_in_ms) / (0.5 * rr0_ms)) + 4
    if af:
        sigma = rng.uniform(0.12, 0.22)
        rr = rr0_ms * np.clip(np.exp(rng.normal(0.0, sigma, n_beats)), 0.55, 1.6)
    else:
        amp, period = rng.uniform(0.005, 0.02), rng.uniform(3000.0, 5000.0)
        phase = rng.uniform(0, 2 * np.pi)
        jitter = np.clip(rng.normal(0.0, 0.004, n_beats), -0.01, 0.01)
        t_nominal = np.arange(n_beats) * rr0_ms
        rr = rr0_ms * (1 + amp * np.sin(2 * np.pi * t_nominal / period + phase) + jitter)
    t0 = -lead_in_ms - rng.uniform(0.0, rr0_ms)
    times = t0 + np.concatenate([[0.0], np.cumsum(rr)])
    return times[times < n_ms + rr0_ms]


def _qrs_lobes(rng, labels: set, d: int, axis_deg: float) -> list:
    """QRS lobes (unit scale) relative to QRS onset 0, R vector solved for the net-area axis."""
    def t(frac):
        return int(round(frac * d))
    if "bundle_branch_block" in labels:
        # Left-bundle pattern: no septal q, broad notched R (two lobes, one direction).
        z = rng.uniform(0.8, 1.3)
        lobes = [W.Lobe("qrs", 0, t(0.3), t(0.6), np.zeros(3), 1.2),
                 W.Lobe("qrs", t(0.3), t(0.7), d, np.zeros(3), 1.2)]
        weights = np.array([1.0, rng.uniform(0.8, 1.05)])
        fixed = []
    else:
        # Rightward axes come with right-ventricular (anterior) forces: R in V1 allowed.
        z = rng.uniform(-0.6, 0.3) if "right_axis_deviation" in labels else rng.uniform(0.4, 0.9)
        q_vec = np.array([-0.5, 0.2, -0.85]) * rng.uniform(0.1, 0.2)
        s_vec = np.array([-0.5, -0.4, 0.75]) * rng.uniform(0.15, 0.35)
        lobes = [W.Lobe("qrs", 0, t(0.22), t(0.42), q_vec, 1.5),
                 W.Lobe("qrs", t(0.12), t(0.48), t(0.82), np.zeros(3), 1.5),
                 W.Lobe("qrs", t(0.55), t(0.8), d, s_vec, 1.5)]
        weights = np.array([1.0])
        fixed = [0, 2]
    r_idx = [k for k in range(len(lobes)) if k not in fixed]
    shapes = W.lobe_shapes(lobes, d + 1)
    sums = shapes.sum(axis=1)
    fixed_area = sum((sums[k] * lobes[k].vector for k in fixed), np.zeros(3))
    r_area = float(sum(w * sums[k] for w, k in zip(weights, r_idx)))
    # Solve leads I and aVF of the total area for the R vector's X and Y (Z chosen above).
    theta = np.radians(axis_deg)
    target = r_area * np.array([np.cos(theta), np.sin(theta)])
    rows = W.LEAD_MATRIX[[0, 5]]
    rhs = target - rows @ fixed_area - rows[:, 2] * z * r_area
    xy = np.linalg.solve(rows[:, :2] * r_area, rhs)
    r_vec = np.array([xy[0], xy[1], z])
    for w, k in zip(weights, r_idx):
        lobes[k].vector = w * r_vec
    return lobes


def _sample_amplitudes(rng, labels: set, qrs: list, d: int):
    """Scale the QRS lobes for LVH / low voltage / normal voltage; returns the scale or None."""
    lead_qrs = W.qrs_lead_signal(qrs, d + 1)
    sl = -lead_qrs[6].min() + max(lead_qrs[10].max(), lead_qrs[11].max())
    pp = lead_qrs.max(axis=1) - lead_qrs.min(axis=1)
    limb, prec = pp[W.LIMB].max(), pp[W.PRECORDIAL].max()
    if "low_voltage" in labels:
        scale = rng.uniform(0.6, 0.95) * min(0.42 / limb, 0.85 / prec)
    elif "lvh" in labels:
        scale = _u(rng, SOKOLOW_RANGE["lvh"], 0.1) / sl
        if scale * limb > 3.0:
            return None
    else:
        # Largest complex 1.3-2.6 mV peak to peak, Sokolow-Lyon kept below the LVH range.
        scale = min(rng.uniform(1.3, 2.6) / pp.max(), _u(rng, SOKOLOW_RANGE["normal"], 0.1) / sl)
        if scale * limb < 0.6 or scale * prec < 1.2 or scale * limb > 2.5:
            return None
    for lb in qrs:
        lb.vector = lb.vector * scale
    return scale


def _frontal_vector(angle_deg: float, z: float) -> np.ndarray:
    """Dipole whose leads I and aVF point at ``angle_deg`` (the ECG frontal axis), magnitude
    about 1 in that plane, with anterior-posterior component ``z``."""
    a = np.radians(angle_deg)
    rows = W.LEAD_MATRIX[[0, 5]]
    xy = np.linalg.solve(rows[:, :2], np.array([np.cos(a), np.sin(a)]) - rows[:, 2] * z)
    return np.array([xy[0], xy[1], z])


def _scale_to(vec: np.ndarray, leads: slice | tuple, target: float) -> np.ndarray:
    """Scale ``vec`` so that its largest absolute projection on ``leads`` equals ``target``."""
    idx = np.arange(12)[leads] if isinstance(leads, slice) else np.asarray(leads)
    return vec * (target / np.abs(W.LEAD_MATRIX @ vec)[idx].max())


def draw_record(rng: np.random.Generator, labels: set, fs: float, n: int):
    """One attempt at a record: (clean independent leads (8, n), template, listed QRS onsets,
    params), or None when the draw misses a range or beats would overlap."""
    af = "atrial_fibrillation" in labels
    ms = 1000.0 / fs
    hr_t = _u(rng, HR_RANGE[_key(labels, HR_RANGE)], 2.0 if af else 1.0)
    rr0 = 60000.0 / hr_t
    pr_s = 0 if af else int(round(_u(rng, PR_RANGE[_key(labels, PR_RANGE)], 4.0) / ms))
    if "sinus_tachycardia" in labels:
        pr_s = int(round(rng.uniform(122.0, 150.0) / ms))
    d = int(round(_u(rng, QRS_RANGE[_key(labels, QRS_RANGE)], 3.0) / ms))
    qtc_t = _u(rng, QTC_RANGE[_key(labels, QTC_RANGE)], 8.0)
    axis_t = _u(rng, AXIS_RANGE[_key(labels, AXIS_RANGE)], 4.0)
    p_dur = int(round(rng.uniform(80.0, 110.0) / ms)) if not af else 0
    if not af and p_dur > pr_s - int(round(20 / ms)):
        p_dur = pr_s - int(round(20 / ms))

    times = _beat_times(rng, rr0, af, n * ms, lead_in_ms=pr_s * ms)
    qrs_on = np.round(times / ms).astype(np.int64)
    qt_s = int(round(qtc_t * np.sqrt(rr0 / 1000.0) / ms))
    for _ in range(3):     # QT depends on the mean RR of the beats that fit in the record
        keep = (qrs_on - pr_s >= 0) & (qrs_on + qt_s <= n - 1)
        rr_ms = np.diff(qrs_on[keep]) * ms
        rr_mean = float(rr_ms.mean()) if rr_ms.size else float(np.diff(qrs_on).mean() * ms)
        qt_s = int(round(qtc_t * np.sqrt(rr_mean / 1000.0) / ms))
    keep = (qrs_on - pr_s >= 0) & (qrs_on + qt_s <= n - 1)
    if keep.sum() < 2:
        return None
    rr_ms = np.diff(qrs_on[keep]) * ms
    rr_mean = float(rr_ms.mean())
    gap_s = int(round((60.0 if af else 30.0) / ms))
    if np.diff(qrs_on).min() < pr_s + qt_s + gap_s:
        return None
    hr = 60000.0 / rr_mean
    qt = qt_s * ms
    qtc = qt / np.sqrt(rr_mean / 1000.0)
    cv = float(rr_ms.std() / rr_mean)
    if not (_inside(hr, HR_RANGE[_key(labels, HR_RANGE)])
            and _inside(qtc, QTC_RANGE[_key(labels, QTC_RANGE)])
            and (cv >= AF_MIN_RR_CV if af else cv < 0.05)):
        return None

    # Depolarisation.
    qrs = _qrs_lobes(rng, labels, d, axis_t)
    if _sample_amplitudes(rng, labels, qrs, d) is None:
        return None
    # Low voltage shrinks T (and AF f-waves) with the QRS; P waves, ischaemic ST shifts and
    # T inversions keep their specified size.
    lv = rng.uniform(0.25, 0.45) if "low_voltage" in labels else 1.0
    shapes = W.lobe_shapes(qrs, d + 1)
    qrs_area = sum(s.sum() * lb.vector for s, lb in zip(shapes, qrs))
    qrs_axis = _axis(qrs_area)
    lead_qrs = W.LEAD_MATRIX @ np.stack([lb.vector for lb in qrs]).T @ shapes
    r_amp, s_amp = lead_qrs.max(axis=1).clip(min=0), lead_qrs.min(axis=1).clip(max=0)
    if not _inside(qrs_axis, AXIS_RANGE[_key(labels, AXIS_RANGE)]):
        return None

    # Repolarisation: T lobe and ST component, relative to QRS onset 0.
    j = d
    t_on = j + int(round(rng.uniform(0.2, 0.32) * (qt_s - d)))
    t_off = qt_s
    t_peak = t_on + int(round(0.6 * (t_off - t_on)))
    params_terr = {"st_territory": None, "t_inversion_territory": None}
    if "bundle_branch_block" in labels:
        unit = qrs_area / np.linalg.norm(qrs_area)
        t_vec = _scale_to(-unit, slice(0, 12), rng.uniform(0.3, 0.6)) * lv
        st_vec = _scale_to(-unit, slice(0, 12), rng.uniform(0.1, 0.25)) * lv
    else:
        t_vec = _frontal_vector(rng.uniform(20.0, 65.0), -rng.uniform(0.3, 0.7))
        t_vec = _scale_to(t_vec, W.LIMB, rng.uniform(0.2, 0.4))
        if np.abs(W.LEAD_MATRIX @ t_vec)[W.PRECORDIAL].max() > 0.9:
            t_vec = _scale_to(t_vec, W.PRECORDIAL, 0.9)
        t_vec = t_vec * lv
        st_vec = np.zeros(3)
        if "st_elevation" in labels:
            terr = str(rng.choice(list(W.TERRITORY_LEADS)))
            st_vec = _scale_to(W.TERRITORY_VECTOR[terr], W.TERRITORY_LEADS[terr],
                               _u(rng, ST_ELEVATION_RANGE, 0.01))
            params_terr["st_territory"] = terr
        elif "st_depression" in labels:
            terr = str(rng.choice(["lateral", "inferior"]))
            st_vec = -_scale_to(W.TERRITORY_VECTOR[terr], W.TERRITORY_LEADS[terr],
                                _u(rng, ST_DEPRESSION_RANGE, 0.01))
            params_terr["st_territory"] = terr
        if "t_inversion" in labels:
            terr = str(rng.choice(list(W.TERRITORY_LEADS)))
            idx = list(W.TERRITORY_LEADS[terr])
            u = W.TERRITORY_VECTOR[terr]
            depth = _u(rng, T_INVERSION_DEPTH, 0.02)
            # At the T peak the ST plateau still adds: invert the sum by at least ``depth``.
            t0, pu = (W.LEAD_MATRIX @ (t_vec + st_vec))[idx], (W.LEAD_MATRIX @ u)[idx]
            t_vec = t_vec - float(np.max((t0 + depth) / pu)) * u
            if np.abs(W.LEAD_MATRIX @ t_vec).max() > 1.2:
                return None
            params_terr["t_inversion_territory"] = terr
    ramp = max(1, min(int(round(40.0 / ms)), (t_peak - j) // 2))
    lobes = [*qrs,
             W.Lobe("st", j, t_peak, t_off, st_vec, ramp=ramp),
             W.Lobe("t", t_on, t_peak, t_off, t_vec)]
    p_vec = None
    if not af:
        p_vec = _frontal_vector(rng.uniform(25.0, 65.0), rng.uniform(-0.3, 0.1))
        p_vec = _scale_to(p_vec, W.LIMB, rng.uniform(0.1, 0.2))
        p_on = -pr_s
        lobes.append(W.Lobe("p", p_on, p_on + int(round(rng.uniform(0.45, 0.55) * p_dur)),
                            p_on + p_dur, p_vec))
    for lb in lobes:       # shift to template axis (template starts at the P onset)
        lb.onset, lb.peak, lb.offset = lb.onset + pr_s, lb.peak + pr_s, lb.offset + pr_s
    tpl = W.build_template(lobes, pr_s + qt_s + 1, pr_s)

    clean = np.zeros((8, n))
    for q in qrs_on:
        b = q - pr_s
        lo, hi = max(0, b), min(n, b + tpl.signal.shape[1])
        if lo < hi:
            clean[:, lo:hi] += tpl.signal[:, lo - b:hi - b]
    f_amp = 0.0
    if af:
        f_amp = rng.uniform(0.03, 0.08) * lv
        f_vec = np.array([0.3, 0.5, -0.8])
        clean += np.outer(W.DOWER @ f_vec, W.fibrillatory_waves(rng, n, fs, f_amp))

    pp = r_amp - s_amp
    sokolow = float(-s_amp[6] + max(r_amp[10], r_amp[11]))
    params = {
        "rhythm": "atrial_fibrillation" if af else "sinus",
        "heart_rate": hr, "rr": rr_ms.tolist(), "rr_mean": rr_mean,
        "rr_std": float(rr_ms.std()), "rr_cv": cv,
        "pr_interval": float("nan") if af else pr_s * ms,
        "p_duration": float("nan") if af else p_dur * ms,
        "qrs_duration": d * ms, "qt_interval": qt, "qtc": qtc, "qtc_bazett": qtc,
        "qtc_fridericia": qt / np.cbrt(rr_mean / 1000.0),
        "qrs_axis": qrs_axis,
        "p_axis": float("nan") if af else _axis(p_vec),
        "t_axis": _axis(t_vec),
        "p_amp": np.zeros(12) if af else W.LEAD_MATRIX @ p_vec,
        "r_amp": r_amp, "s_amp": s_amp, "qrs_pp": pp,
        "t_amp": W.LEAD_MATRIX @ t_vec, "st_shift": W.LEAD_MATRIX @ st_vec,
        "sokolow_lyon": sokolow, "cornell_voltage": float(r_amp[4] - s_amp[8]),
        "low_voltage": bool(pp[W.LIMB].max() < 0.5 and pp[W.PRECORDIAL].max() < 1.0),
        "f_wave_amp": f_amp, **params_terr,
    }
    if ("lvh" in labels) != (sokolow > 3.5) or ("low_voltage" in labels) != params["low_voltage"]:
        return None
    return clean, tpl, qrs_on[keep], params


def add_noise(rng: np.random.Generator, clean: np.ndarray, fs: float) -> tuple[np.ndarray, dict]:
    """Gaussian, optional powerline and muscle noise plus baseline wander on the 8 leads."""
    n_leads, n = clean.shape
    info = {"gaussian_sd": float(rng.uniform(0.008, 0.02)),
            "wander_amp": float(rng.uniform(0.05, 0.3)),
            "powerline_hz": None, "powerline_amp": 0.0, "muscle_amp": 0.0}
    out = clean.astype(np.float32)
    out += info["gaussian_sd"] * rng.standard_normal((n_leads, n), dtype=np.float32)
    out += W.baseline_wander(rng, n, fs, n_leads, info["wander_amp"])
    if rng.random() < 0.3:
        info["powerline_hz"] = float(rng.choice([50.0, 60.0]))
        info["powerline_amp"] = float(rng.uniform(0.005, 0.03))
        t = np.arange(n) / fs
        gains = rng.uniform(0.5, 1.0, size=(n_leads, 1))
        out += info["powerline_amp"] * gains * np.sin(2 * np.pi * info["powerline_hz"] * t
                                                      + rng.uniform(0, 6.3))
    if rng.random() < 0.3:
        info["muscle_amp"] = float(rng.uniform(0.005, 0.03))
        out += W.muscle_noise(rng, n, fs, n_leads, info["muscle_amp"])
    return out, info
