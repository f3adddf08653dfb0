"""Small PNG pictures made with Pillow: the check-in heatmap and the digest's bar chart."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from PIL import Image, ImageDraw, ImageFont

CELL, GAP = 12, 3
LEFT, TOP, PAD = 30, 18, 8
BACKGROUND = (43, 45, 49)
TEXT = (181, 186, 193)
EMPTY = (60, 63, 69)
FUTURE = (49, 51, 56)
GREENS = ((14, 68, 41), (0, 109, 50), (38, 166, 65), (57, 211, 83))
BAR = (88, 101, 242)
DAY_LABELS = {0: "Mon", 2: "Wed", 4: "Fri"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default()


def _shade(count: int) -> tuple[int, int, int]:
    if count <= 0:
        return EMPTY
    return GREENS[min(count, len(GREENS)) - 1]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


def heatmap_png(counts: Mapping[date, int], today: date, weeks: int = 26) -> bytes:
    """A GitHub-style grid: one column per week (Monday on top), the last column this week."""
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    width = LEFT + weeks * (CELL + GAP) + PAD
    height = TOP + 7 * (CELL + GAP) + PAD
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = _font()
    for row, label in DAY_LABELS.items():
        draw.text((4, TOP + row * (CELL + GAP)), label, fill=TEXT, font=font)
    last_month = None
    for column in range(weeks):
        week_start = first + timedelta(weeks=column)
        x = LEFT + column * (CELL + GAP)
        if week_start.month != last_month and column < weeks - 1:
            draw.text((x, 3), week_start.strftime("%b"), fill=TEXT, font=font)
            last_month = week_start.month
        for row in range(7):
            day = week_start + timedelta(days=row)
            y = TOP + row * (CELL + GAP)
            colour = FUTURE if day > today else _shade(counts.get(day, 0))
            draw.rectangle((x, y, x + CELL - 1, y + CELL - 1), fill=colour)
    return _png(image)


def week_chart_png(per_day: Sequence[int]) -> bytes:
    """Check-ins on each day of a week, Monday to Sunday, as bars with their counts."""
    width, height = 380, 170
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = _font()
    top, bottom, left = 22, height - 22, 16
    slot = (width - 2 * left) / 7
    highest = max(max(per_day, default=0), 1)
    for index, value in enumerate(per_day[:7]):
        x0 = left + index * slot + slot * 0.2
        x1 = left + (index + 1) * slot - slot * 0.2
        bar_top = bottom - (bottom - top) * value / highest
        if value:
            draw.rectangle((x0, bar_top, x1, bottom), fill=BAR)
        draw.text((x0, bar_top - 13), str(value), fill=TEXT, font=font)
        draw.text((x0, bottom + 5), WEEKDAYS[index], fill=TEXT, font=font)
    draw.line((left, bottom, width - left, bottom), fill=TEXT)
    return _png(image)
