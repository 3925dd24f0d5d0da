"""``fgclep demo`` through Typer's CliRunner (signal steps only; the whole chain is in test_demo.py)."""
from __future__ import annotations

import json

import matplotlib.image as mpimg
import pytest
import typer
from typer.testing import CliRunner

from fgclep.cli import demo as demo_cli
from fgclep.demo import DemoConfig, format_summary, run_demo


@pytest.fixture()
def app():
    # A fresh app with only this command, so the test does not depend on other commands.
    application = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @application.callback()
    def _root() -> None:
        """test root"""

    demo_cli.register(application)
    return application


def test_demo_signal_steps_write_png_and_summary(app, tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--small", "--no-chain", "--out", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output and "scipy" in result.output
    png = out / "synthetic_ecg_raw_vs_clean.png"
    assert png.stat().st_size > 10_000
    assert mpimg.imread(png).shape[1] > 800
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["corpus"]["n_records"] == 16
    assert summary["clean"]["max_abs_diff_rel_peak"] <= 1e-5
    assert summary["clean"]["speedup"] > 0
    assert summary["plot"]["png"] == str(png)
    assert "train" not in summary and not (out / "results.json").exists()


def _flat(text: str) -> str:
    """Typer's error box wraps long messages; join the lines back for matching."""
    return " ".join(text.replace("│", " ").split())


def test_demo_rejects_bad_options(app, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["demo", "--n-records", "0", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "n-records" in bad.output
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    bad = runner.invoke(app, ["demo", "--small", "--out", str(afile)])
    assert bad.exit_code != 0 and "not a folder" in bad.output
    bad = runner.invoke(app, ["demo", "--small", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert bad.exit_code != 0 and "is not a preprocessed cache" in _flat(bad.output)
    bad = runner.invoke(app, ["demo", "--small", "--target", "cosine", "--out", str(tmp_path / "o")])
    assert bad.exit_code != 0 and "target" in bad.output
    assert "Traceback" not in bad.output


def test_registered_in_main_app():
    from fgclep.cli.main import app as main_app

    result = CliRunner().invoke(main_app, ["demo", "--help"])
    assert result.exit_code == 0
    for option in ("--n-records", "--small", "--data", "--out", "--no-chain"):
        assert option in result.output


def test_run_demo_library(tmp_path):
    result = run_demo(tmp_path, n_records=3, seed=1, small=True, chain=False)
    assert result["corpus"]["n_records"] == 3
    text = format_summary(result)
    assert text.startswith("fgclep demo on the SYNTHETIC corpus")
    assert "records/s" in text
    with pytest.raises(ValueError, match="n_records"):
        DemoConfig(n_records=0)
    with pytest.raises(ValueError, match="seed"):
        DemoConfig(seed=-2)
    with pytest.raises(ValueError, match="target"):
        DemoConfig(target="cosine")
    with pytest.raises(ValueError, match="chain_records"):
        DemoConfig(chain_records=10)
