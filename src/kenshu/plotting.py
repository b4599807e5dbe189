"""Matplotlib set up for Japanese labels, with the bundled IPAex Gothic font.

``matplotlib-fontja`` ships IPAex Gothic and registers it on import; this
module makes that the default family and can check that a text's glyphs are
really in the font matplotlib resolves, so that labels never render as empty
boxes.
"""

from __future__ import annotations

import matplotlib
import matplotlib_fontja  # registers IPAex Gothic with matplotlib's font manager on import
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

JAPANESE_FONT_FAMILY = "IPAexGothic"


def use_japanese_font() -> str:
    """Make IPAex Gothic the default font family and return the path of the font file it resolves to."""
    matplotlib_fontja.japanize()
    matplotlib.rcParams["font.family"] = [JAPANESE_FONT_FAMILY, "sans-serif"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return font_manager.findfont(font_manager.FontProperties(family=JAPANESE_FONT_FAMILY), fallback_to_default=False)


def missing_glyphs(text: str, font_path: str | None = None) -> list[str]:
    """Return the characters of *text* that the font at *font_path* has no glyph for.

    With no *font_path*, the font that matplotlib resolves for the current
    default family is checked. Whitespace is ignored.
    """
    if font_path is None:
        font_path = font_manager.findfont(font_manager.FontProperties(family=matplotlib.rcParams["font.family"]))
    charmap = FT2Font(font_path).get_charmap()
    return sorted({character for character in text if not character.isspace() and ord(character) not in charmap})
