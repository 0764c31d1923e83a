"""Cross-modal alignment losses of balanced tuning, and the negative texts.

* :class:`CLIPInfoNCELoss`: symmetric InfoNCE over the batch (the published
  captions setting, ``contrastive_loss: "clip"``).
* :class:`CrossModalTripletLoss`: ``torch.nn.TripletMarginLoss(margin=2,
  p=2)`` on L2-normalised image, positive-text and negative-text embeddings
  (the published slide setting, ``contrastive_loss: "triplet"``).
* :class:`NegativeTextPool`: every text of the training set with its sample
  and label, from which the triplet negative of each image is drawn, so a
  batch of one has a negative too.
"""
import math
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...registry import MODELS
from ...utils import InputError


def _setting(value, name: str, least: float = 0.0,
             what: str = 'a positive number') -> float:
    """A loss setting as a float, or a one-line InputError naming it.

    ``least`` 0: a finite number above 0 (a margin; a temperature, whose
    0 made the loss NaN and a negative value reversed the alignment,
    without an error). ``least`` > 0: a number at least ``least``,
    infinity included (a p-norm's ``p``)."""
    ok = isinstance(value, (int, float, np.number)) and \
        not isinstance(value, bool) and not math.isnan(value)
    if ok:
        value = float(value)
        ok = value >= least if least > 0 else \
            (value > 0 and math.isfinite(value))
    if not ok:
        raise InputError(f'{name} must be {what}, got {value!r}')
    return value


@MODELS.register_module()
class CLIPInfoNCELoss(nn.Module):
    """Symmetric InfoNCE of CLIP over a batch of matched pairs.

    ``logits = normalize(img) @ normalize(txt).T / temperature``; the loss is
    the mean of the image-to-text and text-to-image cross entropies with the
    diagonal as targets. The published code fixes the temperature at 0.07
    (its learnable scale is never given to the optimiser).

    Args:
        temperature (float): softmax temperature, a positive number (0
            gives NaN losses, a negative one reverses the alignment).
    """

    needs_negative = False

    def __init__(self, temperature: float = 0.07):
        super().__init__()
        self.temperature = _setting(temperature,
                                    'CLIPInfoNCELoss temperature')

    def forward(self, img: torch.Tensor, txt: torch.Tensor) -> torch.Tensor:
        """Args:
            img (Tensor): image embeddings ``[B, E]``.
            txt (Tensor): paired text embeddings ``[B, E]``.
        """
        img, txt = F.normalize(img, dim=1), F.normalize(txt, dim=1)
        logits = img @ txt.t() / self.temperature
        target = torch.arange(img.shape[0], device=img.device)
        return 0.5 * (F.cross_entropy(logits, target) +
                      F.cross_entropy(logits.t(), target))


@MODELS.register_module()
class CrossModalTripletLoss(nn.Module):
    """Triplet loss: image anchor, its own text, a text drawn as negative.

    ``mean_i max(0, ||a_i - p_i||_p - ||a_i - n_i||_p + margin)`` on
    L2-normalised vectors, i.e. ``torch.nn.TripletMarginLoss(margin, p)``
    after ``F.normalize`` of all three, as published. Where the negatives
    come from is the algorithm's choice (:class:`NegativeTextPool`).

    Args:
        margin (float): the margin (2.0 published), a positive number.
        p (float): the norm of the distances (2 published), at least 1
            (``inf`` the largest difference); ``p`` 0 counts the differing
            entries, a loss with no gradient.
    """

    needs_negative = True

    def __init__(self, margin: float = 2.0, p: float = 2.0):
        super().__init__()
        self.margin = _setting(margin, 'CrossModalTripletLoss margin')
        self.p = _setting(p, 'CrossModalTripletLoss p', least=1.0,
                          what='a number >= 1 (a p-norm)')
        self.criterion = nn.TripletMarginLoss(margin=self.margin, p=self.p)

    def forward(self, anchor: torch.Tensor, positive: torch.Tensor,
                negative: torch.Tensor) -> torch.Tensor:
        """Args:
            anchor (Tensor): image embeddings ``[B, E]``.
            positive (Tensor): their own text embeddings ``[B, E]``.
            negative (Tensor): one negative text embedding per row ``[B, E]``.
        """
        return self.criterion(F.normalize(anchor, dim=1),
                              F.normalize(positive, dim=1),
                              F.normalize(negative, dim=1))


def _label_key(target) -> bytes:
    """A hashable key of a label (int grade or multi-hot vector)."""
    return np.ascontiguousarray(np.asarray(target, np.float64)).tobytes()


class NegativeTextPool:
    """The texts of a training set, from which triplet negatives are drawn.

    Two rules, one per published setting:

    * ``'other_label'`` (slides and reports): a text of a sample whose label
      differs from the anchor's (multi-hot labels differ when any entry
      differs);
    * ``'other_sample'`` (images and captions): a text of any other sample.

    A negative is uniform over the texts the rule allows (the published code
    draws ``random.choice`` over them), drawn by rejection from the whole
    pool, so a draw costs O(1) on average whatever the pool size.

    Args:
        texts (Sequence[Sequence[str]]): the texts of each training sample
            (sample ``i`` owns ``texts[i]``).
        labels (Sequence): the label of each sample (an int grade or a
            multi-hot vector).
        rule (str): ``'other_label'`` or ``'other_sample'``.

    Raises:
        InputError: unknown rule, or a pool in which some sample has no
            allowed negative (one sample only; one label only).
    """

    RULES = ('other_label', 'other_sample')

    def __init__(self, texts: Sequence[Sequence[str]], labels: Sequence,
                 rule: str = 'other_label'):
        if rule not in self.RULES:
            raise InputError(f'negatives must be one of {self.RULES}, got '
                             f'{rule!r}')
        if len(texts) != len(labels):
            raise InputError(f'negative pool: {len(texts)} samples with '
                             f'texts but {len(labels)} labels')
        self.rule = rule
        self.texts: List[str] = [str(t) for ts in texts for t in ts]
        self.owner = np.concatenate(
            [np.full(len(ts), i, np.int64) for i, ts in enumerate(texts)]
            or [np.zeros(0, np.int64)])
        keys = [_label_key(lab) for lab in labels]
        index = {k: j for j, k in enumerate(dict.fromkeys(keys))}
        self.sample_label = np.array([index[k] for k in keys], np.int64)
        self._index = index
        if len(set(self.owner.tolist())) < 2:
            raise InputError('negative pool: the training set needs texts of '
                             'at least two samples')
        if rule == 'other_label' and len(index) < 2:
            raise InputError('negative pool: every training sample has the '
                             'same label, so no text of another label exists')

    def __len__(self) -> int:
        return len(self.texts)

    def label_of(self, j: int) -> int:
        """The label index (into the pool's label table) of text ``j``."""
        return int(self.sample_label[self.owner[j]])

    def _allowed(self, j: int, sample: int, label: int) -> bool:
        if self.rule == 'other_sample':
            return int(self.owner[j]) != sample
        return self.label_of(j) != label

    def sample(self, samples: Sequence[int], labels: Sequence,
               generator: Optional[torch.Generator] = None) -> List[int]:
        """Draw one negative text index per anchor.

        Args:
            samples (Sequence[int]): each anchor's index in the training set
                (``sample_idx``; used by ``'other_sample'``).
            labels (Sequence): each anchor's label (used by
                ``'other_label'``).
            generator (torch.Generator | None): source of randomness.

        Returns:
            list[int]: indices into :attr:`texts`.
        """
        n = len(self.texts)
        out = []
        for sample, lab in zip(samples, labels):
            label = self._index.get(_label_key(lab), -1)
            for _ in range(64):
                j = int(torch.randint(n, (1, ), generator=generator))
                if self._allowed(j, int(sample), label):
                    break
            else:   # rejection keeps failing: draw from the exact set
                ok = (self.owner != int(sample) if self.rule == 'other_sample'
                      else self.sample_label[self.owner] != label)
                cand = np.flatnonzero(ok)
                if not len(cand):
                    raise InputError('negative pool: no text is allowed as a '
                                     f'negative for sample {sample}')
                j = int(cand[int(torch.randint(len(cand), (1, ),
                                               generator=generator))])
            out.append(j)
        return out
