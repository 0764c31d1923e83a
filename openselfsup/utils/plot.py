"""matplotlib for files: figures on the Agg canvas (no display), PNG bytes.

Without pyplot: a figure drawn only to be written needs no figure manager
nor backend switch (``matplotlib.use('Agg')`` set the backend of the whole
process, a user's own pyplot figures included), and pyplot's import is
spared (a few hundredths of a second: ``Figure`` needs the rest of
matplotlib, ~0.3 s of CPU, that pyplot's cumulative import time counted
too). matplotlib is imported on the first figure, not with this module:
a command that writes no PNG never imports it.
"""
import io

#: the keywords of ``pyplot.subplots`` that lay out the axes; the others
#: are the figure's (``figsize``, ``dpi``, ...)
_AXES_KEYWORDS = ('sharex', 'sharey', 'squeeze', 'width_ratios',
                  'height_ratios', 'subplot_kw', 'gridspec_kw')


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
    """``matplotlib.pyplot.subplots(nrows, ncols, **kwargs)`` without
    pyplot: ``(fig, axes)``, the figure on the Agg canvas, drawn the same
    (the same rcParams, the same PNG bytes through :func:`figure_png`).

    Args:
        nrows (int), ncols (int): the grid of axes.
        **kwargs: ``pyplot.subplots``' axes keywords (``sharey``,
            ``squeeze``, ...) and the figure's (``figsize``, ``dpi``);
            not pyplot's figure-manager keywords (``num``, ``clear``,
            ``FigureClass``: there is no manager), which the figure
            refuses.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    axes_kw = {k: kwargs.pop(k) for k in _AXES_KEYWORDS if k in kwargs}
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **axes_kw)


def colormap(name: str):
    """matplotlib's registered colormap ``name`` (``pyplot.get_cmap``'s)."""
    import matplotlib
    return matplotlib.colormaps[name]


def figure_png(fig, dpi: int = 110, title: str = '') -> bytes:
    """A figure as PNG bytes. ``title``, when given, is also the PNG's
    ``Title`` text (what image viewers and file indexes show without
    drawing the image)."""
    buf = io.BytesIO()
    # the drawn extent, not the figure's size: a legend wider than the
    # figure (a one-domain summary's four columns in its 4 inches) was cut
    fig.savefig(buf, dpi=dpi, format='png', bbox_inches='tight',
                metadata={'Title': title} if title else None)
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
