"""Training lowers the loss; checkpoints are atomic, round-trip, resume, and fail clearly."""

import math

import pytest
import torch

from helpers import GPT, GPTConfig
from helpers.checkpoint import load_checkpoint
from helpers.data import get_batch, load_text
from helpers.train import TrainConfig, loss_on_whole_text, main, train

from conftest import tiny_model


def test_loss_starts_near_ln_vocab_and_goes_down(corpus, tmp_path):
    tok, train_data, val_data = corpus
    model = tiny_model(tok.vocab_size)
    start = loss_on_whole_text(model, val_data[:2000], 32)
    assert start == pytest.approx(math.log(tok.vocab_size), abs=0.3)
    cfg = TrainConfig(max_iters=150, batch_size=16, seq_len=32, eval_interval=50,
                      eval_iters=4, warmup_iters=10, learning_rate=3e-3)
    state = train(model, train_data, val_data, cfg, progress=False)
    assert [h["step"] for h in state.history] == [0, 50, 100, 150]
    assert len(state.batch_losses) == 150  # one per step, each its own batch's loss
    assert state.batch_losses[0] == pytest.approx(math.log(tok.vocab_size), abs=0.3)
    assert sum(state.batch_losses[-10:]) / 10 < state.batch_losses[0] - 1.0
    end = loss_on_whole_text(model, val_data[:2000], 32)
    assert end < start - 1.0


def test_loss_on_whole_text_scores_every_token_once(corpus):
    tok, _, val_data = corpus
    model = tiny_model(tok.vocab_size).eval()
    data = val_data[:101]
    with torch.no_grad():
        # reference: every token predicted from up to 32 tokens before it
        total = 0.0
        for t in range(1, len(data)):
            ctx = data[max(0, t - 32) : t]
            total -= model(ctx[None])[0, -1].log_softmax(-1)[data[t]].item()
    # loss_on_whole_text guarantees at least 16 tokens of context, so it is close but not equal
    assert loss_on_whole_text(model, data, 32) == pytest.approx(total / 100, rel=0.02)


def test_an_interrupted_run_resumes_to_the_same_weights(corpus, tmp_path):
    tok, train_data, val_data = corpus
    cfg = TrainConfig(max_iters=40, batch_size=8, seq_len=32, eval_interval=20, eval_iters=2,
                      warmup_iters=5, checkpoint_interval=20)
    straight = tiny_model(tok.vocab_size)
    whole = train(straight, train_data, val_data, cfg, progress=False)

    # the same run, stopped by Ctrl-C at step 26, between the checkpoints of steps 20 and 40
    calls = []

    def interrupted_batches(*args):
        calls.append(1)
        if len(calls) == 20 + 2 * 2 + 6:  # 20 training batches, 2 x 2 evaluation batches, 6 more
            raise KeyboardInterrupt
        return get_batch(*args)

    first = tiny_model(tok.vocab_size)
    first.eval()
    with pytest.raises(KeyboardInterrupt):
        train(first, train_data, val_data, cfg, tmp_path / "run", tok, progress=False,
              batch_fn=interrupted_batches)
    assert not first.training  # its mode is restored even when training raises
    _, _, state = load_checkpoint(tmp_path / "run")
    assert state["step"] == 20  # the last good checkpoint is left as it was
    resumed = tiny_model(tok.vocab_size)
    final = train(resumed, train_data, val_data, cfg, tmp_path / "run", tok, resume=True,
                  progress=False)
    assert final.step == 40 and [h["step"] for h in final.history] == [0, 20, 40]
    # the batch losses of steps 21-26, lost with the interruption, are those of the redone steps
    assert final.batch_losses == pytest.approx(whole.batch_losses, abs=1e-5)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=name)


def test_command_line_trains_and_exports(tmp_path, capsys):
    data = tmp_path / "text.txt"
    data.write_text(load_text()[:20_000], encoding="utf-8")
    main(["--data", str(data), "--out", str(tmp_path / "run"), "--max-iters", "20",
          "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "16",
          "--batch-size", "4", "--eval-interval", "10", "--eval-iters", "1",
          "--export", str(tmp_path / "export")])
    printed = capsys.readouterr().out
    assert "nats/char" in printed
    model, tok, _ = load_checkpoint(tmp_path / "export")
    assert not (tmp_path / "export" / "optimizer.safetensors").exists()
    assert model.config.n_positions == 16 and tok.vocab_size == model.config.vocab_size


def test_train_takes_a_masked_lm_batch_and_loss(corpus):
    from functools import partial

    from helpers.objectives import masked_lm_batch, masked_lm_loss

    tok, train_data, val_data = corpus
    torch.manual_seed(0)
    V = tok.vocab_size + 1  # one more id for [MASK]
    model = GPT(GPTConfig(vocab_size=V, n_positions=32, n_embd=32, n_layer=2, n_head=2, causal=False))
    batches = partial(masked_lm_batch, mask_token_id=V - 1, vocab_size=V)
    cfg = TrainConfig(max_iters=120, batch_size=16, seq_len=32, eval_interval=60, eval_iters=4,
                      warmup_iters=10, learning_rate=3e-3)
    state = train(model, train_data, val_data, cfg, progress=False, batch_fn=batches,
                  loss_fn=masked_lm_loss)
    start, first, last = (h["val_loss"] for h in state.history)  # steps 0, 60, 120
    assert start == pytest.approx(math.log(V), abs=0.3)  # random weights: about ln V
    assert first < math.log(V) and last < first  # it learns to fill in the blanks
    x, y = batches(val_data, 32, 4, torch.Generator().manual_seed(0))
    assert (y != -100).any() and (x == V - 1).any()


@pytest.mark.parametrize("setting, shown", [("1", False), ("0", True)])
def test_progress_bar_obeys_tqdm_disable(corpus, monkeypatch, capsys, setting, shown):
    tok, train_data, val_data = corpus
    monkeypatch.setenv("TQDM_DISABLE", setting)
    cfg = TrainConfig(max_iters=2, batch_size=2, seq_len=8, eval_interval=2, eval_iters=1)
    train(tiny_model(tok.vocab_size), train_data, val_data, cfg, progress=True)
    assert ("training" in capsys.readouterr().err) is shown
