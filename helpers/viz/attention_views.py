"""bertviz's head, model and neuron views for this project's models, drawn with no network.

Stock bertviz loads require.js, d3 and jQuery from a CDN, so its views are blank offline and
racy in JupyterLab 4 (no global `require`). Here each view is one self-contained page in an
`<iframe srcdoc>` inside a `<div>`: bertviz's own JavaScript and data, with jQuery and d3
inlined from the files `tools/fetch_js_assets.py` fetched into `.cache/js/` and a small
`require` stand-in that hands them over (it defines no `define`, so both stay plain globals).
Each view has a window of its own, so several views (neuron views too, whose stock code keeps
its data in a global) live side by side in one notebook. Without the files, the same page loads
require.js the way bertviz does, from cdnjs, after a one-line notice.

The page reaches the notebook as an `ipywidgets.HTML` value: the JavaScript travels to the
browser at run time and is never stored in the notebook (`tools/clean_notebook.py` drops
widget outputs), since jQuery and d3 are third-party code the repository does not hold.
Token text is data, never markup: it sits in JSON with `<`, `>` and `&` escaped, bertviz draws
it with d3's `.text()`, and the iframe is sandboxed (scripts only, an origin of its own).

    from helpers.attention_views import head_view, model_view, neuron_view
    logits, attentions = model(idx, return_attention=True)
    head_view(attentions, tokens)           # one layer, every head, as lines between tokens
    model_view(attentions, tokens)          # every layer x head as thumbnails
    neuron_view(model, idx, tokens)         # one head's queries and keys, q x k, softmax
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from helpers.model import eval_mode

# The versions bertviz 1.4.1 asks for: d3 5.7.0 and jQuery 2.0.0 (not on npm; 2.2.4 works).
ASSET_FILES = {"jquery": "jquery-2.2.4.min.js", "d3": "d3-5.7.0.min.js"}
ASSET_DIR_ENV = "GPT2_JS_ASSETS"  # a folder holding ASSET_FILES, instead of .cache/js
REQUIRE_JS = "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.6/require.min.js"
DECIMALS = 3  # attention, queries and keys are sent to the page with this many decimals

# Hands the inlined globals to bertviz's `require.config(...)` / `requirejs([...], fn)` calls.
# It defines no `define`: jQuery and d3 see no AMD loader and stay plain globals.
REQUIRE_STAND_IN = """
window.requirejs = window.require = function (names, callback) {
  var modules = {jquery: window.jQuery, d3: window.d3};
  callback.apply(window, names.map(function (name) { return modules[name]; }));
};
window.require.config = function () {};
"""

_notice_shown = False


def asset_dir() -> Path:
    """Where the fetched JavaScript lives: $GPT2_JS_ASSETS, else `.cache/js` in the repository."""
    override = os.environ.get(ASSET_DIR_ENV)
    return Path(override) if override else Path(__file__).resolve().parents[2] / ".cache" / "js"


def load_assets(directory: Path | None = None) -> dict[str, str] | None:
    """jQuery's and d3's source text by name, or None when either file is missing."""
    folder = asset_dir() if directory is None else Path(directory)
    paths = {name: folder / filename for name, filename in ASSET_FILES.items()}
    if not all(p.is_file() for p in paths.values()):
        return None
    return {name: p.read_text(encoding="utf-8") for name, p in paths.items()}


def safe_json(obj) -> str:
    """JSON that cannot end a <script> or open markup: `<`, `>`, `&` and line breaks escaped."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def visible_tokens(tokens: Sequence[str]) -> list[str]:
    """Tokens as readable labels: newline as ↵, tab as ⇥, a token of spaces as ␣."""
    if isinstance(tokens, str) or not all(isinstance(t, str) for t in tokens):
        raise TypeError(f"tokens must be a list of strings, got {type(tokens).__name__}")
    labels = [t.replace("\n", "↵").replace("\t", "⇥") for t in tokens]
    return [t.replace(" ", "␣") if t.strip() == "" else t for t in labels]


def for_bertviz(attentions: Sequence[torch.Tensor], batch_index: int = 0) -> list[torch.Tensor]:
    """helpers' attentions (one (B, n_head, T, T) tensor per layer) as bertviz wants them:
    one (1, n_head, T, T) float64 tensor per layer, rounded to DECIMALS."""
    if isinstance(attentions, torch.Tensor) or not len(attentions):
        raise TypeError("attentions must be a list with one (B, n_head, T, T) tensor per layer, "
                        "as model(idx, return_attention=True)[1] returns")
    out = []
    for layer, a in enumerate(attentions):
        if not isinstance(a, torch.Tensor) or a.dim() != 4 or a.size(-1) != a.size(-2):
            got = tuple(a.shape) if isinstance(a, torch.Tensor) else type(a).__name__
            raise ValueError(f"attentions[{layer}] must be a (B, n_head, T, T) tensor, got {got}")
        out.append(a[batch_index: batch_index + 1].detach().cpu().double().round(decimals=DECIMALS))
    return out


def queries_and_keys(model, idx: torch.Tensor) -> list[dict[str, torch.Tensor]]:
    """Per layer: the attention weights and the queries and keys they came from.

    Runs `model` once with a forward hook on every `block.attn.c_attn` (the fused q|k|v
    projection) and splits its output as the attention does: each of 'attn' (B, H, T, T),
    'queries' and 'keys' (B, H, T, head_dim)."""
    captured: list[torch.Tensor] = []
    hooks = [block.attn.c_attn.register_forward_hook(lambda _m, _i, out: captured.append(out))
             for block in model.h]
    try:
        with torch.no_grad(), eval_mode(model):
            _, attentions = model(idx, return_attention=True)
    finally:
        for hook in hooks:
            hook.remove()
    layers = []
    for block, qkv, attn in zip(model.h, captured, attentions, strict=True):
        q, k, _ = qkv.split(qkv.size(-1) // 3, dim=2)  # each (B, T, C)
        layers.append({"attn": attn, "queries": block.attn.split_heads(q),  # (B, H, T, hd)
                       "keys": block.attn.split_heads(k)})
    return layers


@dataclass(frozen=True)
class AttentionView:
    """One bertviz view as a self-contained page; shown in a notebook as an HTML widget."""

    kind: str  # "head", "model" or "neuron"
    html: str  # <div><iframe srcdoc="..."></iframe></div>
    n_layer: int
    n_head: int
    n_tokens: int
    offline: bool  # jQuery and d3 inlined (True) or loaded from cdnjs (False)

    def __repr__(self) -> str:
        where = "offline" if self.offline else "JavaScript from cdnjs"
        return (f"<bertviz {self.kind} view: {self.n_layer} layers x {self.n_head} heads, "
                f"{self.n_tokens} tokens, {where}>")

    def widget(self):
        """The view as an `ipywidgets.HTML` (its JavaScript is sent at run time, never stored)."""
        import ipywidgets as widgets

        return widgets.HTML(value=self.html, layout=widgets.Layout(width="100%"))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        global _notice_shown
        if not self.offline and not _notice_shown:
            _notice_shown = True
            where = f"${ASSET_DIR_ENV}" if os.environ.get(ASSET_DIR_ENV) else ".cache/js"
            print(f"bertviz views: jQuery and d3 are not in {where} (run make setup, or python "
                  "tools/fetch_js_assets.py), so they load from cdnjs: that needs the network.")
        display(self.widget())


def _script(source: str) -> str:
    if re.search(r"</script|<!--", source, flags=re.IGNORECASE):
        raise ValueError("a script to inline contains '</script' or '<!--'")
    return f"<script>{source}</script>"


def _page(bertviz_html: str, kind: str, height: int, zoom: float, n_layer: int, n_head: int,
          n_tokens: int, assets: dict[str, str] | None) -> AttentionView:
    """bertviz's returned HTML rebuilt as a sandboxed iframe: its data as escaped JSON, a stable
    id, jQuery and d3 inlined (or bertviz's own require.js from cdnjs when `assets` is None)."""
    import bertviz

    prefix = "window.bertviz_params = " if kind == "neuron" else "const params = "
    start = bertviz_html.index(prefix) + len(prefix)
    params, _ = json.JSONDecoder().raw_decode(bertviz_html, start)
    old_id = params["root_div_id"]
    params["root_div_id"] = "bertviz-ID"
    digest = hashlib.sha256(safe_json([kind, params]).encode()).hexdigest()[:32]
    new_id = params["root_div_id"] = f"bertviz-{digest}"  # the same id for the same view
    require_tag = f'<script src="{REQUIRE_JS}"></script>'
    body = bertviz_html.split('<script type="text/javascript">')[0]  # the view's <div>, no data
    body = body.replace(require_tag, "").replace(old_id, new_id).strip()
    # bertviz pastes its raw JSON into the script (twice, once in a comment): rebuild the
    # script from bertviz's own file with the escaped JSON instead
    template = (Path(bertviz.__file__).parent / f"{kind}_view.js").read_text(encoding="utf-8")
    if kind == "neuron":
        scripts = [f"window.bertviz_params = {safe_json(params)};", template]
    else:
        marker = "const params = PYTHON_PARAMS;"
        if marker not in template:
            raise RuntimeError(f"bertviz's {kind}_view.js has no '{marker}': pin bertviz==1.4.1")
        scripts = [template.replace(marker, f"const params = {safe_json(params)};", 1)]
    if assets is None:
        head = require_tag
    else:
        head = "".join(_script(assets[name]) for name in ("jquery", "d3")) + _script(REQUIRE_STAND_IN)
    document = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">" + head
                + f"<style>body{{margin:0;background:white;zoom:{zoom}}}</style></head><body>"
                + body + "".join(_script(s) for s in scripts) + "</body></html>")
    frame = (f'<div class="gpt2-attention-view" data-view="{kind}">'
             f'<iframe title="bertviz {kind} view" sandbox="allow-scripts" '
             f'style="width:100%;height:{height}px;border:0" srcdoc="{html.escape(document)}">'
             "</iframe></div>")
    return AttentionView(kind, frame, n_layer, n_head, n_tokens, assets is not None)


def _check_tokens(tokens: Sequence[str], n_tokens: int) -> list[str]:
    labels = visible_tokens(tokens)
    if len(labels) != n_tokens:
        raise ValueError(f"got {len(labels)} tokens for attention over {n_tokens} positions; "
                         "give one token string per position")
    return labels


def head_view(attentions: Sequence[torch.Tensor], tokens: Sequence[str], layer: int | None = None,
              heads: Sequence[int] | None = None, batch_index: int = 0) -> AttentionView:
    """bertviz's head view: one layer's heads as lines from each token to the tokens it reads."""
    from bertviz import head_view as bertviz_head_view

    attn = for_bertviz(attentions, batch_index)
    n_layer, n_head, T = len(attn), attn[0].size(1), attn[0].size(-1)
    labels = _check_tokens(tokens, T)
    out = bertviz_head_view(attn, labels, layer=layer, heads=None if heads is None else list(heads),
                            prettify_tokens=False, html_action="return")
    return _page(out.data, "head", int(22.5 * T + 100), 1.0, n_layer, n_head, T, load_assets())


def model_view(attentions: Sequence[torch.Tensor], tokens: Sequence[str],
               display_mode: str = "light", batch_index: int = 0) -> AttentionView:
    """bertviz's model view: a thumbnail per layer and head; click one to enlarge it."""
    from bertviz import model_view as bertviz_model_view

    attn = for_bertviz(attentions, batch_index)
    n_layer, n_head, T = len(attn), attn[0].size(1), attn[0].size(-1)
    labels = _check_tokens(tokens, T)
    out = bertviz_model_view(attn, labels, display_mode=display_mode, prettify_tokens=False,
                             html_action="return")
    # bertviz draws 970 px wide; 0.85 fits the notebook's ~850 px column
    thumbnail = T * 7 * 12 / n_head + 10
    height = max(n_layer * thumbnail + 38, T * 18 + 55) * 0.85 + 40
    return _page(out.data, "model", int(height), 0.85, n_layer, n_head, T, load_assets())


class _NeuronModel:
    """What bertviz's neuron view calls: `model(ids)[-1]` is per-layer attn/queries/keys."""

    def __init__(self, model) -> None:
        self.model = model

    def eval(self):
        return self

    def __call__(self, idx: torch.Tensor):
        layers = queries_and_keys(self.model, idx)
        return (None, [{name: t.double().round(decimals=DECIMALS) for name, t in layer.items()}
                       for layer in layers])


class _FixedTokens:
    """What bertviz's neuron view asks of a tokenizer, for tokens that are already made."""

    def __init__(self, tokens: list[str], ids: list[int]) -> None:
        self.tokens, self.ids = tokens, ids

    def tokenize(self, _text: str) -> list[str]:
        return self.tokens

    def convert_tokens_to_ids(self, _tokens: list[str]) -> list[int]:
        return self.ids


def neuron_view(model, idx: torch.Tensor, tokens: Sequence[str], layer: int = 0, head: int = 0,
                display_mode: str = "light") -> AttentionView:
    """bertviz's neuron view: one head's query and key vectors, q x k, and the softmax.

    idx is (1, T) or (T,) token ids; tokens one string per position (the view's labels)."""
    from bertviz.neuron_view import show

    idx = torch.as_tensor(idx)
    idx = idx[None] if idx.dim() == 1 else idx
    if idx.dim() != 2 or idx.size(0) != 1:
        raise ValueError(f"idx must be one sequence, (T,) or (1, T), got {tuple(idx.shape)}")
    T = idx.size(1)
    labels = _check_tokens(tokens, T)
    cfg = model.config
    if not (0 <= layer < cfg.n_layer and 0 <= head < cfg.n_head):
        raise ValueError(f"layer must be in 0..{cfg.n_layer - 1} and head in 0..{cfg.n_head - 1}, "
                         f"got layer={layer}, head={head}")
    out = show(_NeuronModel(model), "gpt2", _FixedTokens(labels, idx[0].tolist()), "".join(labels),
               display_mode=display_mode, layer=layer, head=head, html_action="return")
    return _page(out.data, "neuron", int(26 * T + 150), 0.85, cfg.n_layer, cfg.n_head, T,
                 load_assets())
