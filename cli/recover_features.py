"""``fgclep recover-features``: reports -> validated waveform features -> enhanced reports."""
from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class BackendName(str, Enum):
    kb = "kb"
    openai = "openai"
    transformers = "transformers"


class Validator(str, Enum):
    measurements = "measurements"
    model = "model"
    both = "both"


class Measurements(str, Enum):
    fgclep = "fgclep"
    machine = "machine"
    both = "both"


def recover_features_command(
    out: Annotated[Path, typer.Option(help="ENHANCED.jsonl to write (resumes if it exists).")],
    cache: Annotated[Optional[Path], typer.Option(
        help="Preprocessing cache: its reports, its signals measured unless --features is "
        "given; CACHE/enhanced_reports.csv is written.")] = None,
    reports: Annotated[Optional[Path], typer.Option(
        help="REPORTS.csv with columns record, report.")] = None,
    features: Annotated[Optional[Path], typer.Option(
        help="FEATURES.csv from extract-features (joined on record).")] = None,
    backend: Annotated[BackendName, typer.Option(
        help="kb (offline knowledge base), openai (OpenAI-compatible server) or "
        "transformers (local causal LM).")] = BackendName.kb,
    model: Annotated[Optional[str], typer.Option(
        help="openai: model name; transformers: hub name, folder or .gguf file.")] = None,
    base_url: Annotated[Optional[str], typer.Option(
        help="openai: API root, e.g. http://127.0.0.1:8000/v1.")] = None,
    api_key_env: Annotated[Optional[str], typer.Option(
        help="openai: environment variable holding the API key (never logged).")] = None,
    gguf_file: Annotated[Optional[str], typer.Option(
        help="transformers: GGUF file name inside --model.")] = None,
    concurrency: Annotated[Optional[int], typer.Option(
        help="openai: parallel requests.")] = None,
    source: Annotated[Optional[str], typer.Option(
        help="kb: label namespace for bare codes (ptbxl, cpsc, csn, cinc, synthetic).")] = None,
    measurements: Annotated[Measurements, typer.Option(
        help="Validate with fgclep measurements, MIMIC machine measurements or both.")
    ] = Measurements.fgclep,
    machine_measurements: Annotated[Optional[Path], typer.Option(
        help="MIMIC-IV-ECG machine_measurements.csv (joined on record, id or study_id).")] = None,
    keep_unverifiable: Annotated[bool, typer.Option(
        help="Put unverifiable features into the enhanced report too.")] = False,
    proposal_cache: Annotated[Optional[Path], typer.Option(
        help="sqlite proposal cache (default: next to --out).")] = None,
    validator: Annotated[Validator, typer.Option(
        help="measurements; model: a coarse-stage model must score the ECG against each "
        "feature's phrase above a per-feature threshold; both: measurements then model.")
    ] = Validator.measurements,
    checkpoint: Annotated[Optional[Path], typer.Option(
        help="Coarse-stage RUN_DIR (or model folder) for --validator model/both.")] = None,
    keep_rate: Annotated[float, typer.Option(
        help="Model check: share of each feature's candidates kept (sets its threshold).")
    ] = 0.8,
) -> None:
    """Propose waveform features for each report, keep those the ECG's measurements confirm."""
    from fgclep.recovery.pipeline import RecoveryConfig, format_stats, recover_features

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if (cache is None) == (reports is None):
        raise typer.BadParameter("give exactly one of --cache or --reports")
    options = {"model": model, "base_url": base_url, "api_key_env": api_key_env,
               "gguf_file": gguf_file, "concurrency": concurrency, "source": source}
    allowed = {"kb": {"source"}, "openai": {"model", "base_url", "api_key_env", "concurrency"},
               "transformers": {"model", "gguf_file"}}[backend.value]
    wrong = [k for k, v in options.items() if v is not None and k not in allowed]
    if wrong:
        raise typer.BadParameter(f"--{wrong[0].replace('_', '-')} does not apply to "
                                 f"--backend {backend.value}")
    if backend is BackendName.transformers and model is None:
        raise typer.BadParameter("--backend transformers needs --model")
    cfg = RecoveryConfig(out=out, cache=cache, reports=reports, features=features,
                         machine_measurements=machine_measurements,
                         measurements=measurements.value, backend=backend.value,
                         backend_options={k: v for k, v in options.items() if k in allowed},
                         keep_unverifiable=keep_unverifiable, proposal_cache=proposal_cache,
                         validator=validator.value, checkpoint=checkpoint, keep_rate=keep_rate)
    try:
        res = recover_features(cfg)
    except (ValueError, ImportError, TypeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(format_stats(res.stats))
    typer.echo(f"wrote {res.out} and {res.stats_path}"
               + (f" and {res.enhanced_csv}" if res.enhanced_csv else ""))


def register(app: typer.Typer) -> None:
    """Add ``recover-features`` to the fgclep application."""
    app.command("recover-features")(recover_features_command)
