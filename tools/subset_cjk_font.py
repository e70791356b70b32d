"""Make the Chinese edition's font: a subset of Noto Sans CJK SC (SIL OFL 1.1) shipped in
helpers/viz/fonts/, so that figures need no system font.

    python tools/subset_cjk_font.py [folder holding NotoSansCJK-Regular.ttc and -Bold.ttc]

The source is Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk), needed only to run this
tool. The regular face keeps the 3,755 common characters of GB 2312 level 1, CJK and full-width
punctuation, and every character of the diagrams' and plots' Chinese labels (so a learner's own Chinese
labels render too); the bold face, used by the diagrams' titles, keeps the labels' characters
and the punctuation. A test (tests/test_zh.py) fails when a label needs a character the font
lacks, and names this tool.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.viz.fonts import CJK_FAMILY, CJK_FONT, CJK_FONT_BOLD  # noqa: E402
from helpers.viz.labels_zh import LABELS_ZH, PLOT_TEXTS_ZH  # noqa: E402

SOURCE = Path("/usr/share/fonts/opentype/noto")
SC = "Noto Sans CJK SC"


def gb2312_level1() -> str:
    """The 3,755 characters of GB 2312 level 1 (rows 16-55), the most common hanzi."""
    chars = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.append(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(chars)


def wanted(common: bool) -> str:
    """Every character a face keeps: the labels' and the punctuation, and if `common` the 3,755
    common hanzi as well."""
    punctuation = "".join(chr(c) for c in range(0x3000, 0x3040))  # CJK symbols and punctuation
    fullwidth = "".join(chr(c) for c in range(0xFF01, 0xFF5F))  # ，：；！？（）…
    labels = "".join(LABELS_ZH.values()) + "".join(PLOT_TEXTS_ZH.values())
    chars = punctuation + fullwidth + labels + "“”‘’…—·" + (gb2312_level1() if common else "")
    return "".join(sorted(set(chars)))


def subset_face(source: Path, target: Path, common: bool) -> None:
    """Write the SC face of the collection `source`, cut down to wanted(common), to `target`."""
    collection = TTCollection(str(source))
    font = next(f for f in collection.fonts if f["name"].getDebugName(1) == SC)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.layout_features = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=wanted(common))
    subsetter.subset(font)
    # a modified version gets its own name (OFL 1.1, condition 3)
    weight = font["name"].getDebugName(2)  # "Regular" or "Bold"
    for record in font["name"].names:
        if record.nameID in (1, 16):
            record.string = CJK_FAMILY
        elif record.nameID in (3, 4):
            record.string = f"{CJK_FAMILY} {weight}"
        elif record.nameID == 6:
            record.string = f"{CJK_FAMILY.replace(' ', '')}-{weight}"
    font.save(str(target))
    print(f"{target.relative_to(ROOT)}: {len(wanted(common))} characters, "
          f"{target.stat().st_size / 1e6:.2f} MB")


def main(folder: Path = SOURCE) -> None:
    subset_face(folder / "NotoSansCJK-Regular.ttc", CJK_FONT, common=True)
    subset_face(folder / "NotoSansCJK-Bold.ttc", CJK_FONT_BOLD, common=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
