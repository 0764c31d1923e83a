"""matplotlib for files: the Agg backend (no display), PNG bytes."""
import io


def pyplot():
    """matplotlib's pyplot on the Agg backend (files, no display)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def figure_png(fig, dpi: int = 110, title: str = '') -> bytes:
    """A figure as PNG bytes; the figure is closed. ``title``, when given,
    is also the PNG's ``Title`` text (what image viewers and file indexes
    show without drawing the image)."""
    buf = io.BytesIO()
    # the drawn extent, not the figure's size: a legend wider than the
    # figure (a one-domain summary's four columns in its 4 inches) was cut
    fig.savefig(buf, dpi=dpi, format='png', bbox_inches='tight',
                metadata={'Title': title} if title else None)
    pyplot().close(fig)
    return buf.getvalue()


def bars_within(values, halves, low: float, high: float):
    """Error bars ``values`` +- ``halves`` cut at an axis of ``[low,
    high]`` (matplotlib draws a bar beyond the axis off it, without a
    word: a 2-seed mean's 95% half-width of 112 points on a 0-100 axis):
    ``(below, above, cut)``, the lengths to draw under and over each
    value (``yerr=[below, above]``) and whether each bar was cut. A nan
    half-width stays nan (no bar)."""
    below = [min(h, v - low) if h == h else h for v, h in zip(values, halves)]
    above = [min(h, high - v) if h == h else h
             for v, h in zip(values, halves)]
    cut = [h == h and (h > v - low or h > high - v)
           for v, h in zip(values, halves)]
    return below, above, cut
