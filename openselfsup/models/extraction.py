"""The one feature-extraction loop: a model over a data loader, in order.

Used by low-shot extraction (:mod:`openselfsup.apis.extract`) and by the
kNN evaluation during and after training (:mod:`openselfsup.evaluation.knn`).
The model is an mmpretrain-style algorithm with a ``data_preprocessor`` and
``extract_feat``; the loader yields ``{'inputs', 'data_samples'}`` batches.
"""
from typing import Dict, Optional, Tuple

import numpy as np
import torch


def autocast_dtype(device: str) -> torch.dtype:
    """What ``amp`` autocasts to on ``device``: float16 on CUDA, bfloat16
    elsewhere."""
    return torch.float16 if torch.device(device).type == 'cuda' \
        else torch.bfloat16


def extraction_precision(device: str, amp: bool) -> str:
    """The precision features are computed at, as the provenance records
    it (``precision``): ``'float32'``, or with ``amp`` the autocast
    dtype on ``device`` (:func:`autocast_dtype`), e.g. ``'bfloat16'``."""
    if not amp:
        return 'float32'
    return str(autocast_dtype(device)).replace('torch.', '')


def precision_fields(device: str, amp: bool) -> Dict:
    """What a set's provenance records of the precision its features are
    computed at: ``precision`` (:func:`extraction_precision`) and, float32
    on CUDA, ``tf32: False``: :func:`compute_features` runs it without
    TF32 (:class:`~openselfsup.utils.precision.Ieee32`, since 7c43fa97;
    before, cuDNN's default TF32 convolutions ran). A CUDA float32 set
    recorded without the field is taken for one of those, which
    ``--reuse`` extracts again (:func:`~openselfsup.lowshot.features.
    ran_tf32`): conservative, as the sets extracted between 7c43fa97 and
    a1ab2a73, which wrote the field first (2026-12-06), ran true float32
    without it and cannot be told apart (review r169). No field on
    the CPU (no TF32 there) nor with ``amp`` (autocast's float16 inputs
    are not TF32's to round): their records as before."""
    fields = dict(precision=extraction_precision(device, amp))
    if not amp and torch.device(device).type == 'cuda':
        fields['tf32'] = False
    return fields


@torch.no_grad()
def compute_features(model: torch.nn.Module, loader,
                     device: str = 'cpu', amp: bool = False,
                     channels_last: bool = False, progress: bool = True,
                     desc: str = 'extract', with_labels: bool = True
                     ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Run ``model`` over every batch of ``loader`` in order.

    The model is put in eval mode (and back to its previous mode after).

    Args:
        model (nn.Module): the (unwrapped) model, already on ``device``.
        loader: batches of ``{'inputs', 'data_samples'}``.
        device (str): where the model runs, for autocast.
        amp (bool): autocast to float16 (CUDA) / bfloat16 (CPU); features
            are returned as float32 either way.
        channels_last (bool): channels-last input memory format.
        progress (bool): show a progress bar.
        desc (str): the progress bar's label.
        with_labels (bool): also collect ``gt_label`` of every sample.

    Returns:
        tuple: features ``float32 [N, D]`` (the last stage's output,
        flattened) and labels ``int64 [N]`` (None without ``with_labels``).
    """
    from ..utils.precision import Ieee32
    from ..utils.progress import progress_bar
    was_training = model.training
    model.eval()
    feats, labels = [], []
    dev_type = torch.device(device).type
    amp_dtype = autocast_dtype(device)
    # float32 is float32 (the published extraction, on V100s): torch's
    # default TF32 for cuDNN's convolutions set aside; autocast's float16
    # or bfloat16 inputs are not TF32's to round
    try:
        with Ieee32(None if amp else dev_type):
            for batch in progress_bar(loader, desc=desc, unit='batch',
                                      leave=False, disable=not progress):
                data = model.data_preprocessor(batch, False)
                inputs = data['inputs']
                if channels_last:
                    inputs = inputs.contiguous(
                        memory_format=torch.channels_last)
                with torch.autocast(device_type=dev_type, dtype=amp_dtype,
                                    enabled=amp):
                    out = model.extract_feat(inputs)
                out = out[-1] if isinstance(out, (tuple, list)) else out
                feats.append(out.float().flatten(1).cpu())
                if with_labels:
                    labels.extend(int(s.gt_label.item())
                                  for s in data['data_samples'])
    finally:
        model.train(was_training)
    features = torch.cat(feats).numpy() if feats else \
        np.zeros((0, 0), np.float32)
    return (features.astype(np.float32, copy=False),
            np.asarray(labels, dtype=np.int64) if with_labels else None)


def build_initialised(model_cfg, seed: int) -> torch.nn.Module:
    """Build a model from the registry at its own initialisation
    (``init_weights``), drawn from a generator seeded with ``seed``; the
    global random state is restored afterwards and the per-tensor
    initialisation log is kept quiet. The baseline a trained encoder must
    beat (extraction and kNN ``--random-init``)."""
    from mmengine.logging import MMLogger

    from ..registry import MODELS
    logger = MMLogger.get_current_instance()
    level = logger.level
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MODELS.build(model_cfg)
        logger.setLevel('WARNING')  # init_weights logs every tensor
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
    return model
