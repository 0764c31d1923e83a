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


def fails_validation(cls) -> bool:
    """Whether MMEngine's own ``ValLoop`` stops on a model of the class
    ``cls`` for certain: its ``val_step`` is MMEngine's ``BaseModel.
    val_step`` unchanged, which calls ``forward`` in mode ``'predict'``,
    and it has no such mode (:func:`lacks_predict_mode`). A class that
    writes its own ``val_step`` (a user's ``MoCoV3`` whose validation
    reads ``extract_feat``) validates as it says: False."""
    from mmengine.model import BaseModel
    return lacks_predict_mode(cls) and cls.val_step is BaseModel.val_step
