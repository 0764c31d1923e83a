"""One place that turns a ``--device`` string into a torch device.

torch is imported where a GPU is asked about or a device is made, not
with this module: a command that only checks its flags (``sweep.py
--check`` on the CPU) starts without it."""
import re

from .errors import InputError


def check_device(device: str) -> str:
    """``device`` (``'cpu'``, ``'cuda'`` or ``'cuda:N'``) checked: the
    string, with torch imported only to ask about a GPU.

    Raises:
        InputError: another string, or CUDA asked for where torch sees no GPU.
    """
    device = str(device)
    # the forms torch.device takes (r142: 'cuda:00', or a digit of another
    # script, passed str.isdigit here and failed in torch.device after the
    # sweep had loaded its inputs); 'cpu:0' is refused as before
    if device not in ('cpu', 'cuda') and not re.fullmatch(
            r'cuda:(0|[1-9][0-9]*)', device, re.ASCII):
        raise InputError(f'--device must be cpu, cuda or cuda:N, got '
                         f'{device!r}')
    if device.startswith('cuda'):
        import torch
        if not torch.cuda.is_available():
            raise InputError(f'--device {device} asked for, but torch sees '
                             'no GPU')
        index = int(device[5:]) if ':' in device else 0
        if index >= torch.cuda.device_count():
            raise InputError(f'--device {device}: this machine has '
                             f'{torch.cuda.device_count()} GPU(s)')
    return device


def resolve_device(device: str) -> 'torch.device':  # noqa: F821
    """``'cpu'``, ``'cuda'`` or ``'cuda:N'`` as a ``torch.device``
    (:func:`check_device`'s refusals)."""
    import torch
    return torch.device(check_device(device))
