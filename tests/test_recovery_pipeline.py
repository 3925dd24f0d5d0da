"""Validation, rendering, the proposal cache and the recover-features pipeline end to end."""
from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fgclep.recovery.backends.base import Proposal
from fgclep.recovery.cache import ProposalCache
from fgclep.recovery.pipeline import RecoveryConfig, recover_features
from fgclep.recovery.render import render_enhanced
from fgclep.recovery.validate import evaluate_feature, machine_row, validate_features

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- validation
def test_machine_row_mapping_and_missing_sentinel():
    row = machine_row({"rr_interval": "659", "p_onset": "40", "p_end": "128", "qrs_onset": "170",
                       "qrs_end": "258", "t_end": "518", "p_axis": "81", "qrs_axis": "77",
                       "t_axis": "79"})        # the real MIMIC row in ../shared/data
    assert row["heart_rate"] == pytest.approx(60000 / 659)
    assert row["pr_interval"] == 130 and row["qrs_duration"] == 88 and row["qt_interval"] == 348
    assert row["qtc_bazett"] == pytest.approx(348 / math.sqrt(0.659))
    assert row["p_duration"] == 88 and row["qrs_axis"] == 77
    gone = machine_row({"rr_interval": 29999, "p_onset": 29999, "qrs_onset": 170,
                        "qrs_end": "", "t_end": 29999, "qrs_axis": 29999})
    assert all(math.isnan(gone[k]) for k in ("heart_rate", "pr_interval", "qrs_duration",
                                             "qt_interval", "qtc_bazett", "qrs_axis"))


def test_validation_modes():
    ours = {"heart_rate": 50.0, "pr_interval": 230.0, "qrs_duration": 90.0}
    theirs = {"heart_rate": 70.0, "pr_interval": 240.0, "qrs_duration": math.nan}
    assert evaluate_feature("hr_low", ours, theirs, "fgclep") is True
    assert evaluate_feature("hr_low", ours, theirs, "machine") is False
    assert evaluate_feature("hr_low", ours, theirs, "both") is None          # disagreement
    assert evaluate_feature("pr_prolonged", ours, theirs, "both") is True     # agreement
    assert evaluate_feature("qrs_wide", ours, theirs, "both") is False        # one source
    assert evaluate_feature("hr_low", None, None, "both") is None
    with pytest.raises(ValueError, match="mode"):
        evaluate_feature("hr_low", ours, mode="ours")
    v = validate_features(["pr_prolonged", "hr_low", "delta_wave", "hr_low"], ours)
    assert v.confirmed == ("pr_prolonged", "hr_low") and v.unverifiable == ("delta_wave",)


def test_render_is_stable_and_not_redundant():
    a = render_enhanced("Sinus rhythm", ["st_depression", "st_depression_lateral", "pr_prolonged"])
    b = render_enhanced("Sinus rhythm", ["pr_prolonged", "st_depression_lateral", "st_depression"])
    assert a == b == "Sinus rhythm. Prolonged PR interval. ST depression in lateral leads."
    assert render_enhanced("Prolonged PR interval.", ["pr_prolonged"]) == "Prolonged PR interval."
    assert render_enhanced("", ["hr_low"]) == "Heart rate below 60 bpm."
    with pytest.raises(ValueError, match="unknown feature"):
        render_enhanced("x", ["nope"])


# ---------------------------------------------------------------------------- cache
def test_proposal_cache_roundtrip(tmp_path):
    path = tmp_path / "c" / "p.sqlite"
    with ProposalCache(path) as cache:
        assert cache.put("ns", "k1", ["a"], Proposal(("hr_low",), ("sinus_bradycardia",)))
        assert not cache.put("ns", "k2", ["b"], Proposal((), error="HTTP 503"))
        assert len(cache) == 1
    with ProposalCache(path) as cache:
        assert cache.get("ns", "k1").features == ("hr_low",)
        assert cache.get("other", "k1") is None and cache.get("ns", "k2") is None
        assert set(cache.get_many("ns", ["k1", "k2", "k3"])) == {"k1"}
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ValueError, match="bad.sqlite"):
        ProposalCache(bad)


# ---------------------------------------------------------------------------- pipeline
def _write_csv(path: Path, rows: list[dict]) -> Path:
    names = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=names)
        w.writeheader()
        w.writerows(rows)
    return path


def _inputs(tmp_path: Path, n_extra: int = 0):
    reports = [{"record": "r1", "report": "Sinus bradycardia. 1st degree A-V block."},
               {"record": "r2", "report": "Sinus rhythm. Left axis deviation. Borderline ECG"},
               {"record": "r3", "report": "Atrial fibrillation. WPW"},
               {"record": "r4", "report": "first-degree AV block; sinus bradycardia"}]
    reports += [{"record": f"x{i}", "report": f"Sinus rhythm. Statement {i}"}
                for i in range(n_extra)]
    feats = [{"record": "r1", "heart_rate": 52, "pr_interval": 240, "p_wave_fraction": 1.0},
             {"record": "r2", "heart_rate": 75, "pr_interval": 150, "qrs_axis": 10,
              "p_wave_fraction": 1.0},
             {"record": "r3", "heart_rate": 110, "pr_interval": "", "p_wave_fraction": 0.1,
              "rr_mean": 550, "rr_std": 90, "qrs_duration": 95},
             {"record": "r4", "heart_rate": 72, "pr_interval": 180, "p_wave_fraction": 1.0}]
    return _write_csv(tmp_path / "reports.csv", reports), _write_csv(tmp_path / "f.csv", feats)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_pipeline_reports_and_features(tmp_path):
    reports, feats = _inputs(tmp_path)
    out = tmp_path / "ENH.jsonl"
    res = recover_features(RecoveryConfig(out=out, reports=reports, features=feats))
    rows = {r["record"]: r for r in _rows(out)}
    assert set(rows) == {"r1", "r2", "r3", "r4"}
    for r in rows.values():
        assert set(r) >= {"record", "report", "proposed", "confirmed", "refuted",
                          "unverifiable", "enhanced_report"}
    assert rows["r1"]["confirmed"] == ["hr_low", "p_present", "pr_prolonged"]
    assert rows["r1"]["enhanced_report"].startswith("Sinus bradycardia. 1st degree A-V block.")
    assert "Prolonged PR interval." in rows["r1"]["enhanced_report"]
    assert rows["r4"]["refuted"] == ["hr_low", "pr_prolonged"]      # the report is wrong
    assert "Prolonged PR" not in rows["r4"]["enhanced_report"]
    assert rows["r2"]["refuted"] == ["axis_left"]
    assert set(rows["r3"]["confirmed"]) >= {"rr_irregular", "p_absent"}
    assert "delta_wave" in rows["r3"]["unverifiable"]
    assert "Delta wave" not in rows["r3"]["enhanced_report"]
    stats = json.loads(res.stats_path.read_text())
    assert res.stats_path == tmp_path / "ENH.stats.json"
    assert stats["features"]["pr_prolonged"] == {"proposed": 2, "confirmed": 1, "refuted": 1,
                                                 "unverifiable": 0, "model_rejected": 0}
    assert stats["run"]["backend_calls"] == 3       # r1 and r4 share a statement set
    tot = stats["totals"]
    assert stats["refuted_rate"] == pytest.approx(tot["refuted"] / (tot["confirmed"] +
                                                                     tot["refuted"]))
    # keep-unverifiable puts the unverifiable phrase into the text; the cache is reused
    out2 = tmp_path / "keep.jsonl"
    res2 = recover_features(RecoveryConfig(out=out2, reports=reports, features=feats,
                                           keep_unverifiable=True,
                                           proposal_cache=tmp_path / "ENH.proposals.sqlite"))
    assert "Delta wave." in {r["record"]: r for r in _rows(out2)}["r3"]["enhanced_report"]
    assert res2.stats["run"]["backend_calls"] == 0 and res2.stats["run"]["cache_hits"] == 3


def test_pipeline_machine_measurements(tmp_path):
    reports, _ = _inputs(tmp_path)
    mm = _write_csv(tmp_path / "mm.csv", [
        {"study_id": "r1", "rr_interval": 1150, "p_onset": 40, "p_end": 128, "qrs_onset": 280,
         "qrs_end": 370, "t_end": 29999, "p_axis": 50, "qrs_axis": 29999, "t_axis": 40}])
    out = tmp_path / "m.jsonl"
    recover_features(RecoveryConfig(out=out, reports=reports, measurements="machine",
                                    machine_measurements=mm))
    rows = {r["record"]: r for r in _rows(out)}
    assert rows["r1"]["confirmed"] == ["hr_low", "pr_prolonged"]
    assert rows["r1"]["unverifiable"] == ["p_present"]
    assert rows["r2"]["confirmed"] == []         # no machine row: everything unverifiable


def test_pipeline_bad_input(tmp_path):
    reports, feats = _inputs(tmp_path)
    with pytest.raises(ValueError, match="exactly one"):
        recover_features(RecoveryConfig(out=tmp_path / "o.jsonl"))
    with pytest.raises(ValueError, match="needs machine_measurements"):
        recover_features(RecoveryConfig(out=tmp_path / "o.jsonl", reports=reports,
                                        measurements="both", features=feats))
    bad = _write_csv(tmp_path / "bad.csv", [{"id": "r1", "text": "x"}])
    with pytest.raises(ValueError, match="bad.csv"):
        recover_features(RecoveryConfig(out=tmp_path / "o.jsonl", reports=bad, features=feats))


class _SlowLLM(BaseHTTPRequestHandler):
    """Chat-completions server that answers after 0.15 s and counts requests per statement set."""

    requests: list[str] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body["messages"][-1]["content"])
        time.sleep(0.15)
        raw = json.dumps({"choices": [{"message": {"role": "assistant", "content":
                                                   '{"features": ["hr_low"]}'}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        try:
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):   # the client was killed
            pass


def test_resume_after_killed_run(tmp_path):
    reports, feats = _inputs(tmp_path, n_extra=30)
    _SlowLLM.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SlowLLM)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    out = tmp_path / "run.jsonl"
    opts = {"model": "m", "base_url": url, "api_key_env": "", "concurrency": 1}
    code = ("from fgclep.recovery.pipeline import RecoveryConfig, recover_features\n"
            f"recover_features(RecoveryConfig(out={str(out)!r}, reports={str(reports)!r}, "
            f"features={str(feats)!r}, backend='openai', backend_options={opts!r}, "
            "batch_size=16))\n")
    try:
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
        deadline = time.time() + 120
        # 16 records (15 statement sets) per chunk: kill inside the second chunk, after its
        # first proposals are cached but before its records are written.
        while len(_SlowLLM.requests) < 20 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        first = len(_SlowLLM.requests)
        with open(out, "a") as f:               # a torn line, as a kill mid-write leaves it
            f.write('{"record": "x9", "rep')
        res = recover_features(RecoveryConfig(out=out, reports=reports, features=feats,
                                              backend="openai", backend_options=opts,
                                              batch_size=16))
    finally:
        httpd.shutdown()
        httpd.server_close()
    rows = _rows(out)
    ids = [r["record"] for r in rows]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 34      # nothing lost or doubled
    n_sets = 33                                                    # r1 and r4 share a set
    # Each set reaches the server once, except at most the one in flight when killed.
    assert n_sets <= len(_SlowLLM.requests) <= n_sets + 1
    assert res.stats["run"]["resumed_records"] >= 16
    assert res.stats["run"]["cache_hits"] >= first - 15 - 1
    assert res.stats["n_records"] == 34


def test_cli_and_enhanced_cache(tmp_path):
    synthetic = pytest.importorskip("fgclep.data.synthetic")
    data = pytest.importorskip("fgclep.data")
    from typer.testing import CliRunner

    from cli.main import app
    cache = tmp_path / "cache"
    pre = CliRunner().invoke(app, ["preprocess", "synthetic", "--out", str(cache), "--limit", "12",
                                   "--no-progress"])
    if pre.exit_code != 0:
        pytest.skip(f"preprocess unavailable: {pre.output[-300:]}")
    out = tmp_path / "E.jsonl"
    res = CliRunner().invoke(app, ["recover-features", "--cache", str(cache), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "refuted (hallucination) rate" in res.output
    ds = data.open_cache(cache, reports="enhanced")
    enhanced = {ds[i]["id"]: ds[i]["report"] for i in range(len(ds))}
    rows = {r["record"]: r for r in _rows(out)}
    assert set(rows) == set(enhanced)
    for rid, row in rows.items():
        assert enhanced[rid] == row["enhanced_report"]
        assert row["enhanced_report"].startswith(row["report"].rstrip("."))
    assert synthetic.ABNORMALITIES
    bad = CliRunner().invoke(app, ["recover-features", "--out", str(out)])
    assert bad.exit_code != 0 and "exactly one of --cache or --reports" in bad.output
    bad = CliRunner().invoke(app, ["recover-features", "--cache", str(cache), "--out", str(out),
                                   "--base-url", "http://x"])
    assert bad.exit_code != 0 and "does not apply" in bad.output


@pytest.mark.realdata
def test_real_mimic_machine_measurements(tmp_path, shared_data):
    mm = shared_data / "mimic-iv-ecg" / "machine_measurements.csv"
    with open(mm, newline="") as f:
        row = next(csv.DictReader(f))
    report = ". ".join(row[f"report_{i}"] for i in range(18) if row[f"report_{i}"].strip())
    reports = _write_csv(tmp_path / "r.csv", [{"record": row["study_id"], "report": report}])
    out = tmp_path / "mimic.jsonl"
    recover_features(RecoveryConfig(out=out, reports=reports, measurements="machine",
                                    machine_measurements=mm))
    (res,) = _rows(out)
    # "Sinus rhythm" at RR 659 ms (91 bpm): the rate is confirmed; P presence and the right
    # atrial abnormality's P amplitude are not in machine measurements.
    assert "hr_normal" in res["confirmed"]
    assert {"p_present", "p_tall"} <= set(res["unverifiable"])
    assert res["enhanced_report"].startswith(report)


class _Down(BaseHTTPRequestHandler):
    """A live server that answers every request with 503."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_backend_failures_are_skipped_listed_and_retried(tmp_path):
    reports, feats = _inputs(tmp_path)
    out = tmp_path / "fail.jsonl"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Down)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    down = {"model": "m", "base_url": f"http://127.0.0.1:{httpd.server_address[1]}/v1",
            "api_key_env": "", "max_retries": 0, "timeout": 5.0}
    try:
        res = recover_features(RecoveryConfig(out=out, reports=reports, features=feats,
                                              backend="openai", backend_options=down))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert res.stats["n_records"] == 0 and res.stats["run"]["skipped_records"] == 4
    with open(tmp_path / "fail.skipped.csv", newline="") as f:
        skipped = list(csv.DictReader(f))
    assert {r["record"] for r in skipped} == {"r1", "r2", "r3", "r4"}
    assert all("giving up" in r["reason"] for r in skipped)
    res = recover_features(RecoveryConfig(out=out, reports=reports, features=feats))  # kb now
    assert res.stats["n_records"] == 4 and not (tmp_path / "fail.skipped.csv").exists()


def test_unreachable_server_stops_the_run_naming_the_url(tmp_path):
    from test_recovery_backends import closed_port_url

    reports, feats = _inputs(tmp_path, n_extra=40)
    url = closed_port_url()
    opts = {"model": "m", "base_url": url, "api_key_env": "", "backoff": 0.01}
    with pytest.raises(ValueError, match=f"cannot connect to {url}"):
        recover_features(RecoveryConfig(out=tmp_path / "E.jsonl", reports=reports,
                                        features=feats, backend="openai", backend_options=opts))
    assert not (tmp_path / "E.skipped.csv").exists()     # nothing skipped: the run stopped


def test_non_numeric_measurement_skips_the_record_with_the_reason(tmp_path):
    reports, _ = _inputs(tmp_path)
    feats = _write_csv(tmp_path / "FEATURES.csv", [
        {"record": "r1", "heart_rate": 52, "pr_interval": 240, "qrs_duration": ""},
        {"record": "r2", "heart_rate": 75, "pr_interval": "abc", "qrs_duration": 90},
        {"record": "r3", "heart_rate": "nan", "pr_interval": "", "qrs_duration": "NaN"},
        {"record": "r4", "heart_rate": 72, "pr_interval": 180, "qrs_duration": " 88 "}])
    out = tmp_path / "E.jsonl"
    res = recover_features(RecoveryConfig(out=out, reports=reports, features=feats))
    assert sorted(r["record"] for r in _rows(out)) == ["r1", "r3", "r4"]   # blanks/nan: unmeasured
    with open(tmp_path / "E.skipped.csv", newline="") as f:
        (skipped,) = list(csv.DictReader(f))
    assert skipped["record"] == "r2"
    for needle in ("FEATURES.csv", "row 2", "pr_interval", "'abc'", "not a number"):
        assert needle in skipped["reason"]
    assert res.stats["run"]["skipped_records"] == 1


def test_features_file_with_no_numeric_rows_is_an_error(tmp_path):
    reports, _ = _inputs(tmp_path)
    feats = _write_csv(tmp_path / "F.csv", [{"record": f"r{i}", "heart_rate": "fast"}
                                            for i in range(1, 5)])
    with pytest.raises(ValueError, match=r"F.csv.*row 1 \(record r1\): heart_rate 'fast'"):
        recover_features(RecoveryConfig(out=tmp_path / "E.jsonl", reports=reports,
                                        features=feats))
