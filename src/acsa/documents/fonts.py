"""Fonts for the PDF documents.

Latin text uses DejaVu Sans, which matplotlib ships; Japanese text uses IPAexGothic, a
TrueType font that the PyPI package `japanize-matplotlib` ships (IPA Font License). Both are
installed by `pip install acsa`, so nothing is fetched at run time and no system font is
needed. ReportLab embeds the subset it uses in each PDF, so extracted text round-trips.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from acsa.errors import AcsaError

LATIN = "DejaVuSans"
LATIN_BOLD = "DejaVuSans-Bold"
JAPANESE = "IPAexGothic"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # does not import the package
    if spec is None or not spec.submodule_search_locations:
        raise AcsaError(f"the font package {name!r} is not installed",
                        hint="Reinstall acsa: pip install -e .")
    return Path(next(iter(spec.submodule_search_locations)))


def font_files() -> dict[str, Path]:
    mpl = _package_dir("matplotlib") / "mpl-data" / "fonts" / "ttf"
    return {LATIN: mpl / "DejaVuSans.ttf", LATIN_BOLD: mpl / "DejaVuSans-Bold.ttf",
            JAPANESE: _package_dir("japanize_matplotlib") / "fonts" / "ipaexg.ttf"}


@functools.cache
def register() -> None:
    """Register the fonts with ReportLab once per process."""
    for name, path in font_files().items():
        if not path.exists():
            raise AcsaError(f"font file missing: {path}", hint="Reinstall acsa.")
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(LATIN, normal=LATIN, bold=LATIN_BOLD, italic=LATIN,
                                  boldItalic=LATIN_BOLD)


def font_for(lang: str) -> str:
    """The body font for a document in English plus `lang` ('ja' needs the CJK font; IPAex
    also covers Latin, so a bilingual Japanese form uses it throughout)."""
    register()
    return JAPANESE if lang == "ja" else LATIN
