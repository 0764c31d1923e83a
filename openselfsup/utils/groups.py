"""How a batch is cut into the published per-GPU groups (the arithmetic
of :mod:`openselfsup.models.groups`, without torch: the launchers check a
config against the GPU count with it before they start any process)."""
from typing import Optional

from .errors import InputError, is_int


def check_group_size(group_size: Optional[int], what: str) -> None:
    """InputError unless ``group_size`` is None or a positive integer (not
    a bool: ``True`` is an int in Python, and made groups of one image,
    whose contrastive loss is 0)."""
    if group_size is not None and (not is_int(group_size)
                                   or group_size < 1):
        raise InputError(f'{what}={group_size!r}: use a positive number of '
                         'images or None')


def groups_of(batch: int, group_size: Optional[int], what: str) -> int:
    """Number of groups a batch of ``batch`` images is cut into.

    A batch of at most ``group_size`` images is one group (a short total
    batch, e.g. the demo's or a test's); a larger batch must be a multiple
    of ``group_size``.

    Args:
        batch (int): images in this process's batch.
        group_size (int | None): images per group; None: one group.
        what (str): the config key, for the error message.

    Raises:
        InputError: ``group_size`` is not None or a positive integer
            (:func:`check_group_size`); ``batch`` is larger than and not a
            multiple of ``group_size``.
    """
    check_group_size(group_size, what)
    if group_size is None or batch <= group_size:
        return 1
    if batch % group_size:
        raise InputError(
            f'{what}={group_size}: the per-process batch of {batch} images is '
            f'not a multiple of it; change total_batch_size, the GPU count or '
            f'{what}')
    return batch // group_size
