"""Pretrained weights of the balanced-tuning encoders, from local files.

The file is read with timm's reader (``.pth`` / ``.bin`` / ``.safetensors``;
a ``state_dict`` or ``model`` entry and DDP's ``module.`` prefix are
unwrapped). A classifier saved in the same file (a task-trained model) is
split off for the task head. Nothing is downloaded.
"""
import os
from typing import Dict, Optional, Tuple

import torch
from mmengine.logging import print_log
from torch import nn

from ...config import model_file_problem
from ...utils import InputError


def require_timm(what: str):
    """Import timm or raise a one-line InputError naming ``what`` needs it."""
    try:
        import timm
    except ImportError as exc:
        raise InputError(f'{what} needs timm: pip install '
                         '"openselfsup-histo[balance]"') from exc
    return timm


def read_weights(path: Optional[str], what: str,
                 kind: str = 'LocalGlobalHIPT'
                 ) -> Optional[Dict[str, torch.Tensor]]:
    """The state dict in ``path``, or None for a random initialisation.

    Args:
        path (str | None): a local weights file. None: no file wanted (the
            weights come from elsewhere, e.g. ``load_from``), silently.
        what (str): the model's name, for messages.
        kind (str): the backbone's type, whose config key, file and way
            out a missing file's line names
            (:func:`~openselfsup.config.model_file_problem`).

    Returns:
        dict | None: None when ``path`` is None.

    Raises:
        InputError: the file is missing (a configured file is the run's
            starting point: the published code stops there too; None, not
            a missing file, means a random initialisation) or cannot be
            read as weights.
    """
    if path is None:
        return None
    path = os.fspath(path)
    if not os.path.isfile(path):
        # a relative path is the current folder's: the line says which
        raise InputError(model_file_problem(kind, path, model_name=what)
                         or f'{path}: is a folder, not a weights file of '
                         f'{what} (name the file in it)')
    timm = require_timm(what)
    try:
        state = timm.models.load_state_dict(path, weights_only=True)
    except Exception as exc:  # noqa: BLE001  (any unreadable file)
        raise InputError(f'{path}: cannot read weights for {what} '
                         f'({type(exc).__name__})') from None
    if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f'{path}: not a state dict of tensors')
    return state


def split_prefix(state: Dict[str, torch.Tensor], prefix: str
                 ) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
    """``(rest, part)``: ``part`` holds the keys under ``prefix``, stripped."""
    part = {k[len(prefix):]: v for k, v in state.items()
            if k.startswith(prefix)}
    rest = {k: v for k, v in state.items() if not k.startswith(prefix)}
    return rest, part


def load_exact(module: nn.Module, state: Dict[str, torch.Tensor], path: str,
               what: str) -> None:
    """Load ``state`` into ``module`` (:func:`~..state_dict.load_state`: every
    key must match in name and shape) and log it."""
    from ..state_dict import load_state
    load_state(module, state, path, what)
    print_log(f'{path}: {what} weights loaded', logger='current')


class KeepsLoadedWeights:
    """Mixin of a ``BaseModule`` that loads a weights file when it is built.

    MMEngine's runner calls ``model.init_weights()`` before training; that
    runs the ``init_cfg`` and every submodule's own ``init_weights`` (a timm
    ViT draws all its weights again there), which would replace the loaded
    weights with a fresh random initialisation. Once a file is loaded (the
    module sets ``weights_loaded_from``), ``init_weights`` keeps them.
    """

    weights_loaded_from: Optional[str] = None

    def init_weights(self) -> None:
        if self.weights_loaded_from is None:
            super().init_weights()
            return
        self._is_init = True  # MMEngine's flag: initialised
        print_log(f'{type(self).__name__}: init_weights keeps the weights '
                  f'of {self.weights_loaded_from}', logger='current')
