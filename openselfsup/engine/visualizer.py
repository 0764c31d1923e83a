"""The run's visualiser, its matplotlib figure made when it first draws.

MMEngine's ``Visualizer`` makes a figure (importing matplotlib's figure
and Agg canvas: some 150 modules, 0.6-1.1 s of a cold start on a 2-core
machine) every time a runner is built, to draw images on. A training run
of this project draws none (the configs' ``VisualizationHook`` is off):
its visualiser only hands scalars and the config to the backends
(TensorBoard, the local JSON log). :class:`LazyFigureVisualizer` is
mmpretrain's ``UniversalVisualizer`` whose figure, axes, canvas and dpi
are made the first time one of them is read; everything it draws is
drawn as mmpretrain's draws it.
"""
from mmpretrain.visualization import UniversalVisualizer

from ..registry import VISUALIZERS

#: the attributes MMEngine's ``Visualizer.__init__`` sets from the figure
#: it makes (``_initialize_fig`` and the figure's dpi)
_FIGURE_ATTRIBUTES = ('fig_save_canvas', 'fig_save', 'ax_save', 'dpi')


class _NoFigureYet:
    """What ``_initialize_fig`` hands MMEngine's ``__init__`` in place of
    the figure: it reads the figure's dpi right after."""

    @staticmethod
    def get_dpi():
        return None


@VISUALIZERS.register_module()
class LazyFigureVisualizer(UniversalVisualizer):
    """mmpretrain's ``UniversalVisualizer`` (the same arguments), whose
    saving figure (``fig_save``, ``ax_save``, ``fig_save_canvas``,
    ``dpi``) is made from ``fig_save_cfg`` when one of them is first read:
    a run that draws nothing imports no matplotlib figure."""

    def __init__(self, name: str = 'visualizer', *args, **kwargs):
        self._figure_deferred = True
        super().__init__(name, *args, **kwargs)
        self._figure_deferred = False
        for name in _FIGURE_ATTRIBUTES:  # read through __getattr__
            self.__dict__.pop(name, None)

    def _initialize_fig(self, fig_cfg) -> tuple:
        if self.__dict__.get('_figure_deferred'):
            return None, _NoFigureYet(), None
        return super()._initialize_fig(fig_cfg)

    def __getattr__(self, name: str):
        # only for attributes not found the usual way: the figure's, until
        # it is made
        if name not in _FIGURE_ATTRIBUTES or \
                'fig_save_cfg' not in self.__dict__:
            raise AttributeError(
                f'{type(self).__name__!r} object has no attribute {name!r}')
        canvas, figure, axes = super()._initialize_fig(self.fig_save_cfg)
        self.__dict__.update(fig_save_canvas=canvas, fig_save=figure,
                             ax_save=axes, dpi=figure.get_dpi())
        return self.__dict__[name]
