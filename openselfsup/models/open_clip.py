"""open_clip's CLIP towers for HLSS: the image tower as a trained backbone, the
text tower as a frozen text encoder used once, when the model is built.

HLSS (Watawana et al. 2024) trains the image tower of a CLIP ResNet-50
(open_clip ``RN50-quickgelu``, CC12M weights) and initialises its per-level
heads from the text tower's embeddings of attribute descriptions, so that the
image features and the text live in one space. Both towers come from one
open_clip checkpoint file:

* :class:`OpenCLIPImageTower` (``MODELS``): ``CLIP.visual``, returning the
  L2-normalised image embedding (``encode_image(normalize=True)``, 1024-d for
  RN50) as a one-tuple, like mmpretrain backbones;
* :class:`OpenCLIPText` (``MODELS``, a frozen text encoder of
  :mod:`openselfsup.models.text_encoders`): ``CLIP.encode_text`` with the
  model's own tokenizer.

Weights: ``pretrained='/path/to/rn50-quickgelu-cc12m.pt'`` (a state dict,
optionally under ``'state_dict'`` with ``module.`` prefixes, as open_clip
writes; read with ``torch.load(weights_only=True)``). Without one, the
architecture starts at open_clip's random initialisation and one warning line
says so (once per process and model name), so that tests and the demo run
offline. A missing, unreadable or mismatched file stops with one line naming
it.

``model_cfg`` overrides open_clip's model config (``embed_dim``, and keys of
``vision_cfg`` / ``text_cfg``, merged one level deep), e.g. the demo's narrow
RN50::

    model_cfg=dict(embed_dim=64,
                   vision_cfg=dict(image_size=32, width=8),
                   text_cfg=dict(width=64, heads=2, layers=2))

open_clip is imported only when one of these is built (``pip install
"openselfsup-histo[hlss]"``).
"""
import logging
import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule

from ..config import config_dicts, model_file_problem, type_name
from ..registry import MODELS
from ..utils import InputError, Once
from ..utils.progress import progress_bar
from .state_dict import load_state
from .text_encoders import _FrozenTextEncoder

#: (model name, tower) built without weights (one warning each)
_WARNED_RANDOM = Once()
#: how the warning of a tower built without weights names it
_TOWERS = {'OpenCLIPImageTower': 'the image tower starts',
           'OpenCLIPText': 'the text tower starts'}


def _open_clip():
    try:
        import open_clip
    except ImportError as exc:
        raise InputError('open_clip is not installed: pip install '
                         '"openselfsup-histo[hlss]" (open_clip_torch)') \
            from exc
    return open_clip


def clip_config(model_name: str, model_cfg: Optional[dict] = None) -> dict:
    """open_clip's config of ``model_name`` with ``model_cfg`` merged in.

    Args:
        model_name (str): a built-in open_clip model (``RN50-quickgelu``).
        model_cfg (dict, optional): overrides; ``vision_cfg`` and
            ``text_cfg`` are merged key by key, other keys replaced.

    Raises:
        InputError: unknown model, or one whose towers come from timm or
            Hugging Face (not supported here).
    """
    oc = _open_clip()
    cfg = oc.get_model_config(model_name)
    if cfg is None:
        raise InputError(f'open_clip has no model {model_name!r} (e.g. '
                         'RN50-quickgelu; see open_clip.list_models())')
    for key, value in dict(model_cfg or {}).items():
        if key in ('vision_cfg', 'text_cfg') and isinstance(value, dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    if ('timm_model_name' in cfg['vision_cfg'] or
            'hf_model_name' in cfg['text_cfg'] or cfg.get('custom_text')):
        raise InputError(f'open_clip model {model_name!r}: only models with '
                         "open_clip's own image and text towers are "
                         'supported (e.g. RN50-quickgelu)')
    return cfg


def read_clip_state(path: str, kind: str = 'OpenCLIPImageTower') -> dict:
    """The state dict of an open_clip checkpoint file, read for the
    component of type ``kind`` (whose config key a missing file's line
    names: :func:`~openselfsup.config.model_file_problem`).

    Raises:
        InputError: missing file, not a ``torch.save`` file readable with
            ``weights_only=True``, or no tensors in it.
    """
    if os.path.isdir(path):
        raise InputError(f'{path}: is a folder, not an open_clip checkpoint '
                         'file (name the .pt / .bin file in it)')
    if not os.path.isfile(path):
        raise InputError(model_file_problem(kind, path))
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # unpickling, zip and EOF errors
        first = (str(exc).strip().splitlines() or [''])[0]
        raise InputError(f'{path}: not a readable open_clip checkpoint '
                         f'({type(exc).__name__}: {first})') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f'{path}: not an open_clip checkpoint (no state '
                         'dict of tensors)')
    return {k[7:] if k.startswith('module.') else k: v
            for k, v in state.items()}


def build_clip(model_name: str = 'RN50-quickgelu',
               pretrained: Union[str, None, bool] = None,
               model_cfg: Optional[dict] = None,
               kind: Optional[str] = None) -> torch.nn.Module:
    """An open_clip ``CLIP`` model, with the checkpoint's weights if given.

    Args:
        model_name (str): open_clip model name.
        pretrained (str, optional): a local checkpoint file of that model;
            None (or empty): open_clip's random initialisation, said in one
            warning line; False: the same without the warning, for a caller
            that loads a checkpoint of the whole model next
            (:func:`without_clip_weights`).
        model_cfg (dict, optional): overrides, see :func:`clip_config`.
        kind (str, optional): the tower built from it,
            ``'OpenCLIPImageTower'`` or ``'OpenCLIPText'``: the warning
            names that tower alone (it named both, the other one perhaps
            given a file), and a missing file's line its config key. None:
            the whole model, both towers.

    Returns:
        open_clip.CLIP: on the CPU, in eval mode.

    Raises:
        InputError: see :func:`clip_config` and :func:`read_clip_state`; or
            the file's tensors do not fit the model (names the file and the
            first mismatched tensors).
    """
    oc = _open_clip()
    config = clip_config(model_name, model_cfg)
    # the file first: a missing one is said before the model is built
    state = read_clip_state(pretrained, kind or 'OpenCLIPImageTower') \
        if pretrained else None
    model = oc.CLIP(**config)
    if pretrained:
        load_state(model, state, pretrained, f'open_clip {model_name}')
    elif pretrained is not False and _WARNED_RANDOM((model_name, kind)):
        towers = _TOWERS.get(kind, 'image and text towers start')
        print_log(f'open_clip {model_name}: no pretrained checkpoint given, '
                  f'{towers} at random initialisation',
                  logger='current', level=logging.WARNING)
    return model.eval()


def without_clip_weights(model_cfg, key: str = 'model') -> Dict[str, dict]:
    """Make ``model_cfg`` (a config's ``model`` section, at ``key``) the
    model whose weights all come from a trained checkpoint next (the kNN
    evaluation of an HLSS checkpoint): every open_clip image tower built
    with ``pretrained=False`` (its own open_clip file neither needed nor
    read), every open_clip text tower replaced by a
    :class:`~openselfsup.models.text_encoders.HashedBagOfWords` of its width,
    and every ``TextInitHead``'s ``embeddings_file`` replaced by such an
    encoder of the head's width (the text tower and the files only
    initialise the heads' text rows, which the checkpoint holds; embedding
    the attribute sentences with the tower takes minutes on a CPU, and a
    file may not be on the evaluating machine). A part is known by the
    name its ``type`` builds, scoped or not (``openselfsup.TextInitHead``
    is a ``TextInitHead``: :func:`~openselfsup.config.type_name`, as
    :func:`~openselfsup.config.attribute_files` knows the heads). Changes
    the config in place.

    Returns:
        dict: ``{dotted key: stand-in}``, each text encoder built in place
        of the config's (``model.text_encoder``: ``{'type':
        'HashedBagOfWords', 'dim': 1024}``; a head's ``encoder`` where its
        ``embeddings_file`` was), so that a record can say the config's
        model was evaluated with it.
    """
    stand_ins = {}
    for where, node in config_dicts(model_cfg, key):
        kind = type_name(node.get('type'))
        if kind == 'OpenCLIPImageTower':
            node['pretrained'] = False
        elif kind == 'OpenCLIPText':
            dim = clip_config(node.get('model_name', 'RN50-quickgelu'),
                              node.get('model_cfg'))['embed_dim']
            stand_ins[where] = dict(type='HashedBagOfWords', dim=int(dim))
            node.clear()
            node.update(stand_ins[where])
        elif kind == 'TextInitHead' and node.get('embeddings_file'):
            node['embeddings_file'] = None
            stand_ins[f'{where}.encoder'] = dict(
                type='HashedBagOfWords', dim=int(node['in_channels']))
            node['encoder'] = dict(stand_ins[f'{where}.encoder'])
    return stand_ins


@MODELS.register_module()
class OpenCLIPImageTower(BaseModule):
    """The image tower of an open_clip CLIP model as a backbone.

    Args:
        model_name (str): open_clip model. Defaults to ``'RN50-quickgelu'``.
        pretrained (str, optional): local open_clip checkpoint file (see
            :func:`build_clip`: None, or False when a whole-model checkpoint
            is loaded next).
        model_cfg (dict, optional): overrides of open_clip's config.
        normalize (bool): L2-normalise the output, as the published HLSS
            (``encode_image(normalize=True)``). Defaults to True.
        init_cfg (dict, optional): MMEngine init config (e.g. weights of a
            training checkpoint); open_clip's own initialisation or the
            checkpoint's weights are kept otherwise.

    Forward: ``[N, 3, H, W]`` (values in [0, 1] as the published HLSS feeds
    them, or whatever the data preprocessor makes) -> ``([N, embed_dim], )``.
    """

    #: settings that leave the image features unchanged: only the image
    #: tower is kept, so the text tower's settings are not compared when a
    #: checkpoint is evaluated (``config.trained_feature_changes``)
    EVAL_IGNORED_KEYS = ('model_cfg.text_cfg',)

    def __init__(self, model_name: str = 'RN50-quickgelu',
                 pretrained: Union[str, None, bool] = None,
                 model_cfg: Optional[dict] = None, normalize: bool = True,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        clip = build_clip(model_name, pretrained, model_cfg,
                          'OpenCLIPImageTower')
        self.visual = clip.visual
        self.embed_dim = int(clip.text_projection.shape[1])
        self.normalize = normalize

    def init_weights(self):
        """Keep the tower's weights unless an ``init_cfg`` asks otherwise."""
        if self.init_cfg:
            super().init_weights()

    def forward(self, x: torch.Tensor):
        try:
            feat = self.visual(x)
        except RuntimeError as exc:
            # open_clip's towers add a positional embedding of the size
            # they were built for: images of another size fail deep inside
            # (a RuntimeError traceback of tensor sizes)
            size = getattr(self.visual, 'image_size', None)
            size = tuple(size) if isinstance(size, (tuple, list)) else \
                (size, size)
            if None in size or tuple(x.shape[-2:]) == size:
                raise
            raise InputError(
                f'{x.shape[-2]}x{x.shape[-1]} px images into an open_clip '
                f'image tower built for {size[0]}x{size[1]} px '
                '(model_cfg.vision_cfg.image_size; its positional embedding '
                'fits that size): resize them in the pipeline '
                f'(ToUnitTensor(size={size[0]})), or give images of that '
                'size') from None
        return (F.normalize(feat, dim=-1) if self.normalize else feat, )


@MODELS.register_module()
class OpenCLIPText(_FrozenTextEncoder):
    """The frozen text tower of an open_clip CLIP model.

    ``encode(texts)`` returns ``CLIP.encode_text`` of the model's tokenizer's
    tokens (not normalised; ``[N, embed_dim]``).

    Args:
        model_name (str): open_clip model. Defaults to ``'RN50-quickgelu'``.
        pretrained (str, optional): local open_clip checkpoint file (see
            :func:`build_clip`: None, or False when a whole-model checkpoint
            is loaded next).
        model_cfg (dict, optional): overrides of open_clip's config.
        batch_size (int): texts per forward pass.
        device (str, optional): where to run; default CUDA when available
            (the RN50 text tower embeds a few hundred sentences per second on
            a GPU, a few per second per CPU core).
    """

    def __init__(self, model_name: str = 'RN50-quickgelu',
                 pretrained: Union[str, None, bool] = None,
                 model_cfg: Optional[dict] = None, batch_size: int = 64,
                 device: Optional[str] = None):
        super().__init__()
        clip = build_clip(model_name, pretrained, model_cfg, 'OpenCLIPText')
        del clip.visual
        self.clip = clip
        self.model_name = model_name
        self.tokenizer = _open_clip().get_tokenizer(
            model_name, context_length=clip.context_length)
        self.dim = int(clip.text_projection.shape[1])
        self.batch_size = batch_size
        self._freeze()
        self.to(device or ('cuda' if torch.cuda.is_available() else 'cpu'))

    def tokens_over(self, texts: Sequence[str]) -> List[Tuple[int, int]]:
        """``(index, tokens)`` of each text longer than the context: the
        tokenizer cuts it to ``context_length`` tokens (start and end token
        included), so the tower embeds its beginning only (as open_clip,
        and the published HLSS, do without a word)."""
        encode = getattr(self.tokenizer, 'encode', None)
        limit = self.clip.context_length
        if encode is None or getattr(self.tokenizer, 'reduction_fn', None):
            return []  # not a plain truncating BPE tokenizer: not counted
        counts = ((i, len(encode(t)) + 2) for i, t in enumerate(texts))
        return [(i, n) for i, n in counts if n > limit]

    def _encode(self, texts: List[str]) -> torch.Tensor:
        self._say_cut(texts, lambda: self.tokens_over(texts),
                      f'OpenCLIPText {self.model_name}',
                      'the text tower\'s context of '
                      f'{self.clip.context_length}', 'shorten them')
        starts = range(0, len(texts), self.batch_size)
        out = []
        for i in progress_bar(starts, desc='CLIP text', unit='batch',
                              leave=False,
                              disable=True if len(starts) < 4 else None):
            tokens = self.tokenizer(texts[i:i + self.batch_size])
            out.append(self.clip.encode_text(tokens.to(self.device)))
        return torch.cat(out)
