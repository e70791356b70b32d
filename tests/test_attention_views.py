"""bertviz views served offline (helpers.attention_views) and the script that fetches their
JavaScript (tools/fetch_js_assets.py): self-contained sandboxed pages, escaped token text,
stable ids, the cdnjs fallback, queries and keys that reproduce the attention, and a fetch that
checks what it downloads. No network and no browser here (see test_browser_attention_views.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import subprocess
import sys
import tarfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch

from helpers import GPT, GPTConfig, causal_mask
from helpers.viz import attention_views as av

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import fetch_js_assets as fetch_tool  # noqa: E402

HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>",
           "\"><img src=y onerror=alert(3)>", "&lt;b&gt;", "\u2028", "a", " ", "\n"]
FAKE_ASSETS = {"jquery": "window.jQuery = function () {}; /* fake jquery */",
               "d3": "window.d3 = {version: 'fake'}; /* fake d3 */"}


class _Tags(HTMLParser):
    """Every start tag and its attributes, as parsed by the standard library."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


def inner_document(view: av.AttentionView) -> str:
    """The page inside the view's iframe (srcdoc, unescaped by the parser)."""
    frames = [attrs for tag, attrs in tags_of(view.html) if tag == "iframe"]
    assert len(frames) == 1
    return frames[0]["srcdoc"]


@pytest.fixture
def offline_assets(tmp_path, monkeypatch):
    """A folder with (fake) jQuery and d3 files, used instead of .cache/js."""
    for name, filename in av.ASSET_FILES.items():
        (tmp_path / filename).write_text(FAKE_ASSETS[name])
    monkeypatch.setenv(av.ASSET_DIR_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture
def no_assets(tmp_path, monkeypatch):
    monkeypatch.setenv(av.ASSET_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.setattr(av, "_notice_shown", False)


def tiny_model(n_layer=2, n_head=3, T=8, seed=0):  # T = len(HOSTILE)
    torch.manual_seed(seed)
    cfg = GPTConfig(vocab_size=11, n_positions=16, n_embd=12, n_layer=n_layer, n_head=n_head)
    model = GPT(cfg).eval()
    idx = torch.randint(0, cfg.vocab_size, (1, T), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        _, attentions = model(idx, return_attention=True)
    return model, idx, attentions


def all_views(model, idx, attentions, tokens=HOSTILE):
    return [av.head_view(attentions, tokens), av.model_view(attentions, tokens),
            av.neuron_view(model, idx, tokens, layer=1, head=2)]


def test_importing_the_module_loads_neither_bertviz_nor_ipywidgets():
    code = ("import sys, helpers.viz.attention_views; print([m for m in ('bertviz', 'ipywidgets', "
            "'IPython', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_safe_json_cannot_close_a_script_or_open_markup():
    text = av.safe_json({"t": HOSTILE})
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text) == {"t": HOSTILE}  # the same data once parsed


def test_each_view_is_one_sandboxed_iframe_in_a_div_with_its_scripts_inlined(offline_assets):
    model, idx, attentions = tiny_model()
    for view in all_views(model, idx, attentions):
        outer = tags_of(view.html)
        assert [tag for tag, _ in outer] == ["div", "iframe"]  # starts with <div>: no IPython warning
        assert view.html.startswith("<div")
        assert outer[1][1]["sandbox"] == "allow-scripts"  # an origin of its own: no same-origin
        doc = inner_document(view)
        inner = tags_of(doc)
        scripts = [attrs for tag, attrs in inner if tag == "script"]
        assert all("src" not in s for s in scripts), "nothing is loaded from elsewhere"
        assert FAKE_ASSETS["jquery"] in doc and FAKE_ASSETS["d3"] in doc
        assert doc.index(FAKE_ASSETS["jquery"]) < doc.index(av.REQUIRE_STAND_IN) < doc.index("requirejs([")
        assert "define" not in av.REQUIRE_STAND_IN  # jQuery and d3 must stay plain globals
        assert view.offline and "offline" in repr(view)


def test_token_text_is_data_never_markup_in_every_view(offline_assets):
    model, idx, attentions = tiny_model()
    for view in all_views(model, idx, attentions):
        doc = inner_document(view)
        for html in (view.html, doc):
            tags = tags_of(html)
            assert not [t for t, _ in tags if t in ("img", "svg", "a", "iframe", "object")
                        and html is doc], view.kind
            assert not [a for _, attrs in tags for a in attrs if a.startswith("on")], view.kind
        # the hostile tokens reach the page only inside escaped JSON, as text for d3's .text()
        assert "\\u003cimg src=x onerror=alert(1)\\u003e" in doc
        assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(2)" in doc
        assert "<img" not in doc.lower() and "alert(2)</script>" not in doc


def test_the_same_view_gives_the_same_bytes_and_a_new_view_a_new_id(offline_assets):
    model, idx, attentions = tiny_model()
    first, again = av.head_view(attentions, HOSTILE), av.head_view(attentions, HOSTILE)
    assert first.html == again.html  # re-running a notebook stores identical outputs
    ids = set(re.findall(r"bertviz-[0-9a-f]{32}", first.html))
    assert len(ids) == 1  # bertviz's random uuid is gone, everywhere
    other = av.head_view(attentions, HOSTILE[::-1])
    assert set(re.findall(r"bertviz-[0-9a-f]{32}", other.html)) != ids
    neuron_a = av.neuron_view(model, idx, HOSTILE, layer=0, head=0)
    neuron_b = av.neuron_view(model, idx, HOSTILE, layer=1, head=1)
    assert neuron_a.html != neuron_b.html  # two neuron views: each page keeps its own params


def test_without_the_files_the_page_loads_require_js_from_cdnjs_after_one_notice(no_assets, capsys):
    model, idx, attentions = tiny_model()
    views = all_views(model, idx, attentions)
    for view in views:
        doc = inner_document(view)
        sources = [attrs.get("src") for tag, attrs in tags_of(doc) if tag == "script"]
        assert sources.count(av.REQUIRE_JS) == 1 and not view.offline
        assert "JavaScript from cdnjs" in repr(view)
    for view in views:
        view._ipython_display_()
    out = capsys.readouterr().out
    assert out.count("bertviz views: jQuery and d3 are not in") == 1  # one line, once
    assert "fetch_js_assets.py" in out


def _params(doc: str, prefix: str) -> dict:
    start = doc.index(prefix) + len(prefix)
    return json.JSONDecoder().raw_decode(doc, start)[0]


def test_head_and_model_views_carry_the_attention_rounded_and_the_tokens_as_labels(offline_assets):
    _, _, attentions = tiny_model()
    for view in (av.head_view(attentions, HOSTILE), av.model_view(attentions, HOSTILE)):
        params = _params(inner_document(view), "const params = ")
        data = params["attention"][0]
        assert data["left_text"] == data["right_text"] == av.visible_tokens(HOSTILE)
        got = torch.tensor(data["attn"], dtype=torch.float64)  # (n_layer, n_head, T, T)
        want = torch.stack([a[0] for a in attentions]).double()
        assert got.shape == want.shape and torch.allclose(got, want, atol=0.5 * 10**-av.DECIMALS)


def test_visible_tokens_shows_whitespace_and_checks_its_input():
    assert av.visible_tokens(["a", " ", "\n", " b", "\t"]) == ["a", "␣", "↵", " b", "⇥"]
    with pytest.raises(TypeError, match="list of strings"):
        av.visible_tokens("abc")
    with pytest.raises(TypeError, match="list of strings"):
        av.visible_tokens([1, 2])


def test_queries_and_keys_reproduce_the_attention_and_leave_no_hook_behind():
    model, idx, attentions = tiny_model(n_layer=3, n_head=2, T=7)
    model.train()
    layers = av.queries_and_keys(model, idx)
    assert model.training  # the mode is restored
    assert all(not block.attn.c_attn._forward_hooks for block in model.h)
    T, hd = idx.size(1), model.config.head_dim
    for layer, want in zip(layers, attentions, strict=True):
        q, k = layer["queries"], layer["keys"]
        assert q.shape == k.shape == (1, model.config.n_head, T, hd)
        scores = (q @ k.transpose(-2, -1) / math.sqrt(hd)).masked_fill(~causal_mask(T), -math.inf)
        assert torch.allclose(scores.softmax(-1), want, atol=1e-6)
        assert torch.allclose(layer["attn"], want)


def test_neuron_view_sends_each_layers_queries_and_keys(offline_assets):
    model, idx, _ = tiny_model()
    view = av.neuron_view(model, idx[0], HOSTILE, layer=1, head=2)  # (T,) is accepted too
    params = _params(inner_document(view), "window.bertviz_params = ")
    data = params["attention"]["all"]
    layers = av.queries_and_keys(model, idx)
    assert len(data["queries"]) == len(data["keys"]) == model.config.n_layer
    for sent, layer in zip(data["queries"], layers, strict=True):
        assert torch.allclose(torch.tensor(sent, dtype=torch.float64), layer["queries"][0].double(),
                              atol=0.5 * 10**-av.DECIMALS)
    assert params["bidirectional"] is False and (params["layer"], params["head"]) == (1, 2)
    assert data["left_text"] == av.visible_tokens(HOSTILE)


def test_bad_input_is_refused_with_a_message_that_says_what_to_give(offline_assets):
    model, idx, attentions = tiny_model()
    with pytest.raises(ValueError, match=r"got 3 tokens for attention over 8 positions"):
        av.head_view(attentions, HOSTILE[:3])
    with pytest.raises(TypeError, match="one \\(B, n_head, T, T\\) tensor per layer"):
        av.model_view(torch.stack(attentions), HOSTILE)
    with pytest.raises(ValueError, match=r"attentions\[0\] must be a \(B, n_head, T, T\) tensor"):
        av.head_view([attentions[0][0]], HOSTILE)
    with pytest.raises(ValueError, match="layer must be in 0..1 and head in 0..2"):
        av.neuron_view(model, idx, HOSTILE, layer=2)
    with pytest.raises(ValueError, match="one sequence"):
        av.neuron_view(model, idx.repeat(2, 1), HOSTILE)


def test_a_longer_text_gets_a_taller_frame(offline_assets):
    heights = []
    for T in (4, 12):
        _, _, attentions = tiny_model(T=T)
        view = av.head_view(attentions, ["a"] * T)
        heights.append(int(re.search(r"height:(\d+)px", view.html).group(1)))
    assert heights[1] > heights[0]


# --- tools/fetch_js_assets.py --------------------------------------------------------------


def test_the_tool_fetches_the_files_the_views_read():
    assert {a.package: a.filename for a in fetch_tool.ASSETS} == av.ASSET_FILES
    assert fetch_tool.DEFAULT_DEST == ROOT / ".cache" / "js"
    assert av.asset_dir() == fetch_tool.DEFAULT_DEST or av.ASSET_DIR_ENV in __import__("os").environ


def _fake_package(content: bytes) -> tuple[fetch_tool.Asset, bytes]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("package/dist/lib.min.js", content), ("package/LICENSE", b"MIT")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    tarball = buffer.getvalue()
    asset = fetch_tool.Asset("lib", "1.0.0", "package/dist/lib.min.js", "package/LICENSE",
                             fetch_tool.sri(tarball), hashlib.sha256(content).hexdigest())
    return asset, tarball


def _registry(monkeypatch, asset, tarball, integrity=None):
    """A fake npm registry: the version's metadata and its tarball, no network."""
    urls = []

    def get(url, timeout):
        urls.append(url)
        if url.endswith("/lib/1.0.0"):
            return json.dumps({"dist": {"integrity": integrity or asset.integrity,
                                        "shasum": hashlib.sha1(tarball).hexdigest(),
                                        "tarball": "https://registry.example/lib-1.0.0.tgz"}}).encode()
        assert url == "https://registry.example/lib-1.0.0.tgz"
        return tarball

    monkeypatch.setattr(fetch_tool, "_get", get)
    return urls


def test_fetch_checks_the_tarball_unpacks_the_file_and_its_licence_and_is_idempotent(
        tmp_path, monkeypatch, capsys):
    asset, tarball = _fake_package(b"window.lib = 1;")
    urls = _registry(monkeypatch, asset, tarball)
    monkeypatch.setattr(fetch_tool, "ASSETS", (asset,))
    assert fetch_tool.main(["--dest", str(tmp_path), "--registry", "https://registry.example"]) == 0
    assert (tmp_path / "lib-1.0.0.min.js").read_bytes() == b"window.lib = 1;"
    assert (tmp_path / "lib-1.0.0.LICENSE.txt").read_bytes() == b"MIT"
    assert "lib 1.0.0 ->" in capsys.readouterr().out
    assert fetch_tool.is_present(asset, tmp_path)
    urls.clear()
    assert fetch_tool.main(["--dest", str(tmp_path), "--registry", "https://registry.example"]) == 0
    assert urls == [] and capsys.readouterr() == ("", "")  # present: quiet, no download


def test_fetch_refuses_a_tampered_tarball_or_registry_and_writes_nothing(tmp_path, monkeypatch,
                                                                          capsys):
    asset, tarball = _fake_package(b"window.lib = 1;")
    _, evil = _fake_package(b"window.lib = 'evil';")
    _registry(monkeypatch, asset, evil)
    with pytest.raises(fetch_tool.FetchError, match="does not match its integrity hash"):
        fetch_tool.fetch(asset, tmp_path, "https://registry.example")
    _registry(monkeypatch, asset, tarball, integrity="sha512-other")
    with pytest.raises(fetch_tool.FetchError, match="expected the pinned"):
        fetch_tool.fetch(asset, tmp_path, "https://registry.example")
    assert not list(tmp_path.iterdir())
    monkeypatch.setattr(fetch_tool, "ASSETS", (asset,))
    assert fetch_tool.main(["--dest", str(tmp_path), "--registry", "https://registry.example"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "load their JavaScript from cdnjs instead" in err


def test_the_pinned_hashes_are_the_registrys():
    jquery, d3 = fetch_tool.ASSETS
    assert (jquery.package, jquery.version, d3.package, d3.version) == ("jquery", "2.2.4", "d3", "5.7.0")
    for asset in fetch_tool.ASSETS:
        assert asset.integrity.startswith("sha512-") and len(asset.sha256) == 64
        path = fetch_tool.DEFAULT_DEST / asset.filename
        if path.is_file():  # fetched on this machine: what is there is what was pinned
            assert fetch_tool.is_present(asset, fetch_tool.DEFAULT_DEST)
