"""Float32 computed in float32: the one place that sets aside torch's
reduced-precision float32 settings for a block and puts them back after.

torch imported where the block is entered, not with this module."""
from typing import Optional

#: the float32 precision settings (``torch.backends.<backend>.<op>
#: .fp32_precision``) of each device type that can round a float32
#: product's inputs: matrix products (TF32 in cuBLAS on Ampere and later
#: GPUs where set, bfloat16 in oneDNN on CPUs that have it where set) and,
#: with ``convolutions``, convolutions (cuDNN's default is TF32: 10
#: mantissa bits, on an H100 a 3x3 convolution's relative error 2.9e-4
#: against 4.3e-7 in float32)
_SETTINGS = {'cuda': (('cuda', 'matmul'), ('cudnn', 'conv')),
             'cpu': (('mkldnn', 'matmul'), ('mkldnn', 'conv'))}


class Ieee32:
    """Float32 matrix products (and, with ``convolutions``, convolutions)
    of ``device_type`` in full precision inside the block, each setting
    put back after it; one already ``'ieee'`` is left alone, and a device
    type without such settings (None, ``'mps'``) changes nothing.

    torch's newer ``fp32_precision`` settings, not the older
    ``allow_tf32`` flags (mixing the two makes reading
    ``torch.backends.cudnn.allow_tf32`` raise); inside the block that read
    raises as well, as torch says of any use of the newer settings.

    Args:
        device_type (str or None): ``'cuda'``, ``'cpu'``, another type or
            None.
        convolutions (bool): the convolutions' setting too (matrix
            products alone: the batched views' exact integer products).
    """

    def __init__(self, device_type: Optional[str],
                 convolutions: bool = True):
        import torch
        where = _SETTINGS.get(device_type, ())[:2 if convolutions else 1]
        self.settings = [getattr(getattr(torch.backends, backend), op)
                         for backend, op in where]
        self.saved = []

    def __enter__(self):
        for setting in self.settings:
            if setting.fp32_precision != 'ieee':
                self.saved.append((setting, setting.fp32_precision))
                setting.fp32_precision = 'ieee'
        return self

    def __exit__(self, *exc):
        while self.saved:
            setting, value = self.saved.pop()
            setting.fp32_precision = value
