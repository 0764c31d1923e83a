"""Settings of per-image pipeline transforms that both view paths refuse
before a run (the per-image pipeline and the batched views of
:mod:`.batch_aug`): torch-free, so the launchers' ``--check-config``
(:func:`~openselfsup.apis.fast_path.check_fast_path_values`) runs them
before any process starts, as the run itself and ``extract.py`` do."""
import numbers
from typing import Dict, Optional

from ..utils import InputError


def _prob(t: Dict, default, where: str) -> float:
    """Transform ``t``'s ``prob`` (``default`` when not given), refused with
    one line unless a number in [0, 1]: mmcv's ``RandomFlip`` and
    mmpretrain's ``RandomGrayscale`` refuse it per image (an assertion),
    and the batched op took it as given (a flip of prob 1.5 flipped every
    image; of prob -1, none)."""
    prob = t.get('prob', default)
    if isinstance(prob, bool) or not isinstance(prob, (int, float)) or \
            not 0 <= prob <= 1:
        raise InputError(f"{where}: {t.get('type')} prob {prob!r} is not a "
                         'probability in [0, 1]')
    return prob


def _numbers(t: Dict, key: str, default, count: Optional[int],
             where: str) -> tuple:
    """Transform ``t``'s ``key`` (``default`` when not given) as a tuple
    of ``count`` real numbers (one number for ``count`` None), else
    InputError (one line): the batched ops read these settings when built
    and failed with a traceback (``channel_weights=None``,
    ``magnitude_range=(0.1, )``), where the per-image transform fails at
    its first image."""
    value = t.get(key, default)
    items = (value, ) if count is None else value
    if (count is not None and (isinstance(value, (str, bytes)) or
                               not isinstance(value, (list, tuple)) or
                               len(value) != count)) or \
            any(isinstance(v, bool) or not isinstance(v, numbers.Real)
                for v in items):
        what = 'a number' if count is None else f'{count} numbers'
        raise InputError(f"{where}: {t.get('type')} {key} {value!r} is not "
                         f'{what}')
    return tuple(items)


def check_settings(t: Dict, where: str) -> None:
    """Refuse with one line a setting of transform config ``t`` that both
    paths refuse, the batched views (:func:`build_op`) and the per-image
    pipeline (:func:`check_pipeline`), before the run:

    - a ``prob`` (one number) that is no probability in [0, 1]. mmcv's
      ``RandomFlip`` and mmpretrain's ``RandomGrayscale`` refuse it per
      image; mmcv's ``RandomApply`` and mmpretrain's ``GaussianBlur``,
      ``Solarize`` and other auto-augment ops took it per image without a
      word (above 1: always), where the batched views refused it;
    - where a magnitude is read from ``magnitude_range`` (and in
      ``RandAugment``), a ``magnitude_level`` below 0 or a
      ``total_level`` not above 0 (mmpretrain's ``RandAugment`` asserts
      both; its single ops took them: a negative blur sigma on both paths),
      and a ``magnitude_level`` above ``total_level`` where mmpretrain maps
      the level as it is (``magnitude_std`` ``'inf'`` or not above 0: a
      magnitude past the end of ``magnitude_range``). With a
      ``magnitude_std`` above 0 mmpretrain clips the drawn level to
      [0, ``total_level``], so a level above it is taken, as there.
    """
    prob = t.get('prob')
    if prob is not None and not isinstance(prob, (list, tuple)):
        _prob(t, None, where)  # a list: RandomChoice's, one per candidate
    if t.get('magnitude_range') is None and t.get('type') != 'RandAugment':
        return
    kind = t.get('type')
    level, = _numbers(t, 'magnitude_level', 10, None, where)
    total, = _numbers(t, 'total_level', 10, None, where)
    if not total > 0:
        raise InputError(f'{where}: {kind} total_level {total!r} is not '
                         'above 0 (the level is divided by it)')
    std = t.get('magnitude_std', 0.)
    clipped = isinstance(std, numbers.Real) and not isinstance(std, bool) \
        and std > 0
    if level < 0 or (level > total and not clipped):
        raise InputError(
            f'{where}: {kind} magnitude_level {level!r} is not in [0, '
            f'total_level {total!r}]: the magnitude would leave '
            f"magnitude_range {t.get('magnitude_range')!r}")


def check_pipeline(pipeline, where: str) -> None:
    """:func:`check_settings` of every transform of a per-image
    ``pipeline`` (at config key ``where``), nested ones included
    (``MultiView``'s views, ``RandomApply``'s transforms)."""
    from ..config import config_dicts
    for key, t in config_dicts(pipeline, where):
        if 'type' in t:
            check_settings(t, key)


def check_pipelines(node, where: str) -> None:
    """:func:`check_pipeline` of every ``pipeline`` list in config
    ``node`` (at key ``where``), a wrapped dataset's included: the
    training loader's (``train_dataloader``) and an extraction config's
    ``dataset`` (``nct_aug.py``'s augmented passes), before anything is
    built."""
    from ..config import config_dicts
    for key, sub in config_dicts(node, where):
        if isinstance(sub.get('pipeline'), (list, tuple)):
            check_pipeline(sub['pipeline'], f'{key}.pipeline')
