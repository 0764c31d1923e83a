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
