"""Issue 16, charts: on the city's dashboard the readiness chart draws its two lines apart (colour
and dash), with a legend saying why they differ, at an office PC's width and a phone's, in both
languages, without sideways scrolling. Screenshots go to test-artifacts/screenshots/."""
from itertools import pairwise

import pytest

from tests.browser.conftest import ARTIFACTS, NARROW, WIDE, login, no_horizontal_overflow

WHY = {"vi": ("tính theo tỷ trọng khối lượng công việc", "lớn hay nhỏ đều tính như nhau"),
       "en": ("counts by its share of the work", "counts as one task, large or small")}
NOT_STARTED = {"vi": "chưa bắt đầu", "en": "not started"}

LINES = """() => [...document.querySelectorAll('#readiness-over-time svg polyline.line')].map(line => {
  const style = getComputedStyle(line);
  const box = line.getBoundingClientRect();
  return {kind: line.getAttribute('class'), stroke: style.stroke, dash: style.strokeDasharray,
          points: line.getAttribute('points').trim().split(/\\s+/).length, width: box.width};
})"""


def colour_distance(one: str, other: str) -> float:
    """How far apart two computed colours ("rgb(31, 78, 140)") are, in RGB."""
    a, b = ([int(v) for v in c[c.index("(") + 1:c.index(")")].split(",")[:3]] for c in (one, other))
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_readiness_chart_lines_legend_and_width(new_page, width, lang):
    page = new_page(width)
    login(page, "thanhuy.vanphong")
    page.goto(f"/lang/{lang}?next=/dashboard")
    page.goto("/dashboard")
    lines = page.evaluate(LINES)
    kinds = {line["kind"]: line for line in lines}
    assert set(kinds) == {"line line-recorded", "line line-derived"}, lines
    recorded, derived = kinds["line line-recorded"], kinds["line line-derived"]
    # two colours, and apart without colour too: one solid, one dashed
    assert colour_distance(recorded["stroke"], derived["stroke"]) > 120, lines  # not two blues
    assert recorded["dash"] in ("none", "") and derived["dash"] not in ("none", ""), lines
    # the recorded line is a curve of every night from 1/7 to 5/8: as long as the history's line
    assert recorded["points"] == derived["points"] == 36, lines
    assert recorded["width"] > 100 and abs(recorded["width"] - derived["width"]) < 2, lines
    # the legend: each line's swatch in its line's colour, and a sentence on why they differ
    legend = page.locator("#readiness-over-time .dash-legend")
    text = legend.inner_text()
    assert all(words in text for words in WHY[lang]), text
    swatches = page.evaluate("""() => ['recorded', 'derived'].map(kind =>
        getComputedStyle(document.querySelector('#readiness-over-time .swatch-' + kind)).borderTopColor)""")
    assert swatches == [recorded["stroke"], derived["stroke"]]
    assert NOT_STARTED[lang] in page.locator("#headline-in-progress").inner_text()
    # the days under the axis (Mondays) do not run into each other ("11 Aug18 Aug")
    for chart in (".dash-chart:nth-child(1)", "#readiness-over-time", ".dash-chart:nth-child(3)"):
        boxes = page.evaluate("""chart => [...document.querySelectorAll(chart + ' svg .axis text[text-anchor=middle]')]
            .map(t => { const b = t.getBoundingClientRect(); return [b.left, b.right]; })""", chart)
        assert len(boxes) >= 3 and all(a[1] + 2 <= b[0] for a, b in pairwise(boxes)), (chart, boxes)
    assert no_horizontal_overflow(page), f"the dashboard scrolls sideways at {width}px"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#readiness-over-time").screenshot(path=str(ARTIFACTS / f"readiness-chart-{lang}-{width}.png"))
    page.locator(".dash-summary").screenshot(path=str(ARTIFACTS / f"dashboard-summary-{lang}-{width}.png"))
