"""Synthetic patient / slide / patch histology for HiDisc and HLSS.

Each class has a tissue look (a :data:`~.tissue.STYLES` entry); a patient
inherits it with its own variation (nuclear density, a stain shift of the
palette); each slide of a patient adds a slide-level stain and scanner shift
(per-channel gain). So class, patient and slide each leave a trace in the
pixels, and the hierarchy carries signal.

Written layout (``root`` =  ``--out``)::

    root/patches/<patient>/<slide>/<n>.png
    root/metadata.json   {patient: {"class", "slides": {slide: [paths]}}}
    root/split.json      {"train": [patients], "val": [patients]}

Patch paths are relative to ``root`` (the metadata's folder). ``root`` is
the generator's (:mod:`.ownership`): another folder is refused, its own is
emptied before it is written again (an interrupted run never leaves old
metadata beside new patches).
"""
import math
import os
from dataclasses import dataclass, replace
from typing import Dict, Sequence, Tuple

import numpy as np
from PIL import Image

from ...utils import (InputError, check_distinct, check_seed,
                      check_writable_dir, save_json)
from ...utils.progress import progress_bar
from .layouts import check_counts
from .ownership import KINDS, claim, generator, mark_done
from .tissue import PALETTES, STYLES, render_patch, with_palette_shift

#: what :func:`make_synthetic_hierarchical` writes, for the tool's
#: ``--help`` (``tests/test_synthetic.py`` holds it to a run's files)
WRITTEN = """\
written under --out:
  patches/<patient>/<slide>/<n>.png  the patches
  metadata.json   {patient: {"class", "slides": {slide: [patch paths]}}}
  split.json      {"train": [patients], "val": [patients]}
  SYNTHETIC.json  marks the folder as the generator's
"""


@dataclass
class HierarchicalSpec:
    """How much synthetic hierarchical data to write.

    Args:
        size: patch width and height in px.
        classes: tissue styles (keys of ``STYLES``), one per class.
        train_patients: training patients per class.
        val_patients: validation patients per class.
        slides: (min, max) slides per patient, inclusive.
        patches: (min, max) patches per slide, inclusive.
        palette: stain palette (key of ``PALETTES``).
        patient_shift: std of a patient's per-channel palette factor.
        patient_density: (min, max) factor on the style's nucleus count.
        slide_shift: std of a slide's per-channel stain/scanner gain.
        seed: seed of every random choice.
    """
    size: int = 64
    classes: Sequence[str] = ('TUM', 'NORM', 'STR')
    train_patients: int = 6
    val_patients: int = 3
    slides: Tuple[int, int] = (1, 3)
    patches: Tuple[int, int] = (2, 6)
    palette: str = 'nct'
    patient_shift: float = 0.06
    patient_density: Tuple[float, float] = (0.7, 1.3)
    slide_shift: float = 0.08
    seed: int = 0

    def check(self) -> None:
        """One line naming the ``make_synthetic_hierarchical.py`` flag of a
        bad value (a count below 1, a range whose minimum exceeds its
        maximum, a negative or non-finite shift, a seed outside [0, 2^63), an
        unknown style or one given twice)."""
        unknown = [c for c in self.classes if c not in STYLES]
        if unknown:
            raise InputError(f'--classes {" ".join(unknown)}: unknown '
                             f'tissue style; choose from '
                             f'{" ".join(sorted(STYLES))}')
        check_counts([('--size', self.size),
                      ('--train-patients', self.train_patients),
                      ('--val-patients', self.val_patients)])
        for flag, (low, high) in (('--slides', self.slides),
                                  ('--patches', self.patches)):
            if low < 1 or high < low:
                raise InputError(f'{flag} {low} {high}: MIN must be at least '
                                 '1 and MAX at least MIN')
        for flag, value in (('--patient-shift', self.patient_shift),
                            ('--slide-shift', self.slide_shift)):
            # NaN passed 'value < 0' and wrote every patch black
            if not math.isfinite(value) or value < 0:
                raise InputError(f'{flag} {value}: must be a finite number '
                                 'of at least 0')
        # the seed rule of every command (a seed is no 'finite number', and
        # math.isfinite of a huge integer raised OverflowError)
        check_seed(self.seed)
        # a style given twice made two classes of one look and one name
        check_distinct('--classes', self.classes)


#: what the folder's marker names as its generator and data
#: (:func:`~.ownership.check_ours`)
KIND = KINDS['hierarchical'][0]


@generator  # one run at a time in root
def make_synthetic_hierarchical(root: str, spec: HierarchicalSpec
                                ) -> Dict[str, int]:
    """Write patches, ``metadata.json`` and ``split.json`` under ``root``.

    The JSON files are written last (atomically) into an emptied folder, so
    an interrupted run never leaves metadata naming missing or other
    patches.

    Args:
        root (str): output folder.
        spec (HierarchicalSpec): sizes, counts, variation and seed.

    Returns:
        dict[str, int]: counts of patients, slides and patches per split.
    """
    spec.check()
    check_writable_dir(root)
    # refused unless ours; emptied: no old patches left beside
    claim(root, kind=KIND)
    rng = np.random.default_rng([spec.seed, 7])
    base_palette = PALETTES[spec.palette]
    metadata, split = {}, {'train': [], 'val': []}
    jobs = []
    counts = {f'{s} {k}': 0 for s in split for k in ('patients', 'slides',
                                                     'patches')}
    for part, n_pat in (('train', spec.train_patients),
                        ('val', spec.val_patients)):
        for cls in spec.classes:
            for _ in range(n_pat):
                pid = f'P{len(metadata):04d}'
                style = STYLES[cls]
                style = replace(style, nuclei=max(1, int(round(
                    style.nuclei * rng.uniform(*spec.patient_density)))))
                palette = with_palette_shift(
                    base_palette, 1 + rng.normal(0, spec.patient_shift, 3))
                slides = {}
                for si in range(rng.integers(spec.slides[0],
                                             spec.slides[1] + 1)):
                    sid = f'{pid}_S{si}'
                    gain = 1 + rng.normal(0, spec.slide_shift, 3)
                    paths = []
                    for k in range(rng.integers(spec.patches[0],
                                                spec.patches[1] + 1)):
                        rel = f'patches/{pid}/{sid}/{k}.png'
                        paths.append(rel)
                        jobs.append((os.path.join(root, rel), style, palette,
                                     gain))
                    slides[sid] = paths
                    counts[f'{part} slides'] += 1
                    counts[f'{part} patches'] += len(paths)
                metadata[pid] = {'class': cls, 'slides': slides}
                split[part].append(pid)
                counts[f'{part} patients'] += 1
    seqs = np.random.SeedSequence([spec.seed, 8]).spawn(len(jobs))
    for (path, style, palette, gain), seq in progress_bar(
            list(zip(jobs, seqs)), desc='hierarchical', unit='img',
            leave=False):
        img = render_patch(np.random.default_rng(seq), style, palette,
                           spec.size, gain)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Image.fromarray(img).save(path)
    save_json(os.path.join(root, 'split.json'), split)
    save_json(os.path.join(root, 'metadata.json'), metadata)
    mark_done(root, kind=KIND)
    return counts
