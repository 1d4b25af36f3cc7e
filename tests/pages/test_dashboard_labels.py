"""The Fund's dashboard labels: long names wrap instead of being cut, and refusal reasons are named by their
message in the page's language, whatever error an automatic refusal counted."""

from __future__ import annotations

import re

import pytest

from emhana.kernel import errors
from emhana.pages.attachment.charts import bar_chart, wrap_label
from emhana.pages.attachment.views import AttachmentLabels, error_messages

LONG = (
    "Коммунальное государственное предприятие на праве хозяйственного ведения «Городская поликлиника №5» "
    "управления общественного здравоохранения акимата города Астаны → ТОО «Денсаулык»"
)


def test_a_long_label_wraps_whole_onto_lines_that_fit() -> None:
    lines = wrap_label(LONG, 720)
    assert len(lines) >= 2 and " ".join(lines) == LONG
    assert all(len(line) * 7.6 <= 720 for line in lines)
    svg = str(bar_chart([(LONG, 12), ("short", 3)], title="Flows"))
    spans = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg)
    assert " ".join(spans[:-1]) == LONG and "…" not in svg
    heights = [float(h) for h in re.findall(r'viewBox="0 0 720 ([\d.]+)"', svg)]
    bars = [float(y) for y in re.findall(r'<rect class="bar" x="0" y="([\d.]+)"', svg)]
    assert bars[1] > bars[0] + 15 * len(lines) and heights[0] >= bars[1] + 16  # rows do not overlap


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_every_refusal_code_is_named_never_shown(lang: str) -> None:
    labels = AttachmentLabels(lang)
    assert errors.AlreadyAttached.code in error_messages()
    for code in [*error_messages(), "attachment.no_longer_exists"]:
        label = labels.reason(code)
        assert label and code not in label and "{" not in label, (code, label)
    assert labels.reason("attachment.already_attached") != labels.reason("attachment.capacity_exceeded")
