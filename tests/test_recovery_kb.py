"""Knowledge base: statement matching and coverage of every label set fgclep uses."""
from __future__ import annotations

import csv
import json
import pathlib
import re
from importlib import resources

import pytest

from fgclep.recovery.kb import DATASET_SOURCES, load_kb, order_features
from fgclep.recovery.normalize import (normalize_code, split_statements, statement_key,
                                       statement_set_key, tokens)
from fgclep.recovery.vocabulary import VOCABULARY


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.mark.parametrize("text", [
    "1st degree AV block", "first-degree atrioventricular block", "AV block I",
    "I degree AV block.", "AV BLOCK, FIRST DEGREE", "Block, A-V, 1st degree", "AVB I",
    "Sinus rhythm with 1st degree A-V block"])
def test_first_degree_av_block_variants(kb, text):
    assert "av_block_1" in kb.resolve(text)


@pytest.mark.parametrize("text,concept", [
    ("LBBB", "lbbb"), ("left bundle-branch block", "lbbb"), ("Block, left bundle branch", "lbbb"),
    ("RBBB", "rbbb_unspecified"), ("complete right bundle branch block", "rbbb"),
    ("Incomplete right bundle branch block", "irbbb"), ("Inferior infarct - age undetermined",
                                                         "mi_inferior"),
    ("Prolonged QT interval", "long_qt"), ("LVH", "lvh"), ("left ventricular hypertrophy", "lvh"),
    ("Borderline ECG", "no_implication"), ("Abnormal ECG", "no_implication"),
    ("Possible right atrial abnormality", "rae"), ("Left axis deviation", "left_axis_deviation"),
    ("sinusrhythmus ueberdrehter linkstyp", "left_axis_deviation"),
    ("vorhofflimmern", "atrial_fibrillation"), ("Ischämie anterior", "ischemia_anterior"),
    ("ST elevation, consider early repolarization, pericarditis, or injury",
     "early_repolarization"),
])
def test_free_text_statements(kb, text, concept):
    assert concept in kb.resolve(text)


def test_word_order_case_punctuation_share_a_key():
    a = statement_key("First-degree atrioventricular block")
    assert a == statement_key("block; AV -- FIRST degree") == statement_key("AV block I")
    assert statement_set_key(["Sinus rhythm", "Left ventricular hypertrophy"]) == \
        statement_set_key(["hypertrophy, left-ventricular", "sinus  RHYTHM.", "Sinus rhythm"])
    assert normalize_code(" nst_ ") == "NST"
    assert statement_set_key(["AF"]) != statement_set_key(["atrial fibrillation"])
    assert split_statements("A. B; C\nD") == ["A", "B", "C", "D"]
    assert tokens("") == [] and split_statements("") == []
    with pytest.raises(TypeError, match="tokens"):
        tokens(3)  # type: ignore[arg-type]


def test_negation_is_not_a_match(kb):
    assert "st_elevation" not in kb.resolve("no ST elevation")
    assert "st_elevation" in kb.resolve("ST elevation")
    assert kb.resolve("kein Vorhofflimmern") == []


def test_non_one_to_one_concepts(kb):
    lvh = kb.concept("lvh")
    assert len(lvh.feature_sets) >= 3            # Sokolow-Lyon, Cornell, strain
    assert ("lvh_voltage",) in lvh.feature_sets and ("lvh_cornell",) in lvh.feature_sets
    lbbb = kb.concept("lbbb").features
    assert {"qrs_wide", "q_absent_lateral", "broad_r_lateral"} <= set(lbbb)
    assert len(kb.concept("rbbb_unspecified").feature_sets) == 2   # complete or incomplete
    feats, concepts = kb.propose(["Sinus bradycardia", "1st degree AV block"])
    assert concepts == ("sinus_bradycardia", "av_block_1")
    assert set(feats) == {"hr_low", "p_present", "pr_prolonged"}
    assert feats == order_features(feats)


def test_every_concept_and_alias_is_sound(kb):
    for concept in kb.concepts.values():
        for fset in concept.feature_sets:
            assert all(f in VOCABULARY for f in fset), concept.id
        for alias in concept.aliases:   # each alias resolves to its own concept
            assert concept.id in kb.resolve(alias), (concept.id, alias)


def test_synthetic_phrasings_all_resolve(kb):
    synthetic = pytest.importorskip("fgclep.data.synthetic")
    corpus = synthetic.generate(40, seed=5, noise=False)
    labels = {"sinus_bradycardia": "sinus_bradycardia", "av_block_1": "av_block_1",
              "atrial_fibrillation": "atrial_fibrillation", "lvh": "lvh",
              "long_qt": "long_qt", "low_voltage": "low_voltage"}
    for report, labs in zip(corpus.reports, corpus.labels):
        stmts = split_statements(report)
        for st in stmts:
            assert kb.resolve(st), (st, report)
        concepts = set(kb.propose(stmts)[1])
        for lab, concept in labels.items():
            if lab in labs:
                assert concept in concepts, (lab, report)
    # every phrasing the generator can draw, for every territory
    for name, options in synthetic._PHRASES.items():
        for text in options:
            for terr in ("inferior", "anterior", "lateral"):
                assert kb.resolve(text.format(t=terr, T=terr.capitalize())), (name, text)


@pytest.mark.realdata
def test_all_ptbxl_scp_codes_resolve(kb, shared_data):
    with open(shared_data / "ptbxl" / "scp_statements.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    codes = [r[""] for r in rows]
    assert len(codes) == 71
    for row in rows:
        assert kb.resolve_code(row[""], "ptbxl"), row[""]
        assert kb.code_descriptions["ptbxl"][normalize_code(row[""])] == row["description"]


def test_all_benchmark_task_labels_resolve(kb):
    tasks = pytest.importorskip("fgclep.data.tasks")
    n = 0
    for name in tasks.list_tasks():
        task = tasks.get_task(name)
        source = DATASET_SOURCES[task.dataset]
        for cls in task.classes:
            assert kb.resolve(cls, source), (name, cls)
            n += 1
    assert n >= 5 + 23 + 19 + 12 + 9 + 14
    # CSN classes are resolved from a cache at run time: every Challenge abbreviation resolves
    defs = pathlib.Path(tasks.__file__).parent / "task_defs" / "snomed_ct.json"
    codes = json.loads(defs.read_text())["codes"]
    for entry in codes.values():
        assert kb.resolve(entry["abbreviation"], "cinc"), entry


def test_cpsc_and_chapman_labels_resolve(kb):
    for code in ("Normal", "AF", "I-AVB", "LBBB", "RBBB", "PAC", "PVC", "STD", "STE",
                 "AFIB", "VPC", "NORM", "1AVB", "CRBBB", "CLBBB"):
        assert kb.resolve(code, "cpsc"), code
    assert kb.resolve("AF", "csn") == ["atrial_flutter"]      # Chapman: AF = atrial flutter
    assert kb.resolve("AF", "cpsc") == ["atrial_fibrillation"]
    assert kb.resolve("ST", "csn") == ["sinus_tachycardia"]


@pytest.mark.realdata
def test_ludb_diagnoses_resolve(kb, shared_data):
    n = 0
    for hea in sorted((shared_data / "ludb" / "data").glob("*.hea")):
        text = hea.read_text()
        diag = text.split("#<diagnoses>:", 1)[1] if "#<diagnoses>:" in text else ""
        for line in diag.splitlines():
            line = line.lstrip("#").strip()
            if line:
                assert kb.resolve(line), (hea.name, line)
                n += 1
    assert n > 200


@pytest.mark.realdata
def test_mimic_statements_resolve(kb, shared_data):
    with open(shared_data / "mimic-iv-ecg" / "machine_measurements.csv", newline="") as f:
        for row in csv.DictReader(f):
            for k, v in row.items():
                if re.fullmatch(r"report_\d+", k) and v.strip():
                    assert kb.resolve(v), v
    mimic = json.loads((resources.files("fgclep.recovery") / "kb_data" / "mimic.json")
                       .read_text())
    for statement in mimic:
        assert kb.resolve(statement) == mimic[statement]["concepts"], statement


@pytest.mark.realdata
def test_ptbxl_free_text_reports_mostly_resolve(kb, shared_data):
    """Real PTB-XL reports (German/English/Swedish): nearly all name some known concept."""
    with open(shared_data / "ptbxl" / "extras" / "ptbxl_database_rows_available.csv",
              newline="") as f:
        reports = [r["report"] for r in csv.DictReader(f)]
    hit = sum(bool(kb.resolve(r)) for r in reports)
    assert hit / len(reports) > 0.98
