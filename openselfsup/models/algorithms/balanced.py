"""Balanced cross-modal tuning ("A Balancing Act", MIDL 2025).

A task-specific vision model (backbone + task head) is tuned toward a frozen
text encoder with::

    L = balance * L_contrastive + (1 - balance) * L_task

``balance`` (the paper's lambda) = 0 is plain task training, 1 is plain
contrastive alignment. Both unweighted terms are logged (``task``,
``contrastive``); only ``loss`` is optimised.

As published, the vision feature that feeds the task head is the embedding
aligned with the text: no projection unless the config names one.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from ...registry import MODELS
from ...utils import InputError, check_fraction
from ..losses.cross_modal import NegativeTextPool
from ..text_encoders import build_text_encoder


@MODELS.register_module()
class BalancedCrossModal(BaseModel):
    """Vision model with a task head, aligned to a frozen text encoder.

    Args:
        backbone (dict): vision encoder config; returns a tuple whose last
            item is ``[B, C]`` (:class:`TimmVisionTransformer`,
            :class:`LocalGlobalHIPT`). A ``classifier_state`` it read from
            its checkpoint is loaded into the task head when the shapes fit.
        head (dict): task head config (:class:`LinearTaskHead`); its
            ``in_channels`` is ``C``.
        text_encoder (dict): frozen text encoder config (see
            :func:`build_text_encoder`).
        balance (float): lambda in [0, 1], the weight of the contrastive term.
        contrastive_loss (dict): ``CrossModalTripletLoss`` (margin 2, p 2,
            normalised; the negative of each image is drawn from the whole
            training set) or ``CLIPInfoNCELoss`` (in-batch).
        negatives (str): how triplet negatives are drawn from the training
            texts: ``'other_label'`` (a text of a sample with another label;
            the published slide setting) or ``'other_sample'`` (a text of any
            other sample; the published captions setting).
        projection (str | None): None (published): the vision feature ``C``
            is compared with the text embedding directly, so the widths must
            be equal. ``'text'``: a trainable linear map from the text width
            to ``C`` (the task head still reads the aligned feature).
            ``'vision'``: a trainable linear map from ``C`` to the text width
            (the task head reads the feature before it).
        neck (dict | None): optional neck between backbone and head.
        seed (int): seed of the generator that picks the caption of each
            training sample (when it has several) and the triplet negatives.
        cache_text (bool): keep text embeddings of seen texts (the encoder is
            frozen, so they never change).
        data_preprocessor (dict | None): MMEngine data preprocessor config.
        init_cfg (dict | None): initialisation config.

    The triplet negatives come from :meth:`set_negative_pool`, which
    ``NegativeTextPoolHook`` calls with the training set before training.
    """

    #: the arguments it builds through a registry, in the run's scope, and
    #: the library whose registry each build is called on
    #: (``config.REGISTRY_BUILT``: what the scope check follows)
    #: (the data preprocessor by MMEngine's ``BaseModel``)
    REGISTRY_BUILT = {'backbone': 'openselfsup', 'neck': 'openselfsup',
                      'head': 'openselfsup', 'text_encoder': 'openselfsup',
                      'contrastive_loss': 'openselfsup',
                      'data_preprocessor': 'mmengine'}

    def __init__(self, backbone: dict, head: dict, text_encoder: dict,
                 balance: float = 0.5,
                 contrastive_loss: dict = dict(type='CrossModalTripletLoss',
                                               margin=2.0),
                 negatives: str = 'other_label',
                 projection: Optional[str] = None,
                 neck: Optional[dict] = None, seed: int = 0,
                 cache_text: bool = True,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.balance = check_fraction(balance, 'model.balance (lambda)')
        if negatives not in NegativeTextPool.RULES:
            raise InputError(f'negatives must be one of '
                             f'{NegativeTextPool.RULES}, got {negatives!r}')
        self.negatives = negatives
        # Held outside the module tree: never in the optimiser, never in a
        # checkpoint (it is rebuilt from the config), never trained.
        self.__dict__['text_encoder'] = build_text_encoder(text_encoder)
        # it embeds the captions batch by batch: texts longer than it reads
        # are said once for the run, not once a batch
        self.text_encoder.say_cut_once = True
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)
        state = getattr(self.backbone, 'classifier_state', None)
        if state:
            self.head.load_classifier(state, str(backbone.get('checkpoint')))
        self.contrastive_loss = MODELS.build(contrastive_loss)
        width, tdim = self.head.in_channels, self.text_encoder.dim
        self.projection = projection
        self.vision_proj, self.text_proj = nn.Identity(), nn.Identity()
        if projection is None:
            if width != tdim:
                raise InputError(
                    f'the vision feature is {width}-d but the text encoder '
                    f'gives {tdim}-d: set model.projection to "text" (a '
                    f'linear map {tdim} -> {width}) or "vision" ({width} -> '
                    f'{tdim}), or use encoders of equal width')
        elif projection == 'text':
            self.text_proj = nn.Linear(tdim, width)
        elif projection == 'vision':
            self.vision_proj = nn.Linear(width, tdim)
        else:
            raise InputError(f'projection must be None, "text" or "vision", '
                             f'got {projection!r}')
        self.generator = torch.Generator().manual_seed(int(seed))
        self.cache_text = cache_text
        self._text_cache: Dict[str, torch.Tensor] = {}
        self.negative_pool: Optional[NegativeTextPool] = None

    # ---- parts -------------------------------------------------------------
    def extract_feat(self, inputs) -> torch.Tensor:
        """Vision features ``[B, C]`` (the task head's input)."""
        x = self.backbone(inputs)
        if self.neck is not None:
            x = self.neck(x)
        return x[-1] if isinstance(x, (tuple, list)) else x

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Frozen text embeddings ``[N, text_dim]`` on the model's device."""
        device = self.vision_device
        enc = self.text_encoder
        if enc.device != device:
            enc.to(device)
        if not self.cache_text:
            return enc.encode(list(texts))
        cache = self._text_cache
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            for t, e in zip(missing, enc.encode(missing).cpu()):
                self._text_cache[t] = e
        return torch.stack([self._text_cache[t] for t in texts]).to(device)

    @property
    def vision_device(self) -> torch.device:
        return next(self.head.parameters()).device

    def set_negative_pool(self, texts: Sequence[Sequence[str]],
                          labels: Sequence) -> None:
        """Set the training texts the triplet negatives are drawn from.

        Args:
            texts (Sequence[Sequence[str]]): the texts of each training
                sample, in dataset order (sample ``i`` has ``sample_idx`` i).
            labels (Sequence): the label of each sample.
        """
        self.negative_pool = NegativeTextPool(texts, labels, self.negatives)

    def _targets(self, data_samples) -> torch.Tensor:
        return torch.stack([torch.as_tensor(ds.target) for ds in data_samples]
                           ).to(self.vision_device)

    def _pick_captions(self, data_samples) -> List[str]:
        out = []
        for ds in data_samples:
            caps = ds.captions
            k = int(torch.randint(len(caps), (1, ), generator=self.generator))
            out.append(caps[k])
        return out

    def negative_texts(self, data_samples) -> List[str]:
        """One negative text per sample, drawn from the negative pool."""
        pool = self.negative_pool
        if pool is None:
            raise InputError(
                'no negative pool: a triplet loss needs NegativeTextPoolHook '
                'in custom_hooks (configs/_base_/balance_runtime.py has it) '
                'or model.set_negative_pool(texts, labels)')
        if self.negatives == 'other_sample':
            if not all('sample_idx' in ds for ds in data_samples):
                raise InputError("negatives='other_sample' needs 'sample_idx' "
                                 'in the PackInputs meta_keys')
            samples = [int(ds.sample_idx) for ds in data_samples]
        else:
            samples = [-1] * len(data_samples)
        labels = [torch.as_tensor(ds.target).cpu().numpy()
                  for ds in data_samples]
        idx = pool.sample(samples, labels, self.generator)
        return [pool.texts[j] for j in idx]

    # ---- MMEngine interface ------------------------------------------------
    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        """``loss`` = weighted sum; ``task`` and ``contrastive`` unweighted."""
        lam = self.balance
        feats = self.extract_feat(inputs)
        target = self._targets(data_samples)
        l_task = self.head.loss(self.head(feats), target)
        img = self.vision_proj(feats)
        pos = self.text_proj(
            self.encode_text(self._pick_captions(data_samples)))
        if getattr(self.contrastive_loss, 'needs_negative', False):
            neg = self.text_proj(
                self.encode_text(self.negative_texts(data_samples)))
            l_con = self.contrastive_loss(img, pos, neg)
        else:
            l_con = self.contrastive_loss(img, pos)
        # both terms in the graph, a weight of 0 too, as published: the
        # parameters of a 0-weighted term (the task head at lambda 1) get
        # zero gradients, not none, so AdamW still decays them
        total = lam * l_con + (1 - lam) * l_task
        return dict(loss=total, task=l_task.detach(),
                    contrastive=l_con.detach())

    @torch.no_grad()
    def predict(self, inputs, data_samples):
        """Fill each data sample with ``pred_score`` (probabilities, or the
        raw regression output), ``pred_logits``, ``img_emb`` (``[E]``, unit
        norm) and ``txt_emb`` (``[n_captions, E]``, unit norm)."""
        feats = self.extract_feat(inputs)
        logits = self.head(feats)
        scores = self.head.predict(logits)
        img = F.normalize(self.vision_proj(feats), dim=1)
        caps = [list(ds.captions) for ds in data_samples]
        flat = [c for cs in caps for c in cs]
        txt = F.normalize(self.text_proj(self.encode_text(flat)), dim=1)
        start = 0
        for i, ds in enumerate(data_samples):
            n = len(caps[i])
            ds.set_field(scores[i], 'pred_score')
            ds.set_field(logits[i], 'pred_logits')
            ds.set_field(img[i], 'img_emb')
            ds.set_field(txt[start:start + n], 'txt_emb')
            start += n
        return data_samples
