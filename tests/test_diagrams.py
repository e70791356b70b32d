"""Diagrams: drawn from one label table (so an edition in another language is a table edit), no
text over another, all inside the figure, readable sizes, in normal and projector mode, in the
English edition and the Chinese one (its table, LABELS_ZH, chosen by the language setting)."""

import re
import warnings

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from helpers import viz
from helpers.language import set_language
from helpers.viz import LABELS, token_label
from helpers.viz.labels_zh import LABELS_ZH

TABLES = {"en": LABELS, "zh": LABELS_ZH}

# every diagram, with example tokens of our own where it takes some (they may be drawn as well)
CASES = {
    "diagram_objectives": dict(tokens=("the", "cat", "sat", "on", "mats")),
    "diagram_qkv": dict(tokens=("the", "cat", "sat")),
    "diagram_masked_attention": {},
    "diagram_heads": {},
    "diagram_decoder_block": {},
    "diagram_gpt2": {},
    "diagram_sampling": dict(next_token=" fox"),
    "diagram_kv_cache": dict(tokens=("the", "robot", "must", "obey", "orders")),
    "diagram_induction": dict(tokens=("…", "Mr", "Dursley", "was", "Mr")),
}


def _tokens(kwargs: dict) -> set[str]:
    given = list(kwargs.get("tokens", ())) + ([kwargs["next_token"]] if "next_token" in kwargs else [])
    return {token_label(t) for t in given}


def _draw(name: str, labels=None):
    """(figure, its texts with words, renderer): the diagram drawn once, warnings as errors."""
    fig = getattr(viz, name)(**CASES[name], labels=labels)
    canvas = FigureCanvasAgg(fig)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        canvas.draw()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return fig, texts, canvas.get_renderer()


@pytest.fixture(params=sorted(TABLES))
def edition(request):
    """The edition's language set for one test ("en", then "zh"), and English again after."""
    set_language(request.param)
    yield request.param
    set_language("en")


@pytest.fixture
def projector():
    """Projector mode on for one test, and off again whatever happens."""
    viz.set_projector_mode(True)
    yield
    viz.set_projector_mode(False)


@pytest.mark.parametrize("name", CASES)
def test_each_diagram_is_a_figure_of_the_notebooks_width(name, edition):
    fig, texts, _ = _draw(name)
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() <= viz.FIG_WIDTH
    assert 2.5 <= fig.get_figheight() <= 5.0
    assert texts  # it says something


@pytest.mark.parametrize("name", CASES)
def test_every_text_comes_from_the_table_or_the_tokens(name, edition):
    _, texts, _ = _draw(name)
    allowed = set(TABLES[edition].values()) | _tokens(CASES[name])
    allowed |= {v.format(token=t) for v in TABLES[edition].values() if "{token}" in v
                for t in _tokens(CASES[name])}  # a label that names a token ("of “it”")
    assert [t.get_text() for t in texts if t.get_text() not in allowed] == []
    drawn = {t.get_text() for t in texts}
    assert _tokens(CASES[name]) <= drawn  # the tokens passed in are the ones drawn


def _numbered_table() -> dict[str, str]:
    """Every label replaced by a number in angle brackets: no letter of any language."""
    return {key: f"⟨{i}⟩" for i, key in enumerate(LABELS)}


def _keys_drawn(name: str) -> set[str]:
    table = _numbered_table()
    key_of = {v: k for k, v in table.items()}
    _, texts, _ = _draw(name, labels=table)
    others = [t.get_text() for t in texts if t.get_text() not in _tokens(CASES[name])]
    # nothing drawn but the table's texts: no English word is left anywhere
    assert [t for t in others if t not in key_of] == []
    assert not any(re.search(r"[A-Za-z]", t) for t in others)
    return {key_of[t] for t in others}


@pytest.mark.parametrize("name", CASES)
def test_another_table_changes_every_word(name):
    assert _keys_drawn(name)


def test_every_label_is_drawn_by_some_diagram():
    drawn = set().union(*(_keys_drawn(name) for name in CASES))
    assert sorted(set(LABELS) - drawn) == []  # no dead entry in the table


@pytest.mark.parametrize("name", CASES)
def test_a_table_missing_a_key_names_the_key_and_the_diagram(name):
    for key in sorted(_keys_drawn(name))[:3]:
        table = {k: v for k, v in LABELS.items() if k != key}
        with pytest.raises(KeyError) as error:
            getattr(viz, name)(**CASES[name], labels=table)
        assert key in str(error.value) and name in str(error.value)


def _check_layout(name: str) -> None:
    fig, texts, renderer = _draw(name)
    width, height = fig.bbox.width, fig.bbox.height
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    outside = [text for text, b in boxes
               if b.x0 < 0 or b.y0 < 0 or b.x1 > width or b.y1 > height]
    assert outside == []
    overlaps = [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:]
                if ba.overlaps(bb)]
    assert overlaps == []


@pytest.mark.parametrize("name", CASES)
def test_no_text_overlaps_another_and_all_lie_inside_the_figure(name, edition):
    _check_layout(name)


@pytest.mark.parametrize("name", CASES)
def test_projector_mode_neither_overlaps_nor_crops(name, edition, projector):
    _check_layout(name)


def _box_labels(fig, texts, renderer) -> list[Text]:
    """The texts centred in a rounded box (a box's label)."""
    from matplotlib.patches import FancyBboxPatch

    centres = []
    for patch in fig.findobj(FancyBboxPatch):
        if patch.get_figure() is fig and patch.axes is not None:  # not a text's own background
            e = patch.get_window_extent(renderer)
            centres.append(((e.x0 + e.x1) / 2, (e.y0 + e.y1) / 2))
    labels = []
    for t in texts:
        e = t.get_window_extent(renderer)
        x, y = (e.x0 + e.x1) / 2, (e.y0 + e.y1) / 2
        if any(abs(x - cx) < 3 and abs(y - cy) < 3 for cx, cy in centres):
            labels.append(t)
    return labels


@pytest.mark.parametrize("name", CASES)
def test_text_is_large_enough_and_grows_for_a_projector(name, edition):
    fig, texts, renderer = _draw(name)
    normal = min(t.get_fontsize() for t in texts)
    assert normal >= viz.ANNOTATION_SIZE
    labels = _box_labels(fig, texts, renderer)
    assert labels or name == "diagram_masked_attention"  # its pictures are grids, not boxes
    assert [t.get_text() for t in labels if t.get_fontsize() < viz.FONT_SIZE] == []
    viz.set_projector_mode(True)
    try:
        _, texts, _ = _draw(name)
    finally:
        viz.set_projector_mode(False)
    assert min(t.get_fontsize() for t in texts) > normal


def test_the_induction_pattern_must_repeat_a_token():
    with pytest.raises(ValueError, match="occur earlier"):
        viz.diagram_induction(tokens=("A", "B", "C"))


def test_the_chinese_table_has_every_key_and_translates_the_words():
    assert sorted(LABELS_ZH) == sorted(LABELS)
    words = [k for k, v in LABELS.items() if len(re.findall(r"(?<![.\w])[a-z]{3,}\b", v)) >= 2]
    # every English phrase became Chinese (code names such as c_proj may stay inside it)
    assert [k for k in words if not re.search(r"[\u4e00-\u9fff]", LABELS_ZH[k])] == []


def test_the_qkv_diagram_shows_only_weights_it_is_given():
    """A schematic shows no made-up numbers: plain weight cells by default, and the last
    token's real weights, written in their cells, when the notebook passes them."""
    def numbers(fig):
        return {t.get_text() for t in fig.findobj(Text) if re.fullmatch(r"\.\d\d", t.get_text())}

    assert numbers(viz.diagram_qkv(tokens=("a", "b", "c"))) == set()
    assert numbers(viz.diagram_qkv(tokens=("a", "b", "c"), weights=[0.5, 0.25, 0.25])) == {
        ".50", ".25"}
    with pytest.raises(ValueError, match="one weight per token"):
        viz.diagram_qkv(tokens=("a", "b", "c"), weights=[0.5, 0.5])


def test_the_heads_are_cut_from_c_attns_output_not_from_the_tokens_input(edition):
    """Notebook 05's misconception: "each head reads 64 of the token's 768 features". The
    diagram draws x -> c_attn -> q | k | v first; what is cut into heads is c_attn's output."""
    table = TABLES[edition]
    _, texts, _ = _draw("diagram_heads")
    y = {t.get_text(): t.get_position()[1] for t in texts}
    top = y[table["heads.x"]]
    assert top == y[table["heads.c_attn"]] == y[table["heads.q"]] == y[table["heads.k"]] \
        == y[table["heads.v"]]
    assert top > y[table["heads.qkv"]] > y[table["heads.split"]] > y[table["heads.head"]] \
        > y[table["heads.joined"]] > y[table["heads.c_proj"]]


def _boxes_and_labels(name: str):
    """(label text, its extent, the extent of the rounded box it is centred in) per box label."""
    from matplotlib.patches import FancyBboxPatch

    fig, texts, renderer = _draw(name)
    boxes = [p.get_window_extent(renderer) for p in fig.findobj(FancyBboxPatch)
             if p.get_figure() is fig and p.axes is not None]
    found = []
    for t in _box_labels(fig, texts, renderer):
        e = t.get_window_extent(renderer)
        x, y = (e.x0 + e.x1) / 2, (e.y0 + e.y1) / 2
        box = min((b for b in boxes if b.x0 <= x <= b.x1 and b.y0 <= y <= b.y1),
                  key=lambda b: b.width * b.height)
        found.append((t.get_text(), e, box))
    return found


@pytest.mark.parametrize("projector_on", [False, True], ids=["normal", "projector"])
def test_the_heads_diagrams_box_labels_fit_their_boxes(edition, projector_on):
    viz.set_projector_mode(projector_on)
    try:
        found = _boxes_and_labels("diagram_heads")
    finally:
        viz.set_projector_mode(False)
    assert found
    assert [text for text, e, box in found if e.width > box.width or e.height > box.height] == []
