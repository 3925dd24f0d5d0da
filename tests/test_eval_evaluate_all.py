"""evaluate_all: cache lookup and the paper-style Markdown tables."""
from __future__ import annotations

import json


from fgclep.eval.evaluate_all import find_cache, markdown_tables


class _T:
    def __init__(self, name, dataset):
        self.name, self.dataset = name, dataset


def test_markdown_tables_layout():
    res = {"fractions": [0.01, 0.1, 1.0], "seeds": [0, 1], "mode": "linear", "tasks": {
        "ptbxl_super": {"missing": False, "zeroshot": {"macro_auroc": 0.75},
                        "linear_probe": {"0.01": {"macro_auroc": 0.6, "macro_auroc_sd": 0.01},
                                         "0.1": {"macro_auroc": 0.7, "macro_auroc_sd": 0.02},
                                         "1.0": {"macro_auroc": 0.8, "macro_auroc_sd": 0.0}}},
        "cpsc2018": {"missing": False, "zeroshot": {"macro_auroc": 0.85}, "linear_probe": {}},
        "csn": {"missing": True},
    }}
    md = markdown_tables(res, model_name="m")
    lines = md.splitlines()
    zs_head = next(l for l in lines if l.startswith("| model | PTBXL-Super"))
    assert zs_head.split(" | ")[1:] == ["PTBXL-Super", "CPSC2018", "CSN", "Average |"]
    assert "| m | 75.00 | 85.00 | – | – |" in lines  # no average while a task is missing
    lp_head = next(l for l in lines if "PTBXL-Super 1%" in l)
    assert "PTBXL-Super 10%" in lp_head and "PTBXL-Super 100%" in lp_head and "CSN 100%" in lp_head
    assert "| m | 60.00 ± 1.00 | 70.00 ± 2.00 | 80.00 ± 0.00 | – |" in md
    assert "Missing caches (not evaluated): csn." in md
    res["tasks"].pop("csn")
    assert "| m | 75.00 | 85.00 | 80.00 |" in markdown_tables(res, model_name="m")


def test_find_cache(tmp_path):
    for name in ("ptbxl", "cpsc2018"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.csv").write_text("id\n")
    assert find_cache(tmp_path, _T("ptbxl_form", "ptbxl")) == tmp_path / "ptbxl"
    assert find_cache(tmp_path, _T("cpsc2018", "cpsc2018")) == tmp_path / "cpsc2018"
    assert find_cache(tmp_path, _T("csn", "csn")) is None
    single = tmp_path / "ptbxl"
    (single / "meta.json").write_text(json.dumps({"dataset": "ptbxl"}))
    assert find_cache(single, _T("ptbxl_sub", "ptbxl")) == single
    assert find_cache(single, _T("csn", "csn")) is None
