"""Cross-modal alignment losses: symmetric CLIP InfoNCE and a triplet loss.

Both take image embeddings ``[B, E]`` and the embeddings of their paired
texts ``[B, E]`` (row ``i`` of one is the pair of row ``i`` of the other) and
return a scalar.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ...registry import MODELS


@MODELS.register_module()
class CLIPInfoNCELoss(nn.Module):
    """Symmetric InfoNCE of CLIP over a batch of matched pairs.

    ``logits = normalize(img) @ normalize(txt).T / temperature``; the loss is
    the mean of the image-to-text and text-to-image cross entropies with the
    diagonal as targets.

    Args:
        temperature (float): softmax temperature (CLIP's learned value
            converges near 0.01; the paper fixes 0.07).
        normalize (bool): L2-normalise both sides first.
    """

    def __init__(self, temperature: float = 0.07, normalize: bool = True):
        super().__init__()
        self.temperature = float(temperature)
        self.normalize = normalize

    def forward(self, img: torch.Tensor, txt: torch.Tensor,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Args:
            img (Tensor): image embeddings ``[B, E]``.
            txt (Tensor): paired text embeddings ``[B, E]``.
            labels: ignored (same signature as the triplet loss).
        """
        if self.normalize:
            img, txt = F.normalize(img, dim=1), F.normalize(txt, dim=1)
        logits = img @ txt.t() / self.temperature
        target = torch.arange(img.shape[0], device=img.device)
        return 0.5 * (F.cross_entropy(logits, target) +
                      F.cross_entropy(logits.t(), target))


def sample_other_label(labels: torch.Tensor,
                       generator: Optional[torch.Generator] = None
                       ) -> Tuple[torch.Tensor, torch.Tensor]:
    """For each row pick, uniformly at random, a row with a different label.

    Args:
        labels (Tensor): ``[B]`` class indices / grades, or ``[B, C]``
            multi-hot vectors (rows differ when any entry differs).
        generator (torch.Generator | None): source of randomness (CPU).

    Returns:
        tuple(Tensor, Tensor): ``idx [B]`` (long) and ``valid [B]`` (bool);
        where ``valid`` is False no row with another label exists and
        ``idx`` is meaningless.
    """
    lab = labels.detach().cpu()
    if lab.dim() == 1:
        lab = lab.unsqueeze(1)
    differs = (lab.unsqueeze(1) != lab.unsqueeze(0)).any(-1)   # [B, B]
    valid = differs.any(1)
    weights = differs.float()
    weights[~valid] = 1.0           # placeholder rows, masked out by valid
    idx = torch.multinomial(weights, 1, generator=generator).squeeze(1)
    return idx.to(labels.device), valid.to(labels.device)


@MODELS.register_module()
class CrossModalTripletLoss(nn.Module):
    """Triplet loss: image anchor, its own text positive, a text of another label.

    ``mean_i max(0, ||a_i - p_i|| - ||a_i - n_i|| + margin)`` over anchors that
    have a negative in the batch (a text whose label differs from the
    anchor's; chosen at random). With ``symmetric`` the text-anchored triplet
    (text anchor, its image, an image of another label) is averaged in.

    Args:
        margin (float): the margin (2.0 in the paper).
        normalize (bool): L2-normalise embeddings before the distances.
        symmetric (bool): also use text anchors.
        seed (int): seed of the negative sampler's generator.
    """

    def __init__(self, margin: float = 2.0, normalize: bool = False,
                 symmetric: bool = False, seed: int = 0):
        super().__init__()
        self.margin = float(margin)
        self.normalize = normalize
        self.symmetric = symmetric
        self.generator = torch.Generator().manual_seed(int(seed))

    def triplet(self, anchor: torch.Tensor, positive: torch.Tensor,
                negative: torch.Tensor,
                valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Mean hinge over rows (where ``valid``); 0 with a graph if none."""
        d_pos = (anchor - positive).norm(dim=1)
        d_neg = (anchor - negative).norm(dim=1)
        hinge = F.relu(d_pos - d_neg + self.margin)
        if valid is None:
            return hinge.mean()
        if not bool(valid.any()):
            return hinge.sum() * 0.0
        return hinge[valid].mean()

    def forward(self, img: torch.Tensor, txt: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Args:
            img (Tensor): image embeddings ``[B, E]``.
            txt (Tensor): paired text embeddings ``[B, E]``.
            labels (Tensor): ``[B]`` or multi-hot ``[B, C]`` labels that
                decide which texts are negatives.
        """
        if self.normalize:
            img, txt = F.normalize(img, dim=1), F.normalize(txt, dim=1)
        idx, valid = sample_other_label(labels, self.generator)
        loss = self.triplet(img, txt, txt[idx], valid)
        if self.symmetric:
            idx2, valid2 = sample_other_label(labels, self.generator)
            loss = 0.5 * (loss + self.triplet(txt, img, img[idx2], valid2))
        return loss
