"""Float32 computed in float32: the one place that sets aside torch's
reduced-precision float32 settings for a block and puts them back after.

torch imported where the block is entered, not with this module."""
import threading
from typing import Optional

#: the float32 precision settings (``torch.backends.<backend>.<op>
#: .fp32_precision``, torch 2.9 on) of each device type that can round a
#: float32 product's inputs: matrix products (TF32 in cuBLAS on Ampere and
#: later GPUs where set, bfloat16 in oneDNN on CPUs that have it where set)
#: and, with ``convolutions``, convolutions (cuDNN's default is TF32: 10
#: mantissa bits, on an H100 a 3x3 convolution's relative error 2.9e-4
#: against 4.3e-7 in float32)
_SETTINGS = {'cuda': (('cuda', 'matmul'), ('cudnn', 'conv')),
             'cpu': (('mkldnn', 'matmul'), ('mkldnn', 'conv'))}

#: before torch 2.9 (no ``fp32_precision``): the older flag with the same
#: effect, as (object path, attribute); the CPU has none (its float32
#: products were float32 unless ``set_float32_matmul_precision('medium')``
#: asked for oneDNN's bfloat16, off by default)
_LEGACY = {('cuda', 'matmul'): (('cuda', 'matmul'), 'allow_tf32'),
           ('cudnn', 'conv'): (('cudnn',), 'allow_tf32')}


def _setting(torch, backend: str, op: str):
    """(object, attribute, full-precision value) of one setting: the newer
    ``fp32_precision`` where torch has it, else the older flag, else None."""
    setting = getattr(getattr(torch.backends, backend, None), op, None)
    if setting is not None and hasattr(setting, 'fp32_precision'):
        return setting, 'fp32_precision', 'ieee'
    if (backend, op) not in _LEGACY:
        return None
    path, attr = _LEGACY[backend, op]
    obj = torch.backends
    for name in path:
        obj = getattr(obj, name, None)
    return (obj, attr, False) if hasattr(obj, attr) else None


#: the settings some block holds in full precision, process-wide (torch's
#: settings are the process's, not a thread's): ``(id(object), attribute)``
#: -> [the blocks open on it, in any thread; the value to write back when
#: the last of them is left, or None for one already in full precision]
_HELD = {}
_HELD_LOCK = threading.Lock()


class Ieee32:
    """Float32 matrix products (and, with ``convolutions``, convolutions)
    of ``device_type`` in full precision inside the block, each setting
    put back after it; one already in full precision is left alone, and a
    device type without such settings (None, ``'mps'``) changes nothing.
    Leaving the last block open on a setting, in any thread, writes back
    the value read on entering the first: blocks of several threads (the
    views made ahead on a side thread, ``prefetch_views``, beside a block
    of the main thread's) keep each other's settings in full precision
    (a thread's leaving put the value back inside the other's block); a
    setting that inherited its value from
    ``torch.backends.fp32_precision`` keeps that value, now its own, after
    the block.

    torch's newer ``fp32_precision`` settings (torch 2.9 on), not the older
    ``allow_tf32`` flags (mixing the two makes reading
    ``torch.backends.cudnn.allow_tf32`` raise); inside the block that read
    raises as well, as torch says of any use of the newer settings. An
    older torch (2.6 to 2.8) has the ``allow_tf32`` flags alone: those are
    set to False and put back (CUDA); its CPU float32 products have no
    such setting (full float32 by default) and are left as they are.

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
        found = (_setting(torch, backend, op) for backend, op in where)
        self.settings = [s for s in found if s is not None]

    def __enter__(self):
        with _HELD_LOCK:
            for obj, attr, full in self.settings:
                held = _HELD.setdefault((id(obj), attr), [0, None])
                value = getattr(obj, attr)
                if value != full:
                    setattr(obj, attr, full)
                    if held[0] == 0:
                        held[1] = value
                held[0] += 1
        return self

    def __exit__(self, *exc):
        with _HELD_LOCK:
            for obj, attr, _ in reversed(self.settings):
                key = (id(obj), attr)
                held = _HELD[key]
                held[0] -= 1
                if held[0] == 0:
                    del _HELD[key]
                    if held[1] is not None:
                        setattr(obj, attr, held[1])
