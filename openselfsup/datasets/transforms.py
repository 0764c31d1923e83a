"""Transforms that mmpretrain lacks or that need a fix.

``HueWrapColorJitter``: mmpretrain's ``ColorJitter`` calls
``mmcv.adjust_hue``, which computes ``np.uint8(hue_factor * 255)``; under
numpy 2 a negative hue factor raises ``OverflowError`` instead of wrapping
around, so ``hue=0.4`` (the paper's jitter) crashes about half the time.
This subclass shifts the hue channel modulo 256 itself; brightness,
contrast and saturation are mmpretrain's.
"""
from typing import Dict

import mmcv
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter
from PIL import Image

from ..registry import TRANSFORMS


def adjust_hue(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """Rotate the hue of a BGR uint8 image by ``hue_factor`` of a turn.

    Args:
        img (np.ndarray): ``[H, W, 3]`` uint8, BGR (mmcv's channel order).
        hue_factor (float): in ``[-0.5, 0.5]``.

    Returns:
        np.ndarray: the image with shifted hue, same shape and order.
    """
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor {hue_factor} is not in [-0.5, 0.5]')
    hsv = Image.fromarray(np.ascontiguousarray(img[..., ::-1]),
                          mode='RGB').convert('HSV')
    h, s, v = hsv.split()
    shift = int(hue_factor * 255) % 256
    np_h = ((np.asarray(h, dtype=np.int16) + shift) % 256).astype(np.uint8)
    out = Image.merge('HSV', (Image.fromarray(np_h, 'L'), s, v)).convert('RGB')
    return np.asarray(out, dtype=img.dtype)[..., ::-1]


@TRANSFORMS.register_module()
class HueWrapColorJitter(ColorJitter):
    """mmpretrain's ``ColorJitter`` with a hue shift that wraps around.

    Arguments are those of :class:`mmpretrain.datasets.transforms.ColorJitter`
    (``brightness``, ``contrast``, ``saturation``, ``hue``, ``backend``).
    """

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        order, b, c, s, h = self._rand_params()
        for index in order:
            if index == 0 and b is not None:
                img = mmcv.adjust_brightness(img, b, backend=self.backend)
            elif index == 1 and c is not None:
                img = mmcv.adjust_contrast(img, c, backend=self.backend)
            elif index == 2 and s is not None:
                img = mmcv.adjust_color(img, alpha=s, backend=self.backend)
            elif index == 3 and h is not None:
                img = adjust_hue(img, h)
        results['img'] = img
        return results
