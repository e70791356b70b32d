"""Checkpoints: a round trip, atomic saves, and clear errors for a truncated or foreign folder."""

import pytest
import torch

from helpers.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

from conftest import tiny_model


def test_checkpoint_round_trip(corpus, tmp_path):
    tok, _, _ = corpus
    model = tiny_model(tok.vocab_size).eval()
    save_checkpoint(tmp_path / "ckpt", model, tok)
    loaded, loaded_tok, state = load_checkpoint(tmp_path / "ckpt")
    idx = torch.randint(tok.vocab_size, (2, 10))
    assert torch.equal(loaded(idx), model(idx))
    assert loaded_tok.encode("hello") == tok.encode("hello") and state is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temporary folders left
    # half precision on disk, float32 in memory
    save_checkpoint(tmp_path / "half", model, tok, dtype=torch.float16)
    half, _, _ = load_checkpoint(tmp_path / "half")
    assert half.wte.weight.dtype == torch.float32
    torch.testing.assert_close(half(idx), model(idx), atol=2e-2, rtol=0)


def test_truncated_or_missing_checkpoint_gives_clear_error(corpus, tmp_path):
    tok, _, _ = corpus
    path = save_checkpoint(tmp_path / "ckpt", tiny_model(tok.vocab_size), tok)
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(path)
    weights.unlink()
    with pytest.raises(CheckpointError, match="incomplete"):
        load_checkpoint(path)
    nowhere = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as e:
        load_checkpoint(nowhere)
    assert str(e.value) == (f"no checkpoint folder at {nowhere}; train one with "
                            f"`python -m helpers.train --out {nowhere}`")
    (path / "model.safetensors").write_bytes(b"")
    (path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json is corrupt"):
        load_checkpoint(path)


def test_a_failed_save_keeps_the_previous_checkpoint(corpus, tmp_path, monkeypatch):
    tok, _, _ = corpus
    model = tiny_model(tok.vocab_size)
    save_checkpoint(tmp_path / "ckpt", model, tok)
    import helpers.checkpoint as ckpt

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "_write_json", boom)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "ckpt", model, tok)
    load_checkpoint(tmp_path / "ckpt")  # still intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_a_save_cut_off_between_its_two_renames_loses_nothing(corpus, tmp_path):
    """A power cut runs no exception handler: it can leave the previous checkpoint renamed to
    .name.old-PID and no folder at the path. Loading (and so resuming) puts it back."""
    tok, _, _ = corpus
    before, after = tiny_model(tok.vocab_size).eval(), tiny_model(tok.vocab_size).eval()
    path = save_checkpoint(tmp_path / "ckpt", before, tok, trainer_state={"step": 20})
    save_checkpoint(tmp_path / ".ckpt.tmp-4242", after, tok, trainer_state={"step": 40})
    path.rename(tmp_path / ".ckpt.old-4242")  # the first rename done, the second never
    loaded, _, state = load_checkpoint(path)
    assert state["step"] == 20 and path.is_dir()
    idx = torch.randint(tok.vocab_size, (1, 8))
    assert torch.equal(loaded(idx), before(idx))
    with pytest.raises(FileNotFoundError, match="no checkpoint folder"):
        load_checkpoint(tmp_path / "never_saved")


def test_a_foreign_folder_is_not_taken_for_a_checkpoint(corpus, tmp_path):
    import json

    tok, _, _ = corpus
    path = save_checkpoint(tmp_path / "ckpt", tiny_model(tok.vocab_size), tok)
    (path / "config.json").write_text(json.dumps({"n_embd": 32, "model_type": "gpt2"}))
    with pytest.raises(CheckpointError, match=r"not a checkpoint of this project \(format None"):
        load_checkpoint(path)


def test_an_export_writes_its_training_record_in_the_same_atomic_step(corpus, tmp_path, monkeypatch):
    import helpers.checkpoint as ckpt

    tok, _, _ = corpus
    model = tiny_model(tok.vocab_size)
    path = save_checkpoint(tmp_path / "export", model, tok, extra_json={"training.json": {"steps": 1}})
    assert (path / "training.json").exists()
    real = ckpt._write_json

    def fail_on_the_record(file, obj):
        if file.name == "training.json":
            raise OSError("disk full")
        real(file, obj)

    monkeypatch.setattr(ckpt, "_write_json", fail_on_the_record)
    with pytest.raises(OSError):
        save_checkpoint(path, tiny_model(tok.vocab_size), tok, extra_json={"training.json": {"steps": 2}})
    import json

    assert json.loads((path / "training.json").read_text()) == {"steps": 1}  # the old export, whole
