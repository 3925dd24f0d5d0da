"""Training configuration: one dataclass, defaults from the FG-CLEP authors' setting (DESIGN §6),
loadable from a JSON file and overridable field by field (the CLI does that)."""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

STAGES = ("coarse", "fine")
TARGET_MODES = ("fgclep", "identity", "threshold")
AMP_MODES = ("auto", "bf16", "fp16", "none")


@dataclass
class TrainConfig:
    """Everything a training run needs; written to ``RUN_DIR/train_config.json``."""

    cache: str = ""  # preprocessing cache directory (fgclep preprocess --out)
    out: str = ""  # run directory: metrics.jsonl, checkpoint-STEP/, final/
    model: str = "resnet1d18"  # registered model name (fgclep.models.list_models())
    model_overrides: dict = field(default_factory=dict)  # create_model overrides, e.g. {"ecg__depth": 2}
    stage: str = "coarse"  # "coarse": original reports; "fine": enhanced reports (needs init)
    init: Optional[str] = None  # start from this run's final/ (or a save_model directory)
    target: str = "fgclep"  # loss targets: "fgclep" (report similarity), "identity" (SigLIP), "threshold" (reports with cosine >= 0.9 count as positives)
    split: Optional[str] = "train"  # index split to train on; None = all records
    epochs: int = 10  # passes over the training split (paper: 10 coarse, then 3 fine)
    max_steps: Optional[int] = None  # stop after this many optimizer steps (overrides epochs)
    batch_size: int = 32  # pairs per process per micro-batch (paper: 100 per GPU)
    grad_accum_steps: int = 1  # micro-batches per optimizer step (each micro-batch is its own contrastive batch)
    lr: float = 2e-5  # AdamW peak learning rate
    weight_decay: float = 1e-4  # AdamW weight decay (not applied to biases, norms, temperature)
    warmup_fraction: float = 0.1  # share of steps with linear warm-up, then cosine decay
    min_lr_ratio: float = 0.0  # final learning rate / peak
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping
    amp: str = "auto"  # "auto": bf16 (or fp16 + loss scaling) on GPU, none on CPU
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1"; under torchrun each rank uses its local GPU
    seed: int = 0  # seeds model init, data order and dropout
    loss_backend: str = "auto"  # fgclep.losses backend: auto|torch|chunked|triton
    precompute_text: bool = True  # with a fully frozen text tower, feed cached embeddings instead of running it
    embedding_batch_size: int = 64  # batch size for embedding reports into the cache
    log_every: int = 10  # optimizer steps between metrics.jsonl lines
    checkpoint_every: int = 0  # optimizer steps between checkpoints; 0 = at the end of every epoch
    keep_checkpoints: int = 2  # newest checkpoints kept (older ones are deleted)
    resume: bool = False  # continue from the newest RUN_DIR/checkpoint-STEP
    progress: bool = True  # tqdm progress bar on rank 0

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "TrainConfig") -> "TrainConfig":
        """Build from a dict, rejecting unknown keys by name."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"{source}: unknown training config keys {unknown}; "
                             f"allowed: {sorted(names)}")
        cfg = cls(**data)
        cfg.validate(source)
        return cfg

    @classmethod
    def from_json(cls, path: Union[str, os.PathLike], **overrides: Any) -> "TrainConfig":
        """Read a JSON file (any subset of the fields), then apply non-None ``overrides``.

        ``path`` may also name a packaged preset (:func:`list_presets`: ``demo``,
        ``demo_small``)."""
        if str(path) in list_presets() and not Path(path).exists():
            path = _preset_dir() / f"{path}.json"
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"TrainConfig.from_json: cannot read {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"TrainConfig.from_json: {path} must hold a JSON object")
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self, source: str = "TrainConfig") -> None:
        """Raise ValueError naming the field and value that are out of range."""
        def positive_int(v):
            return isinstance(v, int) and not isinstance(v, bool) and v >= 1

        checks = [
            (isinstance(self.cache, str) and self.cache != "", "cache (a cache directory)", self.cache),
            (isinstance(self.out, str) and self.out != "", "out (a run directory)", self.out),
            (self.stage in STAGES, f"stage {STAGES}", self.stage),
            (self.stage != "fine" or self.init, "init (required with stage='fine')", self.init),
            (self.target in TARGET_MODES, f"target {TARGET_MODES}", self.target),
            (self.amp in AMP_MODES, f"amp {AMP_MODES}", self.amp),
            (positive_int(self.epochs), "epochs (>= 1)", self.epochs),
            (self.max_steps is None or positive_int(self.max_steps), "max_steps (>= 1)", self.max_steps),
            (positive_int(self.batch_size) and self.batch_size >= 2, "batch_size (>= 2)", self.batch_size),
            (positive_int(self.grad_accum_steps), "grad_accum_steps (>= 1)", self.grad_accum_steps),
            (isinstance(self.lr, (int, float)) and self.lr > 0, "lr (> 0)", self.lr),
            (self.weight_decay >= 0, "weight_decay (>= 0)", self.weight_decay),
            (0 <= self.warmup_fraction < 1, "warmup_fraction (in [0, 1))", self.warmup_fraction),
            (0 <= self.min_lr_ratio <= 1, "min_lr_ratio (in [0, 1])", self.min_lr_ratio),
            (self.grad_clip >= 0, "grad_clip (>= 0)", self.grad_clip),
            (positive_int(self.log_every), "log_every (>= 1)", self.log_every),
            (isinstance(self.checkpoint_every, int) and self.checkpoint_every >= 0,
             "checkpoint_every (>= 0)", self.checkpoint_every),
            (positive_int(self.keep_checkpoints), "keep_checkpoints (>= 1)", self.keep_checkpoints),
            (positive_int(self.embedding_batch_size), "embedding_batch_size (>= 1)",
             self.embedding_batch_size),
            (isinstance(self.model_overrides, dict), "model_overrides (a JSON object)",
             self.model_overrides),
        ]
        for ok, name, value in checks:
            if not ok:
                raise ValueError(f"{source}: invalid {name}: {value!r}")


def _preset_dir() -> Path:
    return Path(__file__).resolve().parent / "presets"


def list_presets() -> list[str]:
    """Names of the packaged training presets (``fgclep/train/presets/*.json``).

    ``demo``: the CPU demo (``resnet1d_small``: ResNet1D on 100 Hz input, frozen MiniLM whose
    cached report embeddings replace the tower, lr 1e-3, 8 epochs, batch 32, ``threshold``
    targets with logit bias initialised at -10). ``demo_small``: the same for CI (4 epochs,
    lr 2e-3). docs/benchmarks.md ("Training") has the measurements behind these choices.
    """
    return sorted(p.stem for p in _preset_dir().glob("*.json"))
