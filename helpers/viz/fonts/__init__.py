"""The font the Chinese edition's figures use: a subset of Noto Sans CJK SC (SIL Open Font
License 1.1, OFL.txt here), made by tools/subset_cjk_font.py and shipped with the package, so a
figure's Chinese labels never depend on a system font (and never come out as empty boxes)."""

from __future__ import annotations

from pathlib import Path

CJK_FONT = Path(__file__).with_name("NotoSansCJKsc-Subset.otf")
CJK_FONT_BOLD = Path(__file__).with_name("NotoSansCJKsc-Subset-Bold.otf")  # the labels' characters
CJK_FAMILY = "Noto Sans CJK SC Subset"


def register_cjk_font() -> str:
    """Add the shipped CJK font to matplotlib's font list (once) and return its family name."""
    from matplotlib import font_manager

    if not any(f.name == CJK_FAMILY for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(CJK_FONT))
        font_manager.fontManager.addfont(str(CJK_FONT_BOLD))
    return CJK_FAMILY
