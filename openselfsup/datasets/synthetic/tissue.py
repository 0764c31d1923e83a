"""Render H&E-looking tissue patches.

A patch is drawn from a :class:`TissueStyle` (what the tissue looks like:
density, size and arrangement of nuclei, fibres, vacuoles, debris, glass,
mucin) and a :class:`StainPalette` (the colours of one domain's staining and
scanner). Every random choice comes from the ``numpy.random.Generator``
passed in, so a seed reproduces the image exactly.

Sizes in a style are given for a 224 px patch and scaled to the size asked
for, so a 32 px test patch shows the same tissue, coarser.
"""
import functools
from dataclasses import dataclass, replace
from typing import Dict, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

RGB = Tuple[int, int, int]


@dataclass(frozen=True)
class StainPalette:
    """Colours of one staining protocol and scanner.

    Args:
        stroma: eosin-stained background (pink).
        nucleus: haematoxylin-stained nuclei (purple).
        fibre: collagen and muscle fibres (deeper pink).
        lumen: glass, fat and gland lumen (near white).
        mucin: pale blue-purple mucus.
        jitter: per-image stain variation (fraction of each channel).
    """
    stroma: RGB
    nucleus: RGB
    fibre: RGB
    lumen: RGB
    mucin: RGB
    jitter: float = 0.08


@dataclass(frozen=True)
class TissueStyle:
    """What one tissue class looks like (sizes for a 224 px patch).

    Args:
        nuclei: number of nuclei per patch.
        nucleus_radius: (min, max) radius in px.
        elongation: (min, max) ratio of long to short axis.
        arrangement: 'random', 'clustered', 'aligned', 'glands' or 'plates'.
        darkness: (min, max) nuclear stain intensity, 1 = palette colour.
        fibres: number of fibre strokes.
        vacuoles: number of clear round spaces (fat, goblet cells, alveoli).
        vacuole_radius: (min, max) radius in px.
        debris: number of small fragments (necrosis, apoptotic bodies).
        glass: fraction of the patch that is empty slide.
        mucin: fraction washed with mucin.
        glands: number of glands (for 'glands' arrangement).
        stroma_tone: multiplier on the stroma colour (pale or dense tissue).
    """
    nuclei: int = 60
    nucleus_radius: Tuple[float, float] = (3.0, 5.0)
    elongation: Tuple[float, float] = (1.0, 1.4)
    arrangement: str = 'random'
    darkness: Tuple[float, float] = (0.9, 1.1)
    fibres: int = 0
    vacuoles: int = 0
    vacuole_radius: Tuple[float, float] = (8.0, 16.0)
    debris: int = 0
    glass: float = 0.0
    mucin: float = 0.0
    glands: int = 0
    stroma_tone: float = 1.0


PALETTES: Dict[str, StainPalette] = {
    # NCT-CRC-HE-100K(-NONORM): balanced pink and purple; the per-image
    # jitter stands for the stain variation of the un-normalised set.
    'nct': StainPalette(stroma=(236, 166, 200), nucleus=(88, 52, 142),
                        fibre=(214, 120, 168), lumen=(246, 240, 246),
                        mucin=(200, 190, 226)),
    # LC25000: saturated, more magenta, darker nuclei.
    'lc': StainPalette(stroma=(222, 136, 206), nucleus=(62, 28, 118),
                       fibre=(196, 96, 178), lumen=(250, 236, 250),
                       mucin=(186, 168, 224), jitter=0.06),
    # PAIP19 (liver): warmer, salmon stroma, browner nuclei.
    'paip': StainPalette(stroma=(226, 156, 150), nucleus=(104, 62, 118),
                         fibre=(200, 120, 120), lumen=(244, 236, 232),
                         mucin=(206, 186, 206), jitter=0.10),
}

STYLES: Dict[str, TissueStyle] = {
    # NCT-CRC-HE-100K, alphabetical (labels: openselfsup.classes).
    'ADI': TissueStyle(nuclei=6, nucleus_radius=(2, 3), elongation=(1.5, 2.5),
                       vacuoles=14, vacuole_radius=(18, 34), stroma_tone=1.03),
    'BACK': TissueStyle(nuclei=3, glass=0.85, debris=6, stroma_tone=1.08),
    'DEB': TissueStyle(nuclei=40, nucleus_radius=(1.5, 3.5), debris=140,
                       arrangement='clustered', darkness=(0.8, 1.3),
                       stroma_tone=0.97),
    'LYM': TissueStyle(nuclei=420, nucleus_radius=(2.5, 3.5),
                       darkness=(1.1, 1.3), stroma_tone=0.95),
    'MUC': TissueStyle(nuclei=10, nucleus_radius=(2, 3.5), mucin=0.7,
                       fibres=6, stroma_tone=1.05),
    'MUS': TissueStyle(nuclei=55, nucleus_radius=(2, 3), elongation=(3, 5),
                       arrangement='aligned', fibres=40, stroma_tone=0.92),
    'NORM': TissueStyle(nuclei=160, nucleus_radius=(2.5, 3.5),
                        elongation=(1.2, 1.8), arrangement='glands', glands=3,
                        vacuoles=6, vacuole_radius=(4, 7)),
    'STR': TissueStyle(nuclei=35, nucleus_radius=(2, 3), elongation=(2, 4),
                       fibres=30, stroma_tone=1.0),
    'TUM': TissueStyle(nuclei=230, nucleus_radius=(3.5, 6),
                       elongation=(1.0, 1.8), arrangement='glands', glands=2,
                       darkness=(1.0, 1.35), stroma_tone=0.93),
    # LC25000.
    'colon_aca': TissueStyle(nuclei=240, nucleus_radius=(3.5, 6),
                             elongation=(1.2, 2.0), arrangement='glands',
                             glands=3, darkness=(1.0, 1.3), stroma_tone=0.94),
    'colon_n': TissueStyle(nuclei=150, nucleus_radius=(2.5, 3.5),
                           arrangement='glands', glands=4, vacuoles=14,
                           vacuole_radius=(4, 7)),
    'lung_aca': TissueStyle(nuclei=180, nucleus_radius=(3.5, 5.5),
                            arrangement='glands', glands=2, vacuoles=4,
                            vacuole_radius=(10, 20), darkness=(1.0, 1.25)),
    'lung_n': TissueStyle(nuclei=40, nucleus_radius=(2, 3), vacuoles=10,
                          vacuole_radius=(20, 34), fibres=8,
                          stroma_tone=1.02),
    'lung_scc': TissueStyle(nuclei=200, nucleus_radius=(4, 7),
                            elongation=(1.0, 1.6), arrangement='clustered',
                            fibres=10, darkness=(1.0, 1.3),
                            stroma_tone=0.96),
    # PAIP19 (liver).
    'normal': TissueStyle(nuclei=70, nucleus_radius=(3, 4),
                          arrangement='plates', vacuoles=5,
                          vacuole_radius=(4, 8)),
    'viable_tumor': TissueStyle(nuclei=220, nucleus_radius=(3.5, 6),
                                arrangement='clustered', darkness=(1.0, 1.3),
                                stroma_tone=0.95),
    'non_viable_tumor': TissueStyle(nuclei=30, nucleus_radius=(2, 4),
                                    debris=110, fibres=12, mucin=0.2,
                                    darkness=(0.7, 1.1), stroma_tone=1.04),
}


def _jitter_colour(rng: np.random.Generator, colour: RGB,
                   amount: float) -> np.ndarray:
    return np.clip(np.asarray(colour, float) *
                   (1 + rng.normal(0, amount, 3)), 0, 255)


def _smooth_field(rng: np.random.Generator, size: int, cells: int,
                  amplitude: float) -> np.ndarray:
    """Low-frequency multiplicative texture in [1 - a, 1 + a]."""
    grid = rng.uniform(-amplitude, amplitude, (cells, cells)).astype(np.float32)
    img = Image.fromarray(grid, mode='F').resize((size, size),
                                                 Image.Resampling.BICUBIC)
    return 1 + np.asarray(img)


def _uniform(u: np.ndarray, low: float, high: float) -> np.ndarray:
    """``rng.uniform(low, high)`` from ``u``, doubles of ``rng.random``
    (a Generator draws one double for either): numpy's formula, ``low +
    (high - low) * u``, rounded twice (a multiply, then an add). That is
    the bits of ``n`` scalar ``rng.uniform`` calls where numpy's C code
    rounds twice too (the x86-64 wheels; checked against the loop for
    every draw of every style, r144); a numpy built with fused
    multiply-add (aarch64, ppc64le: numpy issue 22993) rounded the
    scalar draws once, so there the old loop's patches differed from
    these in the last bit of a few draws (no pixel of 306 patches in an
    emulation), and these are now the same on every machine. A range
    the scalar call refused is refused as it did: one whose width is not
    finite (NaN or inf: OverflowError), or below 0 (ValueError)."""
    low, high = float(low), float(high)
    width = high - low
    if not np.isfinite(width):
        raise OverflowError(f'uniform({low}, {high}): high - low range '
                            'exceeds valid bounds')
    if width < 0:
        raise ValueError(f'uniform({low}, {high}): high - low < 0')
    return low + width * u


def _rows(rng: np.random.Generator, count, columns: int) -> np.ndarray:
    """``rng.random((count, columns))``: ``count`` shapes' draws, none
    for a count below 1 (a loop over ``range(count)`` drew none: a
    negative count is no error)."""
    return rng.random((max(count, 0), columns))


@functools.lru_cache(maxsize=None)
def _unit_circle(n: int) -> Tuple[np.ndarray, np.ndarray]:
    """Cosines and sines of ``n`` angles around the circle."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.cos(t), np.sin(t)


def _ellipses(cx, cy, rx, ry, angle, n: int = 10) -> np.ndarray:
    """Vertices of ellipses, ``n`` each: centre ``(cx, cy)``, radii
    ``rx``, ``ry``, rotated by ``angle``; scalars or arrays of one length
    ``k``. Returns float ``[k, 2n]`` (``x0, y0, x1, y1, ...`` a row, as
    ``ImageDraw.polygon`` takes them; ``k`` 1 for scalars)."""
    cos_t, sin_t = _unit_circle(n)
    cx, cy, rx, ry, angle = (np.asarray(v, float).reshape(-1, 1)
                             for v in (cx, cy, rx, ry, angle))
    x, y = rx * cos_t, ry * sin_t
    c, s = np.cos(angle), np.sin(angle)
    xy = np.stack(np.broadcast_arrays(cx + c * x - s * y,
                                      cy + s * x + c * y), -1)
    return xy.reshape(len(xy), 2 * n)


def _colours(colour: np.ndarray, k) -> np.ndarray:
    """``colour`` scaled by each of ``k``, clipped to [0, 255] and cut to
    integers: int ``[len(k), 3]``."""
    k = np.asarray(k, float).reshape(-1, 1)
    return np.clip(np.asarray(colour, float) * k, 0, 255).astype(np.int64)


def _polygons(draw: ImageDraw.ImageDraw, vertices: np.ndarray, fills,
              outline=None) -> None:
    """Draw one polygon per row of ``vertices`` (:func:`_ellipses`), in
    order, filled with the matching row of ``fills`` (int ``[k, 3]``, or
    one colour for all)."""
    fills = np.broadcast_to(fills, (len(vertices), 3)).tolist()
    for xy, fill in zip(vertices.tolist(), fills):
        draw.polygon(xy, fill=tuple(fill), outline=outline)


def _nucleus_centres(rng: np.random.Generator, style: TissueStyle, size: int,
                     count: int, glands: list, angle: float) -> np.ndarray:
    arr = style.arrangement
    if arr == 'clustered':
        k = max(2, count // 30)
        centres = rng.uniform(0, size, (k, 2))
        pick = rng.integers(0, k, count)
        return centres[pick] + rng.normal(0, size * 0.09, (count, 2))
    if arr == 'aligned':
        # bands along one orientation
        t = rng.uniform(-0.7, 0.7, count) * size
        offset = rng.normal(0, size * 0.35, count)
        c, s = np.cos(angle), np.sin(angle)
        return np.stack([size / 2 + c * t - s * offset,
                         size / 2 + s * t + c * offset], 1)
    if arr == 'plates':
        # hepatocyte-like cords: jittered grid
        step = size / max(2.0, np.sqrt(count))
        g = np.arange(step / 2, size, step)
        xx, yy = np.meshgrid(g, g)
        pts = np.stack([xx.ravel(), yy.ravel()], 1)
        return pts + rng.normal(0, step * 0.15, pts.shape)
    if arr == 'glands' and glands:
        per = count // 2 // len(glands)
        pts = []
        for gx, gy, gr in glands:
            t = rng.uniform(0, 2 * np.pi, per)
            r = gr * (1.15 + rng.normal(0, 0.06, per))
            pts.append(np.stack([gx + r * np.cos(t), gy + r * np.sin(t)], 1))
        rest = count - per * len(glands)
        pts.append(rng.uniform(0, size, (rest, 2)))
        return np.concatenate(pts)
    return rng.uniform(0, size, (count, 2))


def render_patch(rng: np.random.Generator, style: TissueStyle,
                 palette: StainPalette, size: int = 224,
                 shift: np.ndarray = None) -> np.ndarray:
    """Draw one patch.

    Args:
        rng: the generator every random choice comes from.
        style: the tissue class's look.
        palette: the domain's stain colours.
        size: output width and height in px.
        shift: optional per-channel multiplicative stain shift (e.g. one per
            slide), shape ``[3]``.

    Returns:
        np.ndarray: uint8 image ``[size, size, 3]``.
    """
    s = size / 224.0
    j = palette.jitter
    stroma = _jitter_colour(rng, palette.stroma, j) * style.stroma_tone
    nucleus = _jitter_colour(rng, palette.nucleus, j)
    fibre = _jitter_colour(rng, palette.fibre, j)
    lumen = _jitter_colour(rng, palette.lumen, j / 3)
    mucin = _jitter_colour(rng, palette.mucin, j)

    img = Image.new('RGB', (size, size), tuple(int(v) for v in stroma))
    draw = ImageDraw.Draw(img)
    angle = rng.uniform(0, np.pi)
    lumen_ink = _colours(lumen, 1.0)
    # Shapes of one kind whose draws are all uniform doubles are drawn
    # together: one rng.random row per shape, its columns in the order of
    # the scalar draws they stand for (the bits of a loop of rng.uniform,
    # :func:`_uniform`; the draws alone about 100 times faster, a whole
    # patch about 3 times; tests/test_synthetic.py holds every draw
    # call's arguments to that loop's, bit for bit).

    if style.glass > 0:
        # empty slide: a large blob, leaving a strip of tissue
        u = rng.random((3, 4))  # cx, cy, radius, aspect
        r = size * np.sqrt(style.glass) * _uniform(u[:, 2], 0.6, 0.9)
        _polygons(draw, _ellipses(_uniform(u[:, 0], 0, size),
                                  _uniform(u[:, 1], 0, size), r,
                                  r * _uniform(u[:, 3], 0.7, 1.0), angle, 16),
                  lumen_ink)
    if style.mucin > 0:
        # cx, cy, radius, aspect, angle
        u = _rows(rng, int(1 + 6 * style.mucin), 5)
        r = size * _uniform(u[:, 2], 0.15, 0.4) * style.mucin ** 0.5
        _polygons(draw, _ellipses(_uniform(u[:, 0], 0, size),
                                  _uniform(u[:, 1], 0, size), r,
                                  r * _uniform(u[:, 3], 0.4, 1.0),
                                  _uniform(u[:, 4], 0, np.pi), 14),
                  _colours(mucin, 1.0))
    for _ in range(style.fibres):  # normal draws between: one at a time
        a = angle + rng.normal(0, 0.25)
        x0, y0 = rng.uniform(-0.1, 1.1, 2) * size
        length = rng.uniform(0.3, 0.9) * size
        pts = [(x0, y0)]
        for k in range(1, 6):
            a += rng.normal(0, 0.15)
            pts.append((pts[-1][0] + np.cos(a) * length / 5,
                        pts[-1][1] + np.sin(a) * length / 5))
        fill = tuple(_colours(fibre, rng.uniform(0.9, 1.05))[0].tolist())
        draw.line(pts, fill=fill,
                  width=max(1, int(round(rng.uniform(1, 2.5) * s))))
    glands = []
    if style.arrangement == 'glands':
        for _ in range(style.glands):  # a gland's centre depends on its size
            gr = rng.uniform(0.12, 0.22) * size
            gx, gy = rng.uniform(gr, size - gr, 2)
            glands.append((gx, gy, gr))
            _polygons(draw, _ellipses(gx, gy, gr,
                                      gr * rng.uniform(0.7, 1.0),
                                      rng.uniform(0, np.pi), 18), lumen_ink)
    u = _rows(rng, style.vacuoles, 5)  # r, cx, cy, aspect, angle
    r = _uniform(u[:, 0], *style.vacuole_radius) * s
    _polygons(draw, _ellipses(_uniform(u[:, 1], 0, size),
                              _uniform(u[:, 2], 0, size), r,
                              r * _uniform(u[:, 3], 0.75, 1.0),
                              _uniform(u[:, 4], 0, np.pi), 14),
              lumen_ink, outline=tuple(_colours(fibre, 1.0)[0].tolist()))
    count = int(round(style.nuclei * rng.uniform(0.8, 1.2)))
    centres = _nucleus_centres(rng, style, size, count, glands, angle)
    if style.arrangement == 'aligned':  # a normal draw between: one at a time
        u = np.array([(rng.uniform(*style.nucleus_radius),
                       rng.uniform(*style.elongation),
                       angle + rng.normal(0, 0.2),
                       rng.uniform(*style.darkness))
                      for _ in range(len(centres))]).reshape(-1, 4)
        r, e, a, dark = u.T
    else:
        u = _rows(rng, len(centres), 4)  # r, elongation, angle, darkness
        r = _uniform(u[:, 0], *style.nucleus_radius)
        e = _uniform(u[:, 1], *style.elongation)
        a = _uniform(u[:, 2], 0, np.pi)
        dark = _uniform(u[:, 3], *style.darkness)
    r = r * s
    # Python's power (the C library's pow), not numpy's sqrt: the old
    # loop's e ** 0.5, whose last bit sqrt (the exact root) does not
    # always give (pow is off by one bit for a few values)
    root_e = np.array([v ** 0.5 for v in e.tolist()])
    _polygons(draw, _ellipses(centres[:, 0], centres[:, 1],
                              np.maximum(r * root_e, 0.6),
                              np.maximum(r / root_e, 0.6), a, 8),
              _colours(nucleus, 1 / dark))
    u = _rows(rng, style.debris, 7)  # r, cx, cy, colour, aspect, angle, tone
    r = _uniform(u[:, 0], 0.8, 2.5) * s
    ink = np.where(u[:, 3:4] < 0.5, nucleus, fibre)
    _polygons(draw, _ellipses(_uniform(u[:, 1], 0, size),
                              _uniform(u[:, 2], 0, size), r,
                              r * _uniform(u[:, 4], 0.3, 1.0),
                              _uniform(u[:, 5], 0, np.pi), 5),
              _colours(ink, _uniform(u[:, 6], 0.7, 1.1)))

    img = img.filter(ImageFilter.GaussianBlur(radius=max(0.3, 0.7 * s)))
    out = np.asarray(img, dtype=np.float32)
    out *= _smooth_field(rng, size, 4, 0.06)[..., None]
    if shift is not None:
        out *= np.asarray(shift, np.float32)[None, None, :]
    out += rng.normal(0, 4.0, out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def with_palette_shift(palette: StainPalette, factor: np.ndarray
                       ) -> StainPalette:
    """A palette with every colour scaled per channel (a stain shift)."""
    f = np.asarray(factor, float)

    def sc(c):
        return tuple(int(v) for v in np.clip(np.asarray(c) * f, 0, 255))

    return replace(palette, stroma=sc(palette.stroma),
                   nucleus=sc(palette.nucleus), fibre=sc(palette.fibre),
                   lumen=sc(palette.lumen), mucin=sc(palette.mucin))
