"""Server-rendered SVG bar charts (no script): the geometry is worked out here, the template draws it
(templates/analytics/_bar_chart.html) with its data table beside it for screen readers and for reading exact
values. A bar resting on fewer deliveries than the minimum sample is drawn pale and labelled so."""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH = 640
LABEL_WIDTH = 170
VALUE_WIDTH = 150
BAR_HEIGHT = 22
GAP = 8
TOP = 8


@dataclass
class Bar:
    label: str
    value: float | None
    n: int
    enough: bool
    y: int = 0
    width: float = 0.0
    value_label: str = ""

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT // 2 + 5


@dataclass
class BarChart:
    chart_id: str
    title: str
    description: str
    value_heading: str
    bars: list[Bar] = field(default_factory=list)
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def height(self) -> int:
        return TOP * 2 + len(self.bars) * (BAR_HEIGHT + GAP)

    @property
    def plot_left(self) -> int:
        return LABEL_WIDTH


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    value_heading: str,
    rows: list[tuple[str, float | None, int]],
    minimum: int,
    decimals: int = 1,
) -> BarChart:
    """Builds a horizontal bar chart of (label, value, sample size) rows; a None value draws no bar."""
    chart = BarChart(chart_id=chart_id, title=title, description=description, value_heading=value_heading)
    largest = max((value for _label, value, _n in rows if value is not None), default=0.0) or 1.0
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    for index, (label, value, n) in enumerate(rows):
        bar = Bar(label=label, value=value, n=n, enough=n >= minimum, y=TOP + index * (BAR_HEIGHT + GAP))
        if value is not None:
            bar.width = round(max(0.0, value) / largest * plot, 1)
            bar.value_label = f"{value:,.{decimals}f} (n={n})"
        else:
            bar.value_label = f"– (n={n})"
        chart.bars.append(bar)
    return chart
