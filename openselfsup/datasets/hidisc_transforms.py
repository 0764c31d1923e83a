"""The image processing of the published HiDisc and HLSS code.

Both train on images with values in [0, 1] (no mean / std normalisation) and
apply, to every view, a list of torchvision augmentations each with
probability 0.5 (the ``rand_prob`` their ``get_srh_aug_list`` defaults to;
the configs' ``rand_aug_prob: 0.3`` is never passed on):

========================  =====================================================
op (published name)       what, with the published parameters
========================  =====================================================
``random_horiz_flip``     horizontal flip
``random_vert_flip``      vertical flip
``gaussian_noise``        add N(0, s^2) noise, s ~ U(0.01, 0.1), clip to [0, 1]
``color_jitter``          ``ColorJitter()`` with torchvision's defaults, which
                          change nothing (kept as published)
``random_autocontrast``   autocontrast
``random_solarize``       invert values >= 0.2
``random_sharpness``      sharpness factor 2
``gaussian_blur``         kernel 5, sigma 1
``random_affine``         rotation up to 10 degrees, translation up to 10% / 30%
                          of the width / height
``random_resized_crop``   crop of 8-100% of the area, resized to ``crop_size``
                          (224 for HLSS, 300 = the whole SRH patch for HiDisc)
``random_erasing``        erase a rectangle of 2-33% of the area (value 0)
========================  =====================================================

Tensor resizes use no antialiasing, as torchvision 0.16 (the published
environment) did for tensors. Randomness comes from torch's global generator,
seeded per DataLoader worker by MMEngine from the run's seed (like
mmpretrain's own transforms, which use numpy's).

:class:`ToUnitTensor` turns a loaded patch (``uint8`` RGB, or the
``[0, 255]`` float SRH image of ``LoadHistoPatch``) into a ``[3, H, W]``
float tensor in [0, 1], optionally resized (HLSS: 224 x 224 bicubic, for the
CLIP ResNet-50); :class:`HiDiscAugment` applies the list above.
"""
from typing import Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from torch import nn
from torchvision import transforms as T

from ..registry import TRANSFORMS
from ..utils import InputError
from .pipeline_checks import probability

#: the published augmentation list (HiDisc and HLSS configs), in order
PUBLISHED_OPS = (
    dict(which='random_horiz_flip'),
    dict(which='random_vert_flip'),
    dict(which='gaussian_noise'),
    dict(which='color_jitter'),
    dict(which='random_autocontrast'),
    dict(which='random_solarize', threshold=0.2),
    dict(which='random_sharpness', sharpness_factor=2),
    dict(which='gaussian_blur', kernel_size=5, sigma=1),
    dict(which='random_affine', degrees=10, translate=(0.1, 0.3)),
    dict(which='random_resized_crop'),  # size: HiDiscAugment.crop_size
    dict(which='random_erasing'),
)


def as_unit_tensor(img) -> torch.Tensor:
    """``[H, W, 3]`` array with values in [0, 255] -> ``[3, H, W]`` float32
    tensor in [0, 1]; a tensor is returned unchanged."""
    if isinstance(img, torch.Tensor):
        return img
    arr = np.ascontiguousarray(np.asarray(img, dtype=np.float32)
                               .transpose(2, 0, 1))
    return torch.from_numpy(arr) / 255.0


class GaussianNoise(nn.Module):
    """Add Gaussian noise of a standard deviation drawn from
    ``U(min_var, max_var)`` (HiDisc's names), then clip to [0, 1]."""

    def __init__(self, min_var: float = 0.01, max_var: float = 0.1):
        super().__init__()
        self.min_var, self.max_var = min_var, max_var

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = self.min_var + (self.max_var - self.min_var) * float(
            torch.rand(()))
        return (x + torch.randn_like(x) * std).clamp(0.0, 1.0)


def build_op(which: str, p: float, crop_size: int, **params) -> nn.Module:
    """One published augmentation, applied with probability ``p``."""

    def sometimes(t):
        return T.RandomApply(nn.ModuleList([t]), p=p)

    if which == 'random_resized_crop':
        params = {'size': crop_size, 'antialias': False, **params}
    makers = {
        'random_horiz_flip': lambda: T.RandomHorizontalFlip(p=p, **params),
        'random_vert_flip': lambda: T.RandomVerticalFlip(p=p, **params),
        'gaussian_noise': lambda: sometimes(GaussianNoise(**params)),
        'color_jitter': lambda: sometimes(T.ColorJitter(**params)),
        'random_autocontrast': lambda: T.RandomAutocontrast(p=p, **params),
        'random_solarize': lambda: T.RandomSolarize(p=p, **params),
        'random_sharpness': lambda: T.RandomAdjustSharpness(p=p, **params),
        'drop_color': lambda: sometimes(T.Grayscale(
            **{'num_output_channels': 3, **params})),
        'gaussian_blur': lambda: sometimes(T.GaussianBlur(**params)),
        'random_affine': lambda: sometimes(T.RandomAffine(**params)),
        'random_resized_crop': lambda: sometimes(
            T.RandomResizedCrop(**params)),
        'random_erasing': lambda: T.RandomErasing(p=p, **params),
    }
    if which not in makers:
        raise ValueError(f'HiDiscAugment: unknown op {which!r}; one of '
                         f'{sorted(makers)}')
    return makers[which]()


@TRANSFORMS.register_module()
class ToUnitTensor(BaseTransform):
    """``results['img']`` -> ``[3, H, W]`` float tensor in [0, 1].

    Args:
        size (int, optional): resize to ``size x size`` (bicubic, no
            antialiasing, as the published HLSS for the CLIP ResNet-50).
    """

    def __init__(self, size: Optional[int] = None):
        self.resize = None if size is None else T.Resize(
            (size, size), interpolation=T.InterpolationMode.BICUBIC,
            antialias=False)

    def transform(self, results: dict) -> dict:
        img = as_unit_tensor(results['img'])
        if self.resize is not None:
            img = self.resize(img)
        results['img'] = img
        results['img_shape'] = tuple(img.shape[-2:])
        return results


@TRANSFORMS.register_module()
class HiDiscAugment(BaseTransform):
    """The published HiDisc / HLSS augmentations (module docstring).

    Args:
        crop_size (int): output size of ``random_resized_crop``.
        p (float): probability of each op. Defaults to 0.5 (published).
        ops (list[dict], optional): ``dict(which=name, **params)`` in order;
            default :data:`PUBLISHED_OPS`.
        skip (list[str]): names of ops to leave out (e.g. the demo's
            ``['random_solarize']``).
    """

    def __init__(self, crop_size: int, p: float = 0.5,
                 ops: Optional[Sequence[dict]] = None,
                 skip: Sequence[str] = ()):
        # torchvision's ops draw ``torch.rand(1) < p``: above 1 every op on
        # every image, below 0 none (the same line as the config's check)
        probability(p, 'HiDiscAugment p')
        ops = PUBLISHED_OPS if ops is None else ops
        names = [o['which'] for o in ops]
        unknown = sorted(set(skip) - set(names))
        if unknown:
            raise ValueError(f'HiDiscAugment: skip names ops not in the list: '
                             f'{unknown}')
        ops = [o for o in ops if o['which'] not in skip]
        self.crop_size = crop_size
        # views the crop skips keep their size: it must be the crop's
        self.check_size = p < 1 and any(
            o['which'] == 'random_resized_crop' for o in ops)
        self.ops = T.Compose([build_op(crop_size=crop_size, p=p, **dict(o))
                              for o in ops])

    def transform(self, results: dict) -> dict:
        img = as_unit_tensor(results['img'])
        if self.check_size and tuple(img.shape[-2:]) != (self.crop_size, ) * 2:
            raise InputError(
                f'{results.get("img_path", "image")}: {img.shape[-2]}x'
                f'{img.shape[-1]} px, HiDiscAugment crop_size={self.crop_size}'
                '; the published augmentations crop some views to crop_size '
                'and leave the others whole, so both must agree (resize '
                'with ToUnitTensor(size=...) or set crop_size)')
        img = self.ops(img)
        results['img'] = img
        results['img_shape'] = tuple(img.shape[-2:])
        return results
