"""The bundled font of every PDF the registry issues (the attachment notice, the medical book) covers Kazakh."""

from __future__ import annotations

from emhana.notify.pdf import FONTS


def test_the_bundled_font_covers_every_kazakh_letter() -> None:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fpdf2 depends on fontTools

    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        with TTFont(FONTS / name) as font:
            cmap = font.getBestCmap()
            assert all(ord(c) in cmap for c in "әғқңөұүһіӘҒҚҢӨҰҮҺІ")
    assert (FONTS / "LICENSE-DejaVu.txt").read_text(encoding="utf-8").count("Bitstream") > 0
