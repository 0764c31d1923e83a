"""Transforms that mmpretrain lacks or that need a fix.

``HueWrapColorJitter``: mmpretrain's ``ColorJitter`` calls
``mmcv.adjust_hue``, which computes ``np.uint8(hue_factor * 255)``; under
numpy 2 a negative hue factor raises ``OverflowError`` instead of wrapping
around, so ``hue=0.4`` (the paper's jitter) crashes about half the time.
This subclass shifts the hue channel modulo 256 itself; brightness,
contrast and saturation are mmpretrain's.

``PillowGrayscale``: the published views' grayscale (torchvision's
``RandomGrayscale`` on a PIL image: ``convert('L')``, ITU-R 601-2 luma
rounded to the nearest 8-bit level, copied into three channels).
mmpretrain's ``RandomGrayscale`` truncates its float weighted sum instead,
which leaves about half of the pixels one level darker.
"""
from typing import Dict

import mmcv
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter, RandomGrayscale
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


@TRANSFORMS.register_module()
class PillowGrayscale(RandomGrayscale):
    """Grayscale with probability ``prob``, as torchvision's
    ``RandomGrayscale`` on PIL images (the published CLP views).

    Args:
        prob (float): probability of converting an image. Defaults to 0.1.

    The gray level is Pillow's ``convert('L')`` of the RGB image,
    ``(19595 R + 38470 G + 7471 B + 2**15) >> 16``, copied into the three
    channels of the (BGR, mmcv's order) uint8 image.
    """

    def __init__(self, prob: float = 0.1):
        super().__init__(prob=prob, keep_channels=True)

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        if self._random_prob() < self.prob:
            if img.ndim != 3 or img.shape[2] != 3:
                raise ValueError('PillowGrayscale expects an [H, W, 3] image, '
                                 f'got shape {img.shape}')
            rgb = np.ascontiguousarray(img[..., ::-1], dtype=np.uint8)
            gray = np.asarray(Image.fromarray(rgb, mode='RGB').convert('L'))
            img = np.repeat(gray[..., None], 3, axis=2)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
