"""Synthetic paired vision-text data for balanced cross-modal tuning.

Two settings, each written with the files the real data would have:

* **Captioned images** (natural-image stand-in, multi-label): each image is
  a 2 x 2 mosaic of tissue patches from :func:`tissue.render_patch`, one
  style per quadrant, so the image carries 1 to 3 labels (the styles it
  shows). Captions are made from the labels by templates. Writes
  ``images/<id>.png``, ``classes.txt`` and fold JSONs ``train.json`` /
  ``val.json`` ``{image_id: {"labels": [...], "captions": [...]}}``.
* **Slide reports** (ISUP grade 0-5): each case is ``M`` regions of 64 patch
  features of width ``D`` (``features/<case_id>.pt``, float ``[M, 64, D]``).
  Patch features are a Gleason-pattern prototype (benign, 3, 4, 5) plus
  noise; the grade decides the tumour patterns and how much of the slide
  they cover. Reports are templated from the grade and Gleason score.
  ``train.json`` / ``val.json`` ``{case_id: {"label": g, "report": text}}``.

Each setting's folder is the generator's (:mod:`.ownership`): another
folder is refused, its own is emptied before it is written again.
"""
import os
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

from ...utils import (InputError, atomic_path, check_seed, save_json,
                      save_text, save_torch)
from ...utils.progress import progress_bar
from .layouts import check_counts
from .ownership import KINDS as GENERATORS, claim, generator, mark_done
from .tissue import PALETTES, STYLES, render_patch

#: what ``make_crossmodal.py`` writes, for its ``--help``
#: (``tests/test_synthetic.py`` holds it to the files a run writes)
WRITTEN = """\
written under --out, one folder per setting of --settings:
  images/images/<image_id>.png  2x2 tissue mosaics (1 to 3 labels)
  images/classes.txt            class names
  images/{train,val}.json       {image_id: {"labels", "captions"}}
  slides/features/<case_id>.pt  region features, float [M, 64, D]
  slides/{train,val}.json       {case_id: {"label": ISUP grade, "report"}}
  <setting>/SYNTHETIC.json      marks the folder as the generator's
"""

#: image classes: tissue style -> words used in captions
IMAGE_CLASSES: Dict[str, str] = {
    'ADI': 'adipose tissue', 'LYM': 'lymphocytes', 'MUC': 'mucus',
    'MUS': 'smooth muscle', 'STR': 'stroma', 'TUM': 'tumour epithelium'}

_CAPTION_TEMPLATES = (
    'a patch showing {}', 'histology image with {}', '{} visible in this field',
    'tissue containing {}', 'microscopy of {}')

#: ISUP grade group -> (primary, secondary) Gleason patterns to draw from
_GLEASON: Dict[int, Tuple[Tuple[int, int], ...]] = {
    0: ((0, 0), ), 1: ((3, 3), ), 2: ((3, 4), ), 3: ((4, 3), ),
    4: ((4, 4), (3, 5), (5, 3)), 5: ((4, 5), (5, 4), (5, 5))}


@dataclass
class CaptionedImagesSpec:
    """How much captioned-image data to write.

    Args:
        size (int): image width and height in px.
        train (int): training images.
        val (int): validation images.
        captions (int): captions per image.
        seed (int): seed of every random choice.
    """
    size: int = 32
    train: int = 300
    val: int = 150
    captions: int = 2
    seed: int = 0

    def check(self) -> None:
        """One line naming the ``make_crossmodal.py`` flag of a count below
        1 or a seed outside [0, 2^63)."""
        check_counts([('--size', self.size), ('--images-train', self.train),
                      ('--images-val', self.val),
                      ('--captions', self.captions)])
        check_seed(self.seed)


@dataclass
class SlideReportsSpec:
    """How much slide data to write.

    Args:
        train (int): training cases.
        val (int): validation cases.
        feat_dim (int): feature width ``D``.
        min_regions (int): fewest regions per slide.
        max_regions (int): most regions per slide.
        signal (float): norm of each Gleason-pattern prototype.
        noise (float): per-dimension std of the patch noise.
        seed (int): seed of every random choice.
    """
    train: int = 160
    val: int = 90
    feat_dim: int = 32
    min_regions: int = 3
    max_regions: int = 5
    signal: float = 2.0
    noise: float = 1.0
    seed: int = 0

    def check(self) -> None:
        """One line naming the ``make_crossmodal.py`` flag of a count below
        1 or a seed outside [0, 2^63)."""
        check_counts([('--slides-train', self.train),
                      ('--slides-val', self.val),
                      ('--feat-dim', self.feat_dim),
                      ('min_regions', self.min_regions),
                      ('max_regions', self.max_regions)])
        check_seed(self.seed)
        if self.max_regions < self.min_regions:
            raise InputError(f'max_regions {self.max_regions} < min_regions '
                             f'{self.min_regions}')


def _join(words: List[str]) -> str:
    return words[0] if len(words) == 1 else \
        ', '.join(words[:-1]) + ' and ' + words[-1]


def make_caption(rng: np.random.Generator, names: List[str]) -> str:
    """One templated caption naming every label in ``names`` (random order)."""
    words = [IMAGE_CLASSES[n] for n in names]
    words = [words[i] for i in rng.permutation(len(words))]
    t = _CAPTION_TEMPLATES[rng.integers(len(_CAPTION_TEMPLATES))]
    return t.format(_join(words))


def render_mosaic(rng: np.random.Generator, names: List[str],
                  size: int) -> np.ndarray:
    """A 2 x 2 mosaic in which every style of ``names`` fills >= 1 quadrant."""
    quads = list(names) + list(rng.choice(names, 4 - len(names)))
    quads = [quads[i] for i in rng.permutation(4)]
    out = np.zeros((size, size, 3), np.uint8)
    h = size // 2
    for q, name in enumerate(quads):
        patch = render_patch(rng, STYLES[name], PALETTES['nct'], size)
        ys, xs = (q // 2) * h, (q % 2) * h
        ye = size if q // 2 else h
        xe = size if q % 2 else h
        out[ys:ye, xs:xe] = patch[ys:ye, xs:xe]
    return out


#: what each setting's folder marker names as its generator and data
#: (:func:`~.ownership.check_ours`)
KINDS = {s: GENERATORS[s][0] for s in ('images', 'slides')}


@generator  # one run at a time in root
def make_captioned_images(root: str, spec: CaptionedImagesSpec) -> Dict:
    """Write the captioned multi-label image setting under ``root``.

    Returns:
        dict: number of images per split.
    """
    spec.check()
    # refused unless ours; emptied: no old images left beside
    claim(root, kind=KINDS['images'])
    classes = list(IMAGE_CLASSES)
    rng = np.random.default_rng(spec.seed)
    seqs = np.random.SeedSequence(spec.seed).spawn(spec.train + spec.val)
    folds = {'train': {}, 'val': {}}
    jobs = []
    for i in range(spec.train + spec.val):
        split = 'train' if i < spec.train else 'val'
        k = int(rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2]))
        names = [classes[j] for j in sorted(rng.choice(len(classes), k,
                                                       replace=False))]
        image_id = f'{split}_{i:05d}'
        caps = list(dict.fromkeys(make_caption(rng, names)
                                  for _ in range(spec.captions)))
        folds[split][image_id] = dict(labels=names, captions=caps)
        jobs.append((image_id, names, seqs[i]))
    img_dir = os.path.join(root, 'images')
    os.makedirs(img_dir, exist_ok=True)
    for image_id, names, seq in progress_bar(jobs, desc='captioned images',
                                             unit='img', leave=False):
        arr = render_mosaic(np.random.default_rng(seq), names, spec.size)
        path = os.path.join(img_dir, f'{image_id}.png')
        with atomic_path(path) as tmp:
            Image.fromarray(arr).save(tmp, format='PNG')
    save_text(os.path.join(root, 'classes.txt'),
              ''.join(f'{c}\n' for c in classes))
    for split, fold in folds.items():
        save_json(os.path.join(root, f'{split}.json'), fold)
    mark_done(root, kind=KINDS['images'])
    return {k: len(v) for k, v in folds.items()}


def make_report(rng: np.random.Generator, grade: int, primary: int,
                secondary: int, cover: float) -> str:
    """A templated pathology report for an ISUP grade group."""
    if grade == 0:
        return str(rng.choice([
            'Benign prostatic tissue. No carcinoma identified.',
            'Prostate biopsy negative for malignancy, benign glands only.',
            'No evidence of carcinoma; benign prostatic glands and stroma.']))
    pct = int(round(100 * cover))
    score = f'{primary}+{secondary}={primary + secondary}'
    return str(rng.choice([
        f'Prostatic adenocarcinoma, Gleason score {score}, ISUP grade group '
        f'{grade}.',
        f'Acinar adenocarcinoma, Gleason {score} (grade group {grade}), '
        f'involving {pct}% of the tissue.',
        f'Carcinoma present, grade group {grade}; Gleason pattern {primary} '
        f'predominant with pattern {secondary}.']))


def _slide_features(rng: np.random.Generator, protos: np.ndarray, grade: int,
                    spec: SlideReportsSpec) -> Tuple[np.ndarray, int, int,
                                                     float]:
    m = int(rng.integers(spec.min_regions, spec.max_regions + 1))
    primary, secondary = _GLEASON[grade][rng.integers(len(_GLEASON[grade]))]
    patterns = np.zeros((m, 64), int)          # 0 benign, 1..3 = Gleason 3..5
    cover = 0.0
    if grade > 0:
        n_tum = max(1, int(round(m * rng.uniform(0.3, 0.8))))
        tum_regions = rng.choice(m, n_tum, replace=False)
        for r in tum_regions:
            pat = primary if rng.random() < 0.65 else secondary
            frac = rng.uniform(0.5, 0.9)
            hit = rng.random(64) < frac
            patterns[r, hit] = pat - 2
        cover = float((patterns > 0).mean())
    feats = protos[patterns] + rng.normal(0, spec.noise,
                                          (m, 64, spec.feat_dim))
    return feats.astype(np.float32), primary, secondary, cover


@generator  # one run at a time in root
def make_slide_reports(root: str, spec: SlideReportsSpec) -> Dict:
    """Write the slide / report ISUP setting under ``root``.

    Returns:
        dict: number of cases per split.
    """
    import torch  # only here: the generators load without torch
    spec.check()
    # refused unless ours; emptied: no old cases left beside
    claim(root, kind=KINDS['slides'])
    rng = np.random.default_rng(spec.seed)
    protos = rng.normal(0, 1, (4, spec.feat_dim))
    protos *= spec.signal / np.linalg.norm(protos, axis=1, keepdims=True)
    seqs = np.random.SeedSequence(spec.seed + 1).spawn(spec.train + spec.val)
    feat_dir = os.path.join(root, 'features')
    os.makedirs(feat_dir, exist_ok=True)
    folds = {'train': {}, 'val': {}}
    for i, seq in enumerate(progress_bar(seqs, desc='slides', unit='case',
                                         leave=False)):
        split = 'train' if i < spec.train else 'val'
        r = np.random.default_rng(seq)
        grade = int(i % 6) if split == 'val' else int(r.integers(6))
        feats, p, s, cover = _slide_features(r, protos, grade, spec)
        case_id = f'case_{i:05d}'
        save_torch(os.path.join(feat_dir, f'{case_id}.pt'),
                   torch.from_numpy(feats))
        folds[split][case_id] = dict(label=grade,
                                     report=make_report(r, grade, p, s, cover))
    for split, fold in folds.items():
        save_json(os.path.join(root, f'{split}.json'), fold)
    mark_done(root, kind=KINDS['slides'])
    return {k: len(v) for k, v in folds.items()}
