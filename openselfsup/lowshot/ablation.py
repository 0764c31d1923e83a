"""The augmentation ablation of the ICLR-22 paper, as one list of settings.

The published ``ablation.sh`` evaluates the ``wo_78`` encoder (STR and TUM
held out of pre-training) on 9-way tasks with both novel classes, 5 shots,
300 tasks, Ridge, in five parts:

==================  ===================================================
part                settings
==================  ===================================================
baseline            linear
prototypes          latent augmentation (100 aug shots) with K prototypes,
                    K in 2 4 8 16 32 64 128 256
image               image-space augmentation: each support image and
                    ``aug_times - 1`` augmented copies (``NCT_aug``
                    features), linear; published aug_times t^2, t = 2..16
latent              latent augmentation with ``num_aug_shots`` = t^2
hybrid              image x latent: ``aug_times`` = t and
                    ``num_aug_shots`` = t, t = 2..16
==================  ===================================================

:func:`ablation_settings` lists those :class:`~.spec.RunSpec` (each part's
values are arguments), :func:`ablation_table` puts their results in one
table: average F1 and the F1 of the two novel classes, mean ± 95% CI.
The runs themselves go through :func:`~.sweep.run_sweep` (one process).
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np

from .metrics import fmt_pct, mean_ci
from .spec import RunSpec

#: the published values (ablation.sh)
PUBLISHED = dict(prototypes=(2, 4, 8, 16, 32, 64, 128, 256),
                 image=tuple(t * t for t in range(2, 17)),
                 latent=tuple(t * t for t in range(2, 17)),
                 hybrid=tuple(range(2, 17)))
PARTS = ('baseline', 'prototypes', 'image', 'latent', 'hybrid')


def ablation_settings(model: str = 'clp_wo_78', shots: int = 5,
                      num_task: int = 300, clf: str = 'Ridge',
                      prototypes: Sequence[int] = PUBLISHED['prototypes'],
                      image: Sequence[int] = PUBLISHED['image'],
                      latent: Sequence[int] = PUBLISHED['latent'],
                      hybrid: Sequence[int] = PUBLISHED['hybrid'],
                      **common) -> List[Tuple[str, str, RunSpec]]:
    """The ablation's rows, part by part (an empty list skips a part).

    Args:
        model (str): the encoder pre-trained without classes 7 and 8.
        shots, num_task, clf: as published, 5, 300 and Ridge.
        prototypes: K values of the dictionary part.
        image: ``aug_times`` values of the image-space part.
        latent: ``num_aug_shots`` values of the latent part.
        hybrid: t values of the hybrid part (aug_times = num_aug_shots = t).
        common: other :class:`RunSpec` fields (seeds, num_shift_vectors).

    Returns:
        list: ``(part, value, spec)`` per table row. Two rows may share a
        spec (K = 16 with 100 aug shots is in two parts): run
        :func:`unique_specs` once each.
    """
    base = dict(model=model, task='near', shots=shots, clf=clf,
                novel_class=78, num_task=num_task, **common)
    rows = [('baseline', '–', RunSpec(mode='linear', **base))]
    rows += [('prototypes', f'K={k}',
              RunSpec(mode='latent_aug', num_prototypes=k, **base))
             for k in prototypes]
    rows += [('image', f'aug_times={t}',
              RunSpec(mode='linear', aug_times=t, **base)) for t in image]
    rows += [('latent', f'aug shots={a}',
              RunSpec(mode='latent_aug', num_aug_shots=a, **base))
             for a in latent]
    rows += [('hybrid', f'aug_times=aug shots={t}',
              RunSpec(mode='latent_aug', aug_times=t, num_aug_shots=t,
                      **base)) for t in hybrid]
    return rows


def unique_specs(rows) -> List[RunSpec]:
    """The distinct specs of :func:`ablation_settings`' rows, in order."""
    return list(dict.fromkeys(spec for _, _, spec in rows))


def ablation_table(rows, results: Sequence[Dict]) -> str:
    """One Markdown table: part, value, average F1 and the F1 of the novel
    classes STR and TUM (their per-task mean), mean ± 95% CI (percent).

    Args:
        rows: from :func:`ablation_settings`.
        results: the result of each of :func:`unique_specs`, in order.
    """
    by_spec = dict(zip(unique_specs(rows), results))
    lines = ['| part | value | average F1 (%) | novel STR+TUM F1 (%) |',
             '|---|---|---:|---:|']
    for part, value, spec in rows:
        r = by_spec[spec]
        f1 = np.asarray(r['per_task_f1'], dtype=np.float64)
        novel_mean, novel_ci = mean_ci(f1[:, [7, 8]].mean(1))
        lines.append(f'| {part} | {value} | '
                     f'{fmt_pct(r["average_mean"])} ± '
                     f'{fmt_pct(r["average_ci"])} | {fmt_pct(novel_mean)} ± '
                     f'{fmt_pct(novel_ci)} |')
    return '\n'.join(lines) + '\n'
