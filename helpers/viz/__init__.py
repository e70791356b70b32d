"""Pictures (the second layer): one style, heatmaps of masks and attention, charts, and the
bertviz views. They import the model layer; the model never imports them.

Every plot function returns a matplotlib `Figure` made without pyplot's global state, so a
notebook shows it exactly once (as the cell's value) and nothing leaks between cells. Token
labels are drawn as plain text: `$` cannot start maths and nothing is read as HTML.

    from helpers.viz import figure, plot_attention, styled   # every figure from one place
"""

from helpers.viz.charts import (
    plot_beam_tree,
    plot_distribution,
    plot_kv_cache_memory,
    plot_loss,
    plot_lr_schedule,
    plot_query_attention,
    plot_temperature_comparison,
    plot_timings,
    plot_token_times,
)
from helpers.viz.diagrams import (
    LABELS,
    diagram_decoder_block,
    diagram_gpt2,
    diagram_heads,
    diagram_induction,
    diagram_kv_cache,
    diagram_masked_attention,
    diagram_objectives,
    diagram_qkv,
    diagram_sampling,
)
from helpers.viz.heatmap import plot_attention
from helpers.viz.masks import (
    mask_legend_handles,
    plot_attention_heads,
    plot_future_leak,
    plot_mask,
    plot_mask_gallery,
    plot_mask_stages,
)
from helpers.viz.piano_roll import plot_piano_roll
from helpers.viz.style import (
    ANNOTATION_SIZE,
    DPI,
    DROPPED_COLOR,
    FIG_WIDTH,
    FONT_SIZE,
    KEPT_COLOR,
    MASK_COLORS,
    MASKED_COLOR,
    SCORE_CMAP,
    VISIBLE_COLOR,
    WEIGHT_CMAP,
    figure,
    set_projector_mode,
    styled,
    token_label,
)

__all__ = [
    "ANNOTATION_SIZE", "DPI", "DROPPED_COLOR", "FIG_WIDTH", "FONT_SIZE", "KEPT_COLOR",
    "MASK_COLORS", "MASKED_COLOR", "SCORE_CMAP", "VISIBLE_COLOR", "WEIGHT_CMAP",
    "figure", "set_projector_mode", "styled", "token_label",
    "plot_attention", "plot_attention_heads", "plot_future_leak", "plot_mask",
    "plot_mask_gallery", "plot_mask_stages", "mask_legend_handles",
    "plot_beam_tree", "plot_distribution", "plot_kv_cache_memory", "plot_loss",
    "plot_lr_schedule", "plot_query_attention", "plot_temperature_comparison", "plot_timings",
    "plot_token_times", "plot_piano_roll",
    "LABELS", "diagram_objectives", "diagram_qkv", "diagram_masked_attention", "diagram_heads",
    "diagram_decoder_block", "diagram_gpt2", "diagram_sampling", "diagram_kv_cache",
    "diagram_induction",
]
