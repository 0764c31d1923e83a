"""Entry points used by the scripts under tools/ and wsi_workdir/.

:func:`train` is imported with the package (its module loads the config
tools alone: ``tools/train.py`` checks the config and the command line
before it imports the model stack, so a mistyped path or option is reported
in about a second, not after the ~8 s import of torch, mmpretrain and
scipy); the other entry points are imported when first used.
"""
from ..utils.lazy import lazy_getattr
from .train import train  # noqa: F401

#: entry point -> the module of this package that defines it (names that
#: differ from their module's: the module never shadows the function)
_LAZY = {'run_balance_sweep': 'balance_sweep',
         'knn_eval_checkpoint': 'knn', 'summarize_knn': 'knn_summary'}

__all__ = ['train', *_LAZY]
__getattr__ = lazy_getattr(__name__, _LAZY)
