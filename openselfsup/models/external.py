"""Encoders from timm and open_clip, built by their own factories.

:func:`build_external_encoder` turns a model source (``timm:<name>``,
``open_clip:<name>``), model keyword arguments and a local weights file into
an :class:`ExternalEncoder`: the library's model, the library's own eval
transform, and the two methods the extraction loop
(:func:`openselfsup.models.extraction.compute_features`) calls,
``data_preprocessor`` and ``extract_feat``. No architecture is written
here; timm's ``create_model`` and open_clip's ``create_model`` build them.

The feature is the model's pooled image embedding:

- **timm**: ``forward_head(forward_features(x), pre_logits=True)``: the
  model's own pooling (``global_pool``: ``token``, the class token, for
  ViTs; ``avg`` for CNNs), after its final norm, before any classifier. The
  model is built with ``num_classes=0``; ``pool`` sets ``global_pool``
  (``token``, ``avg``, ``max``, ``avgmax``, ``map``... as the model accepts).
- **open_clip**: the image tower's output, ``encode_image(x)`` without
  normalisation: the pooled embedding projected into the joint image-text
  space. ``projection=False`` takes it before the projection (ViT towers:
  the pooled token of width ``vision_cfg.width``).

Preprocessing comes from the model's own pretrained configuration (timm's
``pretrained_cfg`` through ``timm.data.resolve_data_config``, open_clip's
``preprocess_cfg``), each key overridable, and the library builds the eval
transform (timm: resize to ``input_size / crop_pct``, centre crop; open_clip:
resize the shorter side, centre crop); the resolved values are recorded.

Weights are read without running pickled code: ``.safetensors`` with
safetensors, anything else with ``torch.load(weights_only=True)``. A folder
in the libraries' hub layout (timm: ``config.json`` with ``architecture``,
``model_args`` and ``pretrained_cfg`` beside ``model.safetensors`` or
``pytorch_model.bin``; open_clip: ``open_clip_config.json`` beside
``open_clip_model.safetensors`` or ``open_clip_pytorch_model.bin``) gives the
model's configuration too. Every key of the model must be in the file, with
its shape; classifier-head entries (timm) and the text tower (open_clip) are
ignored and counted. A mismatch is one line naming the first missing and
unexpected keys.
"""
import contextlib
import logging
import os
from collections import OrderedDict
from dataclasses import asdict
from typing import Dict, List, Optional, Tuple

import torch

from ..utils import InputError, first_line, is_number, with_missing_note
from ..utils.fingerprint import file_sha256
from ..utils.checkpoint_files import (FOLDER_CONFIG, FOLDER_WEIGHTS,
                                      hub_folder_files)

LIBRARIES = ('timm', 'open_clip')
#: preprocessing keys each library understands (``size`` is accepted for
#: timm as ``input_size`` (3, size, size))
TIMM_PREPROCESS = ('input_size', 'img_size', 'size', 'interpolation', 'mean',
                   'std', 'crop_pct', 'crop_mode')


def parse_source(source: str) -> Tuple[str, Optional[str]]:
    """``'timm:vit_large_patch16_224'`` -> ``('timm', 'vit_large_patch16_224')``.

    The name may be left out (``'timm'``) when the weights are a folder whose
    configuration names the model.

    Raises:
        InputError: an unknown library.
    """
    library, _, name = str(source).partition(':')
    library = library.strip().lower().replace('-', '_')
    if library == 'openclip':
        library = 'open_clip'
    if library not in LIBRARIES:
        raise InputError(f'--model-source {source!r}: expected timm:<model '
                         'name> or open_clip:<model name>')
    return library, name.strip() or None


def _import(library: str):
    try:
        return __import__(library)
    except ImportError:
        package = 'open_clip_torch' if library == 'open_clip' else library
        raise InputError(f'--model-source {library}: the {library} package '
                         f'is not installed (pip install {package}, or pip '
                         'install ".[encoders]")') from None


def resolve_weights(library: str, weights: str) -> Tuple[str, Optional[str]]:
    """The weights file, and the hub-layout config file if ``weights`` is a
    folder.

    Raises:
        InputError: missing path, or a folder without config or weights.
    """
    if not os.path.exists(weights):
        raise InputError(with_missing_note(f'--weights {weights}: not found',
                                           weights))
    if not os.path.isdir(weights):
        return weights, None
    path, config = hub_folder_files(library, weights)
    if not os.path.isfile(config):
        raise InputError(f'--weights {weights}: a folder needs '
                         f'{FOLDER_CONFIG[library]} ({library}\'s hub layout)')
    if path is not None:
        return path, config
    raise InputError(f'--weights {weights}: no weights file in the folder '
                     f'(looked for {", ".join(FOLDER_WEIGHTS[library])})')


def read_state_dict(path: str) -> Tuple['OrderedDict[str, torch.Tensor]', str]:
    """A state dict from a weights file, read safely.

    ``.safetensors`` is read with safetensors; anything else (``.bin``,
    ``.pth``, ``.pt``) with ``torch.load(weights_only=True)``. A wrapping
    ``state_dict`` / ``model`` / ``module`` entry is unwrapped and wrapper
    prefixes (``module.``) are stripped.

    Returns:
        tuple: ``(state_dict, format)``, format ``'safetensors'`` or
        ``'torch'``.

    Raises:
        InputError: unreadable file, or no tensors in it.
    """
    from ..utils.checkpoint import (load_checkpoint_file,
                                    strip_wrapper_prefixes,
                                    unwrap_state_dict)
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        try:
            obj, fmt = load_file(path, device='cpu'), 'safetensors'
        except Exception as exc:  # SafetensorError, OSError
            raise InputError(f'{path}: not a readable safetensors file '
                             f'({first_line(exc)})') from None
    else:
        obj, fmt = load_checkpoint_file(path, tensors_only=True), 'torch'
    obj = unwrap_state_dict(obj)
    if not isinstance(obj, dict):
        raise InputError(f'{path}: expected a state dict, found '
                         f'{type(obj).__name__}')
    state = OrderedDict((strip_wrapper_prefixes(str(k)), v)
                        for k, v in obj.items()
                        if isinstance(v, torch.Tensor))
    if not state:
        raise InputError(f'{path}: no tensors found')
    return state, fmt


class ExternalEncoder(torch.nn.Module):
    """A library model behind the extraction loop's interface.

    Args:
        net (nn.Module): the model (timm) or image tower (open_clip).
        embed (callable): ``embed(net, x)`` -> pooled embedding ``[B, D]``.
        transform (callable): the eval transform, PIL image -> float tensor.
        info (dict): what the provenance records (library, model,
            preprocessing, embedding, weights).
    """

    def __init__(self, net: torch.nn.Module, embed, transform, info: Dict):
        super().__init__()
        self.net = net
        self._embed = embed
        self.transform = transform
        self.info = info

    def data_preprocessor(self, batch: Dict, training: bool = False) -> Dict:
        """Stack a ``pseudo_collate`` batch of transformed images onto the
        model's device (the transform already normalised them)."""
        device = next(self.net.parameters()).device
        return {'inputs': torch.stack(batch['inputs']).to(device),
                'data_samples': batch['data_samples']}

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        return self._embed(self.net, inputs)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.extract_feat(inputs)


def _transform_steps(transform) -> List[str]:
    steps = getattr(transform, 'transforms', [transform])
    return [repr(t).replace('\n', ' ') for t in steps]


def _timm_model(name: Optional[str], kwargs: Dict, pool: Optional[str],
                config: Optional[str]):
    timm = _import('timm')
    pretrained_cfg = None
    if config is not None:
        try:
            from timm.models._hub import load_model_config_from_path
        except ImportError:
            raise InputError(f'--weights {os.path.dirname(config)}: timm '
                             f'{timm.__version__} cannot read a hub-layout '
                             'folder; pip install -U timm') from None
        try:
            pretrained_cfg, arch, model_args = load_model_config_from_path(
                os.path.dirname(config))
        except Exception as exc:  # bad JSON, missing keys
            raise InputError(f'{config}: not a timm model config '
                             f'({first_line(exc)})') from None
        if name is not None and name.split('.')[0] != arch.split('.')[0]:
            raise InputError(f'--model-source timm:{name} but {config} '
                             f'describes {arch}; give --model-source timm')
        name, kwargs = arch, {**model_args, **kwargs}
    if name is None:
        raise InputError('--model-source timm needs a model name '
                         '(timm:<name>) unless --weights is a folder with '
                         'config.json')
    if kwargs.get('num_classes', 0) != 0:
        raise InputError('--model-kwargs num_classes: the embedding is taken '
                         'before any classifier; leave num_classes out')
    kwargs = {k: v for k, v in kwargs.items() if k != 'num_classes'}
    if pool is not None:
        kwargs['global_pool'] = pool
    if not timm.is_model(name.split('.')[0]):
        raise InputError(f'--model-source timm:{name}: timm has no such '
                         'model (timm.list_models() lists them)')
    try:
        model = timm.create_model(name, pretrained=False, num_classes=0,
                                  pretrained_cfg=pretrained_cfg, **kwargs)
    except (TypeError, ValueError, AssertionError, RuntimeError) as exc:
        raise InputError(f'--model-source timm:{name} with --model-kwargs '
                         f'{kwargs}: {first_line(exc)}') from None
    return model, name, kwargs


def _check_mean_std(overrides: Dict) -> None:
    """``mean`` / ``std`` overrides are three numbers, one per channel."""
    for key in ('mean', 'std'):
        value = overrides.get(key)
        if value is None:
            continue
        if not isinstance(value, (list, tuple)) or len(value) != 3 or \
                not all(map(is_number, value)):
            raise InputError(f'--preprocess {key}={value!r}: give three '
                             f'numbers, one per channel, e.g. '
                             f'{key}="(0.5,0.5,0.5)"')


def _timm_transform(model, kwargs: Dict, overrides: Dict):
    from timm.data import create_transform, resolve_data_config
    _check_mean_std(overrides)
    unknown = [k for k in overrides if k not in TIMM_PREPROCESS]
    if unknown:
        raise InputError(f'--preprocess {unknown[0]}: timm understands '
                         f'{", ".join(TIMM_PREPROCESS)}')
    args = dict(overrides)
    for key in ('size', 'input_size'):
        if isinstance(args.get(key), int):
            args[key] = (3, args[key], args[key])
    if 'size' in args:
        args['input_size'] = tuple(args.pop('size'))
    if 'input_size' in args:
        args['input_size'] = tuple(args['input_size'])
    if 'input_size' not in args and 'img_size' not in args and \
            isinstance(kwargs.get('img_size'), int):
        # timm's own convention (train.py): the model's img_size sets the
        # input size when the pretrained config is for another size
        args['img_size'] = kwargs['img_size']
    try:
        cfg = resolve_data_config(args, model=model)
        transform = create_transform(**cfg, is_training=False)
    except (AssertionError, TypeError, ValueError) as exc:
        raise InputError(f'--preprocess {overrides}: '
                         f'{first_line(exc) or "invalid for timm"}') from None
    cfg = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}
    return transform, cfg


def _timm_pool(model) -> str:
    pool = getattr(model, 'global_pool', None)
    pool = getattr(pool, 'pool_type', pool)
    return str(pool) if pool is not None else 'model default'


def _timm_embed(net, x):
    return net.forward_head(net.forward_features(x), pre_logits=True)


def _open_clip_tag(name: Optional[str]) -> Tuple[Optional[str],
                                                 Optional[str]]:
    """``'ViT-B-16-SigLIP:webli'`` -> ``('ViT-B-16-SigLIP', 'webli')``: an
    open_clip model name and the tag of its published weights (whose
    preprocessing the features are then taken with), as open_clip's
    ``create_model(name, pretrained=tag)`` names them."""
    if name is None:
        return None, None
    name, _, tag = name.partition(':')
    return name.strip() or None, tag.strip() or None


def _open_clip_model(name: Optional[str], kwargs: Dict,
                     config: Optional[str]):
    open_clip = _import('open_clip')
    if config is not None:
        if name is not None:
            raise InputError(f'--model-source open_clip:{name} with a '
                             f'folder: {config} defines the model; give '
                             '--model-source open_clip')
        ident = 'local-dir:' + os.path.dirname(config)
    elif name is None:
        raise InputError('--model-source open_clip needs a model name '
                         '(open_clip:<name>) unless --weights is a folder '
                         'with open_clip_config.json')
    else:
        if name not in open_clip.list_models():
            raise InputError(f'--model-source open_clip:{name}: open_clip '
                             'has no such model (open_clip.list_models() '
                             'lists them)')
        ident = name
    try:
        with _quiet_root_logger():  # "initialized randomly": we load next
            model = open_clip.create_model(ident, pretrained=None,
                                           load_weights=False, **kwargs)
    except (TypeError, ValueError, AssertionError, RuntimeError,
            OSError) as exc:
        raise InputError(f'--model-source open_clip:{name or config}: '
                         f'{first_line(exc)}') from None
    return model, name or ident


@contextlib.contextmanager
def _quiet_root_logger():
    """open_clip warns on the root logger that no weights were loaded;
    they are loaded right after, so the warning is only noise."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _open_clip_pool(net) -> str:
    if hasattr(net, 'pool_type'):
        return str(net.pool_type)  # 'tok': class token, 'avg': mean
    return 'attention pooling' if hasattr(net, 'attnpool') else \
        'model default'


def _published_preprocess(name: str, tag: Optional[str], base: Dict,
                          args: Dict, judge: bool) -> Dict:
    """The preprocessing of open_clip model ``name``'s published weights
    ``tag`` (its pretrained configuration over the model's, ``base``), as
    ``open_clip.create_model(name, pretrained=tag)`` sets it. Without a tag
    and where ``judge`` (a weights file, which says nothing of how it was
    trained), refuse a model whose published weights of some tag are
    preprocessed otherwise than its model configuration in a key that
    ``args`` (``--preprocess``) does not give: ``ViT-B-16-SigLIP``'s
    ``webli`` weights take mean and std 0.5 and a squashing resize, its
    model configuration CLIP's mean and std and a shortest-side resize,
    and the features of such weights were taken with the latter without
    a word."""
    from open_clip.pretrained import (get_pretrained_cfg,
                                      list_pretrained_tags_by_model)
    from open_clip.transform import merge_preprocess_dict
    tags = list_pretrained_tags_by_model(name)
    if tag is not None:
        if tag not in tags:
            raise InputError(
                f'--model-source open_clip:{name}:{tag}: open_clip has no '
                f'weights {tag!r} of {name} (its tags: '
                f'{", ".join(tags) or "none"})')
        return merge_preprocess_dict(base, get_pretrained_cfg(name, tag))

    def differing(t):
        cfg = merge_preprocess_dict(base, get_pretrained_cfg(name, t))
        return [k for k in cfg if k not in args and
                _same(cfg[k]) != _same(base.get(k))]
    other = {t: differing(t) for t in tags} if judge else {}
    other = {t: keys for t, keys in other.items() if keys}
    if other:
        first, keys = next(iter(other.items()))
        raise InputError(
            f'--model-source open_clip:{name}: its published weights '
            f'{", ".join(other)} are preprocessed otherwise than its model '
            f'configuration ({first}: ' + ', '.join(
                f'{k} {_same(get_pretrained_cfg(name, first)[k])} vs '
                f'{_same(base.get(k))}' for k in keys) + '); name the '
            f'weights, e.g. --model-source open_clip:{name}:{first}, or '
            f'give --preprocess {" ".join(f"{k}=..." for k in keys)} as '
            'your weights were trained')
    return base


def _same(value):
    """A preprocessing value as compared and shown (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value


def _open_clip_transform(model, overrides: Dict, name: Optional[str] = None,
                         tag: Optional[str] = None, judge: bool = False):
    import open_clip
    from open_clip.transform import PreprocessCfg, image_transform_v2
    _check_mean_std(overrides)
    base = dict(open_clip.get_model_preprocess_cfg(model))
    args = dict(overrides)
    if 'input_size' in args:
        args['size'] = args.pop('input_size')
    known = set(PreprocessCfg.__dataclass_fields__)
    unknown = [k for k in args if k not in known]
    if unknown:
        raise InputError(f'--preprocess {unknown[0]}: open_clip understands '
                         f'{", ".join(sorted(known))}')
    if name is not None:
        base = _published_preprocess(name, tag, base, args, judge)
    merged = {**base, **args}
    for key in ('mean', 'std'):
        if key in merged:
            merged[key] = tuple(merged[key])
    try:
        cfg = PreprocessCfg(**merged)
        transform = image_transform_v2(cfg, is_train=False)
    except (AssertionError, TypeError, ValueError) as exc:
        raise InputError(f'--preprocess {overrides}: '
                         f'{first_line(exc) or "invalid for open_clip"}'
                         ) from None
    out = asdict(cfg)
    return transform, {k: list(v) if isinstance(v, tuple) else v
                       for k, v in out.items()}


def _open_clip_embed(net, x):
    out = net(x)
    return out[0] if isinstance(out, tuple) else out


def _seeded(seed: Optional[int]):
    """Seed torch's generator for a random initialisation, restoring it
    after (no global state leaks)."""
    if seed is None:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(torch.random.fork_rng(devices=[]))
    torch.manual_seed(seed)
    return stack


def build_external_encoder(source: str, weights: Optional[str] = None,
                           model_kwargs: Optional[Dict] = None,
                           preprocess: Optional[Dict] = None,
                           pool: Optional[str] = None,
                           projection: bool = True,
                           seed: int = 0) -> ExternalEncoder:
    """Build a timm or open_clip encoder with local weights.

    Args:
        source (str): ``'timm:<name>'`` or ``'open_clip:<name>[:<tag>]'``
            (the name may be left out when ``weights`` is a hub-layout
            folder; an open_clip tag names the published weights whose
            preprocessing is taken, :func:`_published_preprocess`).
        weights (str, optional): ``.safetensors`` / ``.bin`` / ``.pth``
            file, or a folder in the library's hub layout. None: the model
            at random initialisation (seeded with ``seed``).
        model_kwargs (dict, optional): keyword arguments of the library's
            ``create_model`` (timm: e.g. ``init_values``,
            ``dynamic_img_size``; open_clip: e.g. ``force_image_size``).
        preprocess (dict, optional): overrides of the preprocessing
            configuration (timm: ``input_size``/``size``, ``mean``, ``std``,
            ``crop_pct``, ``crop_mode``, ``interpolation``; open_clip:
            ``size``, ``mean``, ``std``, ``resize_mode``, ``interpolation``,
            ``fill_color``).
        pool (str, optional): timm ``global_pool`` (default: the model's).
        projection (bool): open_clip: the projected image embedding
            (default) or the pooled output before the projection.
        seed (int): seed of a random initialisation.

    Returns:
        ExternalEncoder: the model in eval mode, on the CPU.

    Raises:
        InputError: unknown library or model, bad keyword arguments or
            preprocessing keys, unreadable or mismatched weights.
    """
    library, name = parse_source(source)
    kwargs = dict(model_kwargs or {})
    overrides = dict(preprocess or {})
    path = config = None
    if weights is not None:
        path, config = resolve_weights(library, weights)
    _import(library)
    # its version, ``encoder.library_version``, is written by the
    # extraction from its record of versions (one reading of a release)
    info = dict(source=source, library=library)
    with _seeded(None if weights is not None else seed):
        if library == 'timm':
            if not projection:
                raise InputError('--no-proj applies to open_clip models; '
                                 'timm features are taken before any head')
            net, name, kwargs = _timm_model(name, kwargs, pool, config)
            transform, pre = _timm_transform(net, kwargs, overrides)
            embed = _timm_embed
            head = net.pretrained_cfg.get('classifier') or ()
            ignore = tuple(f'{h}.' for h in ((head,) if isinstance(head, str)
                                             else head))
            info.update(embedding='forward_head(forward_features(x), '
                        'pre_logits=True)', pool=_timm_pool(net),
                        pretrained_cfg_tag=net.pretrained_cfg.get('tag'))
        else:
            if pool is not None:
                raise InputError('--pool applies to timm models; open_clip '
                                 'pools as its model config says')
            name, tag = _open_clip_tag(name)
            if tag is not None and config is not None:
                raise InputError('--model-source '
                                 f'open_clip:{name or ""}:{tag} '
                                 f'with a folder: {config} gives the '
                                 'preprocessing; give --model-source '
                                 'open_clip')
            model, name = _open_clip_model(name, kwargs, config)
            transform, pre = _open_clip_transform(
                model, overrides, None if config else name, tag,
                judge=path is not None)
            net, embed, ignore = model.visual, _open_clip_embed, ()
            if not projection:
                if not hasattr(net, 'proj') or net.proj is None:
                    raise InputError(f'--no-proj: the image tower of {name} '
                                     f'({type(net).__name__}) has no '
                                     'separate projection to leave out')
                net.proj = None
            info.update(embedding='image tower output (encode_image without '
                        'normalisation)' + ('' if projection else
                                            ', projection left out'),
                        pool=_open_clip_pool(net),
                        projection=bool(projection), pretrained_tag=tag)
    info.update(model=name, model_kwargs=kwargs, preprocess=pre,
                preprocess_overrides=overrides,
                transform=_transform_steps(transform), model_config=config,
                # what a printed command that names the folder again checks
                # it still holds (lowshot.features._recorded_weights)
                model_config_sha256=file_sha256(config) if config else None)
    if path is not None:
        state, fmt = read_state_dict(path)
        own = net.state_dict()
        ignored = [k for k in state if ignore and k.startswith(ignore)
                   and k not in own]
        if library == 'open_clip':
            if any(k.startswith('visual.') for k in state):
                ignored = [k for k in state if not k.startswith('visual.')]
                state = OrderedDict((k[len('visual.'):], v)
                                    for k, v in state.items()
                                    if k.startswith('visual.'))
            what = f'the image tower of open_clip {name}'
        else:
            state = OrderedDict((k, v) for k, v in state.items()
                                if k not in set(ignored))
            what = f'timm {name}'
        if not projection:
            ignored += [k for k in state if k == 'proj']
            state.pop('proj', None)
        from .state_dict import load_state
        load_state(net, state, path, what,
                   'check --model-source and --model-kwargs')
        info.update(weights_file=path, weights_format=fmt,
                    ignored_keys=len(ignored),
                    ignored_first=ignored[:3])
    net.eval()
    return ExternalEncoder(net, embed, transform, info)
