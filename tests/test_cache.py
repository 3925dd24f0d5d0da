"""open_cache: random access, batches, DataLoader workers, pickling, enhanced reports."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from fgclep.data import open_cache
from fgclep.data.cache import INDEX_COLUMNS, shard_paths, write_shard


def _fake_cache(path, n=23, shard_size=5, dtype="float32", rng=None):
    """A cache written through write_shard with known signals (no preprocessing involved)."""
    rng = rng or np.random.default_rng(0)
    signals = rng.standard_normal((n, 12, 5000)).astype(dtype)
    for shard, start in enumerate(range(0, n, shard_size)):
        rows = range(start, min(n, start + shard_size))
        part = pd.DataFrame({"id": [f"rec{i}" for i in rows], "source": [f"/x/{i}" for i in rows],
                             "report": [f"report {i}" for i in rows],
                             "labels": ["A;B" if i % 2 else "" for i in rows],
                             "shard": shard, "row": [i - start for i in rows]})
        write_shard(path, shard, signals[start:start + shard_size], part,
                    pd.DataFrame(columns=["source", "reason"]))
    parts = [pd.read_csv(shard_paths(path, s)["index"], dtype={"id": str}, keep_default_na=False)
             for s in range((n + shard_size - 1) // shard_size)]
    index = pd.concat(parts, ignore_index=True)
    index["split"] = "train"
    index[list(INDEX_COLUMNS)].to_csv(path / "index.csv", index=False)
    (path / "meta.json").write_text('{"sampling_rate": 500, "n_samples": 5000, "lead_names": '
                                    '["I","II","III","aVR","aVL","aVF","V1","V2","V3","V4","V5",'
                                    f'"V6"], "dtype": "{dtype}", "dataset": "test"}}')
    return signals


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_random_access_items_batches_and_signals(tmp_path, dtype):
    signals = _fake_cache(tmp_path, dtype=dtype)
    ds = open_cache(tmp_path)
    assert len(ds) == 23 and ds.meta["dataset"] == "test"
    item = ds[17]
    assert item["signal"].dtype == np.float32 and item["id"] == "rec17" and item["index"] == 17
    np.testing.assert_array_equal(item["signal"], signals[17].astype(np.float32))
    assert item["report"] == "report 17" and ds[-1]["id"] == "rec22"
    order = [22, 3, 3, 11, 0]
    batch = ds[order]
    np.testing.assert_array_equal(batch["signal"], signals[order].astype(np.float32))
    assert batch["id"] == [f"rec{i}" for i in order]
    np.testing.assert_array_equal(ds.signals(order), signals[order].astype(np.float32))
    listed = ds.__getitems__(order)
    assert [x["id"] for x in listed] == batch["id"]
    with pytest.raises(IndexError):
        ds[23]
    with pytest.raises(IndexError):
        ds.signals([0, 99])
    assert ds.index["labels"].tolist()[:2] == ["", "A;B"]


def test_dataloader_with_worker_processes(tmp_path):
    signals = _fake_cache(tmp_path, n=12, shard_size=4)
    ds = open_cache(tmp_path)
    ds[0]  # open a map in the parent first: workers must not reuse it
    loader = torch.utils.data.DataLoader(ds, batch_size=5, shuffle=False, num_workers=2)
    got = torch.cat([b["signal"] for b in loader]).numpy()
    np.testing.assert_array_equal(got, signals)
    batched = torch.utils.data.DataLoader(
        ds, batch_size=None, num_workers=2,
        sampler=torch.utils.data.BatchSampler(torch.utils.data.RandomSampler(ds), 4, False))
    seen = []
    for b in batched:
        np.testing.assert_array_equal(b["signal"].numpy(), signals[b["index"].numpy()])
        seen.extend(b["index"].tolist())
    assert sorted(seen) == list(range(12))


def test_pickle_drops_memory_maps(tmp_path):
    _fake_cache(tmp_path, n=6)
    ds = open_cache(tmp_path)
    ds[0]
    assert ds._maps
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._maps == {}
    np.testing.assert_array_equal(clone[4]["signal"], ds[4]["signal"])


def test_enhanced_reports(tmp_path):
    _fake_cache(tmp_path, n=6)
    with pytest.raises(ValueError, match="recover-features"):
        open_cache(tmp_path, reports="enhanced")
    pd.DataFrame({"id": ["rec1", "rec4"], "enhanced_report": ["better 1", "better 4"]}).to_csv(
        tmp_path / "enhanced_reports.csv", index=False)
    with pytest.warns(UserWarning, match="4 of 6 records have no enhanced report"):
        ds = open_cache(tmp_path, reports="enhanced")
    assert ds[1]["report"] == "better 1" and ds[2]["report"] == "report 2"
    with pytest.raises(ValueError, match="reports must be one of"):
        open_cache(tmp_path, reports="fancy")


def test_not_a_cache(tmp_path):
    with pytest.raises(ValueError, match="not a finished fgclep cache"):
        open_cache(tmp_path)


def test_half_to_float_fast_path_matches_numpy_twin(rng):
    from fgclep.data.cache import _copy_record

    src = (rng.standard_normal((12, 5000)) * 3).astype(np.float16)
    src[0, :3] = [np.inf, -np.inf, 65504]
    fast, twin = np.empty((12, 5000), np.float32), np.empty((12, 5000), np.float32)
    _copy_record(fast, src)
    _copy_record(twin, src, backend="numpy")
    np.testing.assert_array_equal(fast, twin)
    np.testing.assert_array_equal(twin, src.astype(np.float32))
