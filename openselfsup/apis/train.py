"""Training entry point: config file in, trained run out.

``tools/train.py`` and ``tools/dist_train.sh`` call :func:`train`; every
algorithm (CLP, FSP, HLSS, balanced tuning) goes through it.
"""
import os
from typing import Optional, Sequence

from mmengine.config import Config, DictAction  # noqa: F401

from ..utils import InputError


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a Python config and apply ``--cfg-options`` overrides.

    Args:
        path: the config file.
        cfg_options: ``{'dotted.key': value}`` overrides.

    Raises:
        InputError: the file does not exist.
    """
    if not os.path.isfile(path):
        raise InputError(f'{path}: config file not found')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config path without configs/ and .py>`` as in the original."""
    rel = os.path.splitext(os.path.normpath(config_path))[0]
    parts = rel.split(os.sep)
    if 'configs' in parts:
        parts = parts[parts.index('configs') + 1:]
    return os.path.join('work_dirs', *parts)


def train(config: str,
          work_dir: Optional[str] = None,
          resume: bool = False,
          amp: bool = False,
          cfg_options: Optional[dict] = None,
          launcher: str = 'none'):
    """Build a runner from ``config`` and train.

    Args:
        config: path of the Python config.
        work_dir: output directory (default: ``work_dirs/<config path>``).
        resume: resume from the latest checkpoint in ``work_dir``.
        amp: mixed precision through MMEngine's AmpOptimWrapper.
        cfg_options: ``--cfg-options`` overrides.
        launcher: 'none', 'pytorch' (torchrun) or 'slurm'.

    Returns:
        mmengine.runner.Runner: the runner after training.
    """
    from mmengine.runner import Runner

    cfg = load_config(config, cfg_options)
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(config)
    cfg.launcher = launcher
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if resume:
        cfg.resume = True
        cfg.load_from = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner
