"""Notebook 01's exercise checks: the worked solutions pass, placeholders are "not answered
yet", and plausible wrong answers are rejected. Trains the notebook's tiny models (a few s)."""

import random

import pytest
import torch

from exercises import nb01 as check
from helpers import GPT, GPTConfig, causal_mask, full_mask, sequence_logprob
from helpers.train import TrainConfig, train

# --- the notebook's text, vocabulary and models (as in notebooks/solutions/01_solutions.ipynb)


def build_text():
    rng = random.Random(0)
    sentences = []
    for _ in range(1500):
        animal = rng.choice(list(check.SOUND))
        sentences.append([rng.choice(check.DETERMINERS), animal, check.SOUND[animal],
                          *rng.choice(check.ENDINGS), "."])
    words = [w for s in sentences for w in s]
    vocab = sorted(set(words)) + ["[MASK]"]
    stoi = {w: i for i, w in enumerate(vocab)}
    return torch.tensor([stoi[w] for w in words]), vocab, stoi


DATA, VOCAB, STOI = build_text()
TRAIN_DATA, VAL_DATA = DATA[:8100], DATA[8100:]
T = 12


def encode(text):
    return [STOI[w] for w in text.split()]


def sentence_batch(data, n_positions, batch_size, generator=None):
    starts = torch.randint((len(data) - n_positions) // 6, (batch_size,), generator=generator) * 6
    x = torch.stack([data[s : s + n_positions] for s in starts.tolist()])
    y = torch.stack([data[s + 1 : s + 1 + n_positions] for s in starts.tolist()])
    return x, y


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models train and run many times faster on one thread
    yield
    torch.set_num_threads(threads)


def trained(causal, data, steps=1000):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=len(VOCAB), n_positions=T, n_embd=32, n_layer=1, n_head=2,
                          causal=causal))
    config = TrainConfig(max_iters=steps, batch_size=32, seq_len=T, learning_rate=3e-3,
                         min_lr=3e-4, warmup_iters=50, eval_interval=steps, eval_iters=2, seed=0)
    train(model, data, data, config, batch_fn=sentence_batch, progress=False)
    return model.eval()


@pytest.fixture(scope="module")
def clm():
    return trained(True, TRAIN_DATA)


@pytest.fixture(scope="module")
def backward():
    return trained(True, TRAIN_DATA.flip(0))


def my_prefix_mask(T, P):
    in_prefix = torch.zeros(T, T, dtype=torch.bool)
    in_prefix[:P, :P] = True
    return causal_mask(T) | (full_mask(T) & in_prefix)


def clm_fill(text, model):
    candidates = list(check.SOUND)
    ids = torch.tensor([encode(text.replace("[MASK]", a)) for a in candidates])
    return candidates[int(sequence_logprob(model, ids, prompt_len=1).argmax())]


def unanswered(*args):
    ...


# --- exercise 1 -----------------------------------------------------------------------------


def test_exercise_1_solution_placeholder_and_wrong_answers(capsys):
    assert check.exercise_1(my_prefix_mask) is True
    assert check.exercise_1(...) is None
    assert check.exercise_1(unanswered) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_1(lambda T, P: causal_mask(T)) is False
    assert "plain causal mask" in capsys.readouterr().out
    assert check.exercise_1(lambda T, P: full_mask(T)) is False
    assert "full mask" in capsys.readouterr().out

    def prompt_sees_everything(T, P):
        m = causal_mask(T)
        m[:P] = True  # the prompt rows open to every key, the answer's too
        return m

    assert check.exercise_1(prompt_sees_everything) is False
    assert "after the prompt" in capsys.readouterr().out

    def off_by_one(T, P):
        return my_prefix_mask(T, min(P + 1, T))

    assert check.exercise_1(off_by_one) is False
    assert check.exercise_1(lambda T, P: my_prefix_mask(T, P).int()) is False  # not bool
    assert check.exercise_1(lambda T, P: my_prefix_mask(T, P).T) is False  # rows and columns
    hard_coded = my_prefix_mask(4, 2)
    assert check.exercise_1(lambda T, P: hard_coded) is False


# --- exercise 2 -----------------------------------------------------------------------------


def test_exercise_2_solution_placeholder_and_wrong_answers(clm, capsys):
    assert check.exercise_2(clm_fill, clm, encode) is True
    assert check.exercise_2(..., clm, encode) is None
    assert check.exercise_2(unanswered, clm, encode) is None
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_2(lambda text, model: "dog", clm, encode) is False  # hard-coded

    def left_context_only(text, model):
        # what the causal LM predicts after the words before the blank
        with torch.no_grad():
            probs = model(torch.tensor([encode(text.split("[MASK]")[0])]))[0, -1].softmax(-1)
        return max(check.SOUND, key=lambda a: probs[STOI[a]])

    assert check.exercise_2(left_context_only, clm, encode) is False
    assert check.exercise_2(lambda text, model: STOI["dog"], clm, encode) is False  # an id

    def from_the_grammar(text, model):
        # the animal that makes the sound in the sentence: right, but no model involved
        return {sound: animal for animal, sound in check.SOUND.items()}[text.split()[2]]

    assert check.exercise_2(from_the_grammar, clm, encode) is False
    assert "strongly prefers" in capsys.readouterr().out

    def with_the_global_clm(text, model):
        return clm_fill(text, clm)  # ignores the model it is given

    assert check.exercise_2(with_the_global_clm, clm, encode) is False


# --- exercise 3 -----------------------------------------------------------------------------


def test_exercise_3_solution_placeholder_and_wrong_answers(clm, backward, capsys):
    lost = {"sound", "ending 2"}
    assert check.exercise_3(backward, lost, encode) is True
    assert check.exercise_3(backward, list(lost), encode) is True  # any collection of names
    assert check.exercise_3(..., ..., encode) is None
    assert check.exercise_3(backward, ..., encode) is None  # the model is done, the question not
    assert "not answered yet" in capsys.readouterr().out
    assert check.exercise_3(clm, lost, encode) is False  # the forward model: reads left to right
    assert "reversed text" in capsys.readouterr().out
    torch.manual_seed(0)
    untrained = GPT(clm.config)
    assert check.exercise_3(untrained, lost, encode) is False
    masked = GPT(GPTConfig(**{**clm.config.to_dict(), "causal": False}))
    assert check.exercise_3(masked, lost, encode) is False  # not a causal LM
    assert "causal" in capsys.readouterr().out
    assert check.exercise_3(backward, {"animal", "ending 1"}, encode) is False  # forward's gaps
    assert "is sure of" in capsys.readouterr().out
    assert check.exercise_3(backward, {"sound"}, encode) is False  # one missing
    assert "missing" in capsys.readouterr().out
    assert check.exercise_3(backward, {"sound", "ending 2", "."}, encode) is False
    assert check.exercise_3(backward, {"determiner"}, encode) is False  # not a column of names
    assert check.exercise_3(backward, "sound", encode) is False  # a string, not a set of names
