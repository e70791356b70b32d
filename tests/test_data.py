"""The corpus, its split and its batches: shifted windows, clear errors for bad input, and the
text found wherever the package is installed."""

import tomllib
from pathlib import Path

import pytest
import torch

from helpers.data import get_batch

ROOT = Path(__file__).resolve().parent.parent


def test_batches_are_shifted_windows(corpus):
    _, train_data, _ = corpus
    x, y = get_batch(train_data, 16, 4, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 16)
    assert torch.equal(x[:, 1:], y[:, :-1])


@pytest.mark.parametrize("data, message", [
    (torch.rand(50), "1-D tensor of integer token ids, got a 1-D torch.float32 tensor"),
    (torch.arange(50).view(5, 10), "got a 2-D torch.int64 tensor"),
    (list(range(50)), "got list"),
])
def test_get_batch_refuses_data_that_is_not_token_ids(data, message):
    with pytest.raises(TypeError, match=message):
        get_batch(data, 8, 2, torch.Generator())


@pytest.mark.parametrize("seq_len, batch_size, message", [
    (8, 0, "batch_size must be an integer >= 1, got 0"),
    (0, 2, "seq_len must be an integer >= 1, got 0"),
    (8, 2.5, "batch_size must be an integer >= 1, got 2.5"),
    (60, 2, "data has 50 tokens; need at least seq_len \\+ 1 = 61"),
])
def test_get_batch_refuses_bad_sizes(seq_len, batch_size, message):
    with pytest.raises(ValueError, match=message):
        get_batch(torch.arange(50), seq_len, batch_size, torch.Generator())


def test_data_is_found_without_the_repository_layout(tmp_path, monkeypatch):
    from helpers import data

    installed = tmp_path / "share" / data.CORPUS_NAME
    installed.parent.mkdir()
    installed.write_text("to be or not to be", encoding="utf-8")
    monkeypatch.setattr(data, "CORPUS_LOCATIONS", (tmp_path / "missing.txt", installed))
    assert data.load_text() == "to be or not to be"
    monkeypatch.setattr(data, "CORPUS_LOCATIONS", (tmp_path / "missing.txt",))
    with pytest.raises(FileNotFoundError, match=r"pass its path: load_text\('path/to"):
        data.load_text()
    with pytest.raises(FileNotFoundError, match="pass the path of a UTF-8 text file"):
        data.load_text(tmp_path / "nope.txt")


def test_a_regular_install_ships_the_corpus_where_load_text_looks():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    files = project["tool"]["setuptools"]["data-files"]["share/gpt2-step-by-step"]
    assert files == ["data/tinyshakespeare.txt"] and (ROOT / files[0]).is_file()
    from helpers import data

    assert data.CORPUS_LOCATIONS[1].parts[-3:] == ("share", "gpt2-step-by-step", data.CORPUS_NAME)
