"""One place that turns a ``--device`` string into a torch device."""
import torch

from .errors import InputError


def resolve_device(device: str) -> torch.device:
    """``'cpu'``, ``'cuda'`` or ``'cuda:N'`` as a ``torch.device``.

    Raises:
        InputError: another string, or CUDA asked for where torch sees no GPU.
    """
    device = str(device)
    if device not in ('cpu', 'cuda') and not (
            device.startswith('cuda:') and device[5:].isdigit()):
        raise InputError(f'--device must be cpu, cuda or cuda:N, got '
                         f'{device!r}')
    if device.startswith('cuda'):
        if not torch.cuda.is_available():
            raise InputError(f'--device {device} asked for, but torch sees '
                             'no GPU')
        index = int(device[5:]) if ':' in device else 0
        if index >= torch.cuda.device_count():
            raise InputError(f'--device {device}: this machine has '
                             f'{torch.cuda.device_count()} GPU(s)')
    return torch.device(device)
