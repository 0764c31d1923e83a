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
    fig.savefig(buf, dpi=dpi, format='png',
                metadata={'Title': title} if title else None)
    pyplot().close(fig)
    return buf.getvalue()
