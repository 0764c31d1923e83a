"""matplotlib for files: the Agg backend (no display), PNG bytes."""
import io


def pyplot():
    """matplotlib's pyplot on the Agg backend (files, no display)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def figure_png(fig, dpi: int = 110) -> bytes:
    """A figure as PNG bytes; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format='png')
    pyplot().close(fig)
    return buf.getvalue()
