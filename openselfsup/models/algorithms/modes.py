"""Which of MMEngine's forward modes (``'tensor'``, ``'loss'``,
``'predict'``) a model class has, by its class alone, without building it:
the validation and test loops of MMEngine's runner call ``'predict'``."""
import inspect


def lacks_predict_mode(cls) -> bool:
    """Whether the model class ``cls`` (a class, or anything else: False)
    has no ``'predict'`` mode for certain: its ``forward`` is mmpretrain's
    ``BaseSelfSupervisor.forward`` itself, inherited unchanged, which takes
    ``'tensor'`` and ``'loss'`` alone and raises ``RuntimeError: Invalid
    mode "predict"`` for the rest (the CLP ``MoCoV3``, ``HLSS`` / HiDisc,
    mmpretrain's self-supervisors). A class that writes its own
    ``forward`` (``BalancedCrossModal``; a user's subclass adding a
    predict mode) or that is no self-supervisor (mmpretrain's
    ``ImageClassifier``, FSP's) is not judged: False, so that no class
    that can predict is ever said to lack the mode."""
    from mmpretrain.models.selfsup.base import BaseSelfSupervisor
    return (inspect.isclass(cls) and issubclass(cls, BaseSelfSupervisor)
            and cls.forward is BaseSelfSupervisor.forward)
