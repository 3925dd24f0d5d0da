"""Readers: WFDB parsing and its bad inputs, each dataset layout, real files in ../shared/data."""
from __future__ import annotations

import numpy as np
import pytest
import wfdb

from ecg_files import ecg_like, edit_header, write_challenge, write_wfdb
from fgclep.data import ECGRecord, read_wfdb
from fgclep.data.readers.challenge import read_challenge
from fgclep.data.readers.cpsc2018 import read_cpsc2018, read_reference
from fgclep.data.readers.folder import FolderSource
from fgclep.data.readers.ludb import read_ludb
from fgclep.data.readers.mimic import MimicSource, join_statements
from fgclep.data.readers.ptbxl import PtbxlSource, parse_scp_codes
from fgclep.leads import FIDUCIALS, LEADS_12

MIMIC_ORDER = ("I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6")


# ----------------------------------------------------------------------------- read_wfdb
@pytest.mark.parametrize("fmt", ["16", "212"])
def test_read_wfdb_matches_input_and_wfdb_twin(tmp_path, rng, fmt):
    sig = ecg_like(rng)
    rec_path = write_wfdb(tmp_path, "r1", sig, fmt=fmt)
    fast = read_wfdb(rec_path)
    twin = read_wfdb(str(rec_path) + ".hea", backend="wfdb")
    assert fast.signal.dtype == np.float32 and fast.signal.shape == (12, 5000)
    assert fast.lead_names == LEADS_12 and fast.sampling_rate == 500.0
    np.testing.assert_array_equal(fast.signal, twin.signal)
    np.testing.assert_allclose(fast.signal, sig, atol=1e-3)  # gain 1000/mV: 1 uV steps


def test_read_wfdb_reorders_mimic_lead_order_case_insensitively(tmp_path, rng):
    sig = ecg_like(rng)
    names = [n.upper() for n in MIMIC_ORDER]  # "AVF" before "AVL", PTB-XL-style capitals
    rec = read_wfdb(write_wfdb(tmp_path, "m", sig, lead_names=names))
    assert rec.lead_names == LEADS_12
    np.testing.assert_allclose(rec.signal[LEADS_12.index("aVL")], sig[5], atol=1e-3)
    np.testing.assert_allclose(rec.signal[LEADS_12.index("aVF")], sig[4], atol=1e-3)


def test_read_wfdb_missing_samples_are_nan(tmp_path, rng):
    sig = ecg_like(rng)
    sig[3, 100:110] = np.nan
    rec = read_wfdb(write_wfdb(tmp_path, "n", sig))
    assert np.isnan(rec.signal[3, 100:110]).all() and np.isfinite(rec.signal[3, 110:]).all()


def test_read_wfdb_bad_inputs_name_the_file(tmp_path, rng):
    sig = ecg_like(rng)
    good = write_wfdb(tmp_path, "good", sig)
    truncated = write_wfdb(tmp_path, "trunc", sig)
    data = truncated.with_suffix(".dat")
    data.write_bytes(data.read_bytes()[: 12 * 2 * 3000])
    with pytest.raises(ValueError, match=r"trunc\.dat: truncated signal file"):
        read_wfdb(truncated)
    longer = write_wfdb(tmp_path, "long", sig)
    edit_header(longer, "long 12 500 5000", "long 12 500 4000")
    with pytest.raises(ValueError, match="header sample count 4000 disagrees"):
        read_wfdb(longer)
    unknown = write_wfdb(tmp_path, "fmt", sig)
    edit_header(unknown, "fmt.dat 16 ", "fmt.dat 999 ")
    with pytest.raises(ValueError, match=r"fmt\.hea: unknown WFDB format 999"):
        read_wfdb(unknown)
    dup = write_wfdb(tmp_path, "dup", sig, lead_names=list(LEADS_12[:11]) + ["Ibis"])
    edit_header(dup, " Ibis", " I")  # wfdb refuses to write duplicate names
    with pytest.raises(ValueError, match=r"dup\.hea: duplicate lead names \['I'\]"):
        read_wfdb(dup)
    latin = write_wfdb(tmp_path, "latin", sig, comments=["report: placeholder"])
    hea = latin.with_suffix(".hea")
    hea.write_bytes(hea.read_bytes().replace(b"placeholder", "Vorhofflimmern gr\u00f6\u00dfer"
                                              .encode("latin-1")))
    with pytest.raises(ValueError, match=r"latin\.hea: header text is not valid UTF-8"):
        read_wfdb(latin)
    with pytest.raises(ValueError, match=r"absent\.hea: header file not found"):
        read_wfdb(tmp_path / "absent")
    good.with_suffix(".dat").unlink()
    with pytest.raises(ValueError, match="signal file good.dat not found"):
        read_wfdb(good)
    with pytest.raises(ValueError, match="backend"):
        read_wfdb(truncated, backend="nope")


def test_ecgrecord_validates():
    with pytest.raises(ValueError, match="lead names"):
        ECGRecord(np.zeros((12, 10)), 500, LEADS_12[:3])
    with pytest.raises(ValueError, match="sampling_rate"):
        ECGRecord(np.zeros((12, 10)), 0, LEADS_12)
    rec = ECGRecord(np.zeros((12, 5000), np.float64), 500, LEADS_12)
    assert rec.signal.dtype == np.float32 and rec.duration == 10.0 and rec.has_standard_leads


# ----------------------------------------------------------------------------- dataset layouts
def test_ptbxl_layout(tmp_path, rng):
    root = tmp_path / "ptbxl"
    write_wfdb(root / "records500" / "00000", "00001_hr", ecg_like(rng),
               lead_names=[n.upper() for n in LEADS_12])
    write_wfdb(root / "records500" / "00000", "00002_hr", ecg_like(rng))
    rows = [
        '1,15709.0,56.0,1,"sinusrhythmus lagetyp normal","{\'NORM\': 100.0, \'SR\': 0.0}",3,'
        'records100/00000/00001_lr,records500/00000/00001_hr',
        '2,13243.0,19.0,0,"vorhofflimmern","{\'AFIB\': 100.0, \'IMI\': 50.0}",10,'
        'records100/00000/00002_lr,records500/00000/00002_hr',
        '3,1.0,19.0,0,"x","{\'NORM\': 100.0}",9,records100/00000/00003_lr,'
        'records500/00000/00003_hr',
    ]
    (root / "ptbxl_database.csv").write_text(
        "ecg_id,patient_id,age,sex,report,scp_codes,strat_fold,filename_lr,filename_hr\n"
        + "\n".join(rows) + "\n", encoding="utf-8")
    src = PtbxlSource(root=root)
    items, skips = src.list_items()
    assert len(items) == 2 and len(skips) == 1 and "ecg_id 3: file not found" in skips[0][1]
    r1, r2 = (src.load(it) for it in items)
    assert r1.record_id == "1" and r1.labels == ["NORM", "SR"] and r1.meta["split"] == "train"
    assert r2.labels == ["AFIB", "IMI"] and r2.meta["split"] == "test"
    assert r1.report == "sinusrhythmus lagetyp normal" and r1.lead_names == LEADS_12
    with pytest.raises(ValueError, match="cannot parse scp_codes"):
        parse_scp_codes("{'NORM': 100.0", "row 7")


def test_mimic_layout(tmp_path, rng, shared_data):
    root = tmp_path / "mimic"
    root.mkdir()
    src_dir = shared_data / "mimic-iv-ecg"
    for name in ("record_list.csv", "machine_measurements.csv"):
        (root / name).write_bytes((src_dir / name).read_bytes())
    sig = ecg_like(rng)
    write_wfdb(root / "files/p1000/p10000032/s40689238", "40689238", sig,
               lead_names=MIMIC_ORDER)
    items, skips = MimicSource(root=root).list_items()
    assert len(items) == 1 and not skips
    rec = MimicSource(root=root).load(items[0])
    assert rec.report == "Sinus rhythm. Possible right atrial abnormality. Borderline ECG."
    assert rec.meta["rr_interval"] == 659.0 and rec.meta["qrs_axis"] == 77.0
    np.testing.assert_allclose(rec.signal[4], sig[5], atol=1e-3)  # aVL came sixth
    too_short = MimicSource(root=root, options={"min_words": 10}).list_items()
    assert not too_short[0] and "report has 8 words (< 10)" in too_short[1][0][1]


def test_join_statements():
    assert join_statements([" Sinus rhythm.", float("nan"), "", "Normal ECG ", None]) == \
        "Sinus rhythm. Normal ECG."
    assert join_statements(["", float("nan")]) == ""


def test_challenge_layout_and_georgia_record_line(tmp_path, rng):
    sig = ecg_like(rng)
    rec_path = write_challenge(tmp_path, "A0001", sig, ["164889003", "59118001", "999"],
                               record_line_name="A0001.mat")
    csn = read_challenge(rec_path, "csn")
    cpsc = read_challenge(rec_path, "cpsc2018")
    assert csn.labels == ["AF", "RBBB", "Unknown"]
    assert cpsc.labels == ["AFIB", "CRBBB", "Unknown"]
    assert csn.meta["header_record_name"] == "A0001.mat" and csn.meta["age"] == "60"
    np.testing.assert_allclose(csn.signal, sig, atol=1e-3)
    with pytest.raises(ValueError, match="wfdb could not read"):
        read_wfdb(rec_path, backend="wfdb")  # the quirk the plain wfdb reader rejects
    mat = rec_path.with_suffix(".mat")
    mat.write_bytes(mat.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"A0001\.mat: cannot read MATLAB file"):
        read_challenge(rec_path)
    other = write_challenge(tmp_path, "B1", sig[:, :4000], ["426783006"])
    edit_header(other, "B1 12 500 4000", "B1 12 500 5000")
    with pytest.raises(ValueError, match="header sample count 5000 disagrees"):
        read_challenge(other)


def test_folder_csv_missing_file_and_bad_report(tmp_path, rng):
    write_wfdb(tmp_path / "recs", "a", ecg_like(rng))
    write_wfdb(tmp_path / "recs", "b", ecg_like(rng))
    csv_path = tmp_path / "reports.csv"
    csv_path.write_bytes(b"path,report,labels\nrecs/a,sinus rhythm,SR\nrecs/missing,x,\n"
                         b"recs/b,gr\xf6\xdfer,AF\n")
    items, skips = FolderSource(root=tmp_path, options={"csv": str(csv_path)}).list_items()
    assert len(items) == 2 and "file not found" in skips[0][1]
    src = FolderSource(root=tmp_path, options={"csv": str(csv_path)})
    rec = src.load(items[0])
    assert rec.report == "sinus rhythm" and rec.labels == ["SR"] and rec.record_id == "recs/a"
    with pytest.raises(ValueError, match="not valid UTF-8"):
        src.load(items[1])


# ----------------------------------------------------------------------------- real files
@pytest.mark.realdata
def test_real_wfdb_samples(shared_data):
    mit = read_wfdb(shared_data / "wfdb-samples" / "100")
    assert mit.lead_names == ("MLII", "V5") and mit.sampling_rate == 360.0
    ptb = read_wfdb(shared_data / "wfdb-samples" / "s0010_re")
    assert ptb.lead_names == LEADS_12  # 15 signals: Frank leads dropped
    ref = wfdb.rdrecord(str(shared_data / "wfdb-samples" / "s0010_re"))
    names = [n.lower() for n in ref.sig_name]
    for i, lead in enumerate(LEADS_12):
        np.testing.assert_allclose(ptb.signal[i], ref.p_signal[:, names.index(lead.lower())],
                                   atol=1e-5)


@pytest.mark.realdata
def test_real_ptbxl_headers_in_both_name_styles(shared_data):
    for sub in ("records500", "records100"):
        for hea in sorted((shared_data / "ptbxl" / sub).rglob("*.hea"))[:10]:
            rec = read_wfdb(hea)
            assert rec.lead_names == LEADS_12 and rec.sampling_rate == int(sub[7:])


@pytest.mark.realdata
def test_real_challenge_and_georgia_quirk(shared_data):
    rec = read_challenge(shared_data / "cinc2021" / "WFDB_Ga" / "E00666", "csn")
    assert rec.signal.shape == (12, 5000) and rec.meta["header_record_name"] == "E00666.mat"
    assert "TInv" in rec.labels
    rec = read_challenge(shared_data / "cinc2021" / "WFDB_ChapmanShaoxing" / "JS00001", "cpsc2018")
    assert rec.labels[:2] == ["AFIB", "CRBBB"]


@pytest.mark.realdata
def test_real_cpsc2018_original(shared_data):
    ref = read_reference(shared_data / "cpsc2018" / "REFERENCE.csv")
    assert len(ref) == 6877 and ref["A0001"] == ["CRBBB"]
    rec = read_cpsc2018(shared_data / "cpsc2018" / "TrainingSet1" / "A1980.mat", ref["A1980"])
    assert rec.signal.shape[0] == 12 and rec.labels == ["PAC"] and rec.record_id == "A1980"


@pytest.mark.realdata
def test_real_ludb_fiducials(shared_data):
    rec = read_ludb(shared_data / "ludb" / "data" / "1")
    assert "Sinus bradycardia" in rec.report and rec.lead_names == LEADS_12
    fid = rec.meta["fiducials"]
    assert set(fid) == set(FIDUCIALS)
    shapes = {v.shape for v in fid.values()}
    assert len(shapes) == 1 and shapes.pop()[0] == 12
    stacked = np.stack([fid[name] for name in FIDUCIALS])  # (8, 12, beats), temporal order
    for a, b in zip(stacked[:-1], stacked[1:]):
        both = (a >= 0) & (b >= 0)
        assert (a[both] < b[both]).all()
    ann = wfdb.rdann(str(shared_data / "ludb" / "data" / "1"), "ii")
    qrs_peaks = ann.sample[np.array(ann.symbol) == "N"]
    np.testing.assert_array_equal(np.sort(fid["r_peak"][1][fid["r_peak"][1] >= 0]), qrs_peaks)
