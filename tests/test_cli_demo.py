"""``fgclep demo`` through Typer's CliRunner, and the library function behind it."""
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


def test_demo_small_writes_png_and_summary(app, tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--small", "--out", str(out), "--seed", "3"])
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


def test_demo_rejects_bad_options(app, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["demo", "--n-records", "0", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "n-records" in bad.output
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    bad = runner.invoke(app, ["demo", "--small", "--out", str(afile)])
    assert bad.exit_code != 0 and "not a folder" in bad.output
    assert "Traceback" not in bad.output


def test_registered_in_main_app():
    from fgclep.cli.main import app as main_app

    result = CliRunner().invoke(main_app, ["demo", "--help"])
    assert result.exit_code == 0 and "--n-records" in result.output


def test_run_demo_library(tmp_path):
    result = run_demo(tmp_path, n_records=3, seed=1, small=True)
    assert result["corpus"]["n_records"] == 3
    text = format_summary(result)
    assert text.startswith("fgclep demo on the SYNTHETIC corpus")
    assert "records/s" in text
    with pytest.raises(ValueError, match="n_records"):
        DemoConfig(n_records=0)
    with pytest.raises(ValueError, match="seed"):
        DemoConfig(seed=-2)
