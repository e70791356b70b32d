"""The trainer under torchrun: two processes compute what one computes on the whole batch."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers import distributed
from helpers.checkpoint import load_checkpoint

TORCHRUN = Path(sys.executable).with_name("torchrun")
TOLERANCE = 1e-5  # float sums in another order (gradients averaged across processes)


def _args(tmp_path, out, max_iters, *extra):
    return ["-m", "helpers.train", "--data", str(tmp_path / "text.txt"), "--out", str(out),
            "--max-iters", str(max_iters), "--n-layer", "1", "--n-embd", "16", "--n-head", "2",
            "--n-positions", "16", "--batch-size", "8", "--eval-interval", "2", "--eval-iters", "2",
            "--checkpoint-interval", "3", "--threads", "1", "--device", "cpu", *extra]


def _run(cmd):
    env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _history(out):
    return json.loads((out / "trainer_state.json").read_text())["history"]


def _same(a, b):
    ha, hb = _history(a), _history(b)
    assert [h["step"] for h in ha] == [h["step"] for h in hb]
    for x, y in zip(ha, hb, strict=True):
        assert abs(x["train_loss"] - y["train_loss"]) < TOLERANCE
        assert abs(x["val_loss"] - y["val_loss"]) < TOLERANCE
    ma, mb = load_checkpoint(a)[0], load_checkpoint(b)[0]
    for (name, p), (_, q) in zip(ma.state_dict().items(), mb.state_dict().items(), strict=True):
        torch.testing.assert_close(p, q, atol=TOLERANCE, rtol=0, msg=name)


def _torchrun_works(tmp_path) -> str | None:
    if not TORCHRUN.exists():
        return f"torchrun not found beside {sys.executable}"
    probe = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "site"],
                           capture_output=True, text=True, timeout=120)
    return None if probe.returncode == 0 else f"torchrun cannot start here: {probe.stderr[-200:]}"


def test_two_processes_give_the_same_losses_and_weights_as_one(tmp_path):
    from helpers.data import load_text

    (tmp_path / "text.txt").write_text(load_text()[:30_000], encoding="utf-8")
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    _run([sys.executable, *_args(tmp_path, single, 6)])
    reason = _torchrun_works(tmp_path)
    if reason:
        pytest.skip(reason)
    printed = _run([str(TORCHRUN), "--standalone", "--nproc_per_node=2", *_args(tmp_path, ddp, 6)])
    assert "2 process(es) on cpu" in printed and printed.count("parameters,") == 1  # rank 0 only
    _same(single, ddp)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no half-written folders
    # resuming under torchrun continues exactly as one process does
    _run([sys.executable, *_args(tmp_path, single, 8, "--resume")])
    _run([str(TORCHRUN), "--standalone", "--nproc_per_node=2", *_args(tmp_path, ddp, 8, "--resume")])
    _same(single, ddp)
    assert _history(ddp)[-1]["step"] == 8
    # a global batch that does not split evenly is refused with the fix
    bad = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node=2",
                          *_args(tmp_path, tmp_path / "bad", 2), "--batch-size", "5"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert bad.returncode != 0
    assert "batch_size 5 does not divide among 2 processes; use a multiple of 2" in bad.stderr
    shutil.rmtree(tmp_path / "bad", ignore_errors=True)


def test_each_process_trains_on_its_own_rows(monkeypatch):
    batch = torch.arange(12).view(6, 2)
    monkeypatch.setattr(distributed, "world_size", lambda: 3)
    seen = []
    for r in range(3):
        monkeypatch.setattr(distributed, "rank", lambda r=r: r)
        seen.append(distributed.shard(batch))
    assert [s[:, 0].tolist() for s in seen] == [[0, 2], [4, 6], [8, 10]]
    assert torch.equal(torch.cat(seen), batch)  # together, exactly the global batch


def test_one_process_is_a_group_of_one():
    assert distributed.world_size() == 1 and distributed.rank() == 0 and distributed.is_main_process()
    distributed.check_divisible(7)  # anything divides among one process
    x = torch.arange(6)
    assert torch.equal(distributed.shard(x), x)
    assert distributed.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'mps', got 'tpu'"):
        distributed.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU is visible; use --device cpu"):
            distributed.resolve_device("cuda")
