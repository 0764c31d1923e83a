"""Settings of per-image pipeline transforms that both view paths refuse
before a run (the per-image pipeline and the batched views of
:mod:`.batch_aug`): torch-free, so the launchers' ``--check-config``
(:func:`~openselfsup.apis.fast_path.check_fast_path_values`) runs them
before any process starts, as the run itself and ``extract.py`` do."""
import math
import numbers
from typing import Dict, List, Optional

from ..utils import InputError, is_int, is_number


def _is_probability(value) -> bool:
    """A number in [0, 1] (not a bool, not NaN)."""
    return is_number(value) and 0 <= value <= 1


def probability(value, what: str):
    """``value`` where it is a number in [0, 1], else InputError (one
    line): ``'{what} {value!r} is not a probability in [0, 1]'`` (a bool,
    NaN and a string included)."""
    if not _is_probability(value):
        raise InputError(f'{what} {value!r} is not a probability in [0, 1]')
    return value


def _probs(t: Dict, where: str) -> None:
    """Refuse with one line a list ``prob`` of transform ``t`` (mmcv's
    ``RandomFlip``: one per direction; ``RandomChoice``: one per
    candidate pipeline) that holds no probability in [0, 1], or that
    mmcv refuses when it builds the transform or at the first image:

    - an item outside [0, 1]: ``RandomFlip`` asserts only the sum, and a
      negative item was numpy's ``probabilities are not non-negative``
      at the first image; ``RandomChoice`` asserts only the sum;
    - an integer (mmcv asserts a list of floats: a bare AssertionError);
    - ``RandomFlip``: a ``direction`` that is not a list as long (mmcv
      asserts the lengths, and against a string its letters), or a sum
      above 1 (the rest, ``1 - sum``, is no flip);
    - ``RandomChoice``: another count than its ``transforms``, or a sum
      other than 1 (mmcv asserts ``sum(prob) == 1`` exactly).
    """
    kind, prob = t.get('type'), t['prob']
    what = f'{where}: {kind} prob {prob!r}'
    for item in prob:
        if not _is_probability(item):
            raise InputError(f'{what}: {item!r} is not a probability in '
                             '[0, 1]')
    if kind not in ('RandomFlip', 'RandomChoice'):
        return
    for item in prob:
        if not isinstance(item, float):
            raise InputError(f'{what}: {item!r} is an integer; mmcv takes '
                             f'floats ({float(item)})')
    total = sum(prob)
    if kind == 'RandomFlip':
        direction = t.get('direction', 'horizontal')
        if not isinstance(direction, list) or len(direction) != len(prob):
            raise InputError(f'{what}: one probability per direction, and '
                             f'direction {direction!r} is not a list of '
                             f'{len(prob)}')
        if total > 1:
            raise InputError(f'{what} sums to {total!r}, above 1 (1 - sum '
                             'is the probability of no flip)')
        return
    transforms = t.get('transforms')
    if isinstance(transforms, (list, tuple)) and \
            len(transforms) != len(prob):
        raise InputError(f'{what}: {len(prob)} probabilities for '
                         f'{len(transforms)} transforms')
    if total != 1:
        raise InputError(f'{what} sums to {total!r}, not 1 (mmcv asserts '
                         'sum(prob) == 1, exactly)')


#: torchvision's transforms of transforms, as mmpretrain registers them
#: (``torchvision/<name>``): its wrapper passes their ``transforms`` to
#: torchvision as given, so a config's (dicts) are never built
TORCHVISION_CONTAINERS = ('torchvision/RandomChoice',
                          'torchvision/RandomApply', 'torchvision/RandomOrder')


def _torchvision_container(t: Dict, where: str) -> None:
    """Refuse with one line a torchvision transform of transforms
    (:data:`TORCHVISION_CONTAINERS`) whose ``transforms`` hold a config
    (a dict): mmpretrain's wrapper hands them to torchvision unbuilt, which
    failed at the first image ("'ConfigDict' object is not callable"), and
    a config file cannot hold a built one (MMEngine reads a call of an
    imported class as a lazy object, a RuntimeError). Of
    ``torchvision/RandomChoice`` (built otherwise) refuse a ``p`` that
    is not what torchvision takes: weights, one per transform, handed to
    ``random.choices`` (not probabilities: ``[1, 3]`` takes the second
    three times as often), each a finite number of at least 0, not all
    0 (``random.choices`` refuses a total of 0 at the first image and
    draws from negative weights without a word), or None (each alike)."""
    kind, transforms = t.get('type'), t.get('transforms')
    if isinstance(transforms, (list, tuple)) and any(
            isinstance(x, dict) for x in transforms):
        instead = {'torchvision/RandomChoice': "use mmcv's RandomChoice "
                   '(prob: probabilities summing to 1)',
                   'torchvision/RandomApply': "use mmcv's RandomApply "
                   '(prob)'}.get(kind, 'list the transforms in one order '
                                      '(mmcv has no RandomOrder)')
        raise InputError(
            f'{where}: {kind} cannot build its transforms (mmpretrain '
            'passes them to torchvision as config dicts, which fail at the '
            f"first image: 'ConfigDict' object is not callable); {instead}")
    p = t.get('p')
    if kind != 'torchvision/RandomChoice' or p is None:
        if kind == 'torchvision/RandomApply':
            _prob(t, 0.5, where, 'p')
        return
    what = f'{where}: {kind} p {p!r}'
    if not isinstance(p, (list, tuple)):
        raise InputError(f'{what} is not a list of weights, one per '
                         'transform (torchvision draws with them)')
    for w in p:
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or \
                not 0 <= w < float('inf'):
            raise InputError(f'{what}: {w!r} is not a weight (a finite '
                             'number of at least 0)')
    if isinstance(transforms, (list, tuple)) and len(transforms) != len(p):
        raise InputError(f'{what}: {len(p)} weights for {len(transforms)} '
                         'transforms')
    if not sum(p) > 0:
        raise InputError(f'{what}: every weight is 0, nothing can be '
                         'drawn')


#: the directions mmcv's ``RandomFlip`` flips in
FLIP_DIRECTIONS = ('horizontal', 'vertical', 'diagonal')


def _flip_types(t: Dict, where: str) -> None:
    """Refuse with one line the types mmcv's ``RandomFlip`` refuses when
    it builds the transform: ``prob`` a float or a list of floats (a
    tuple, an integer or None, its default, was its ValueError, the
    per-image path failing where the batched views took an integer or
    refused a tuple as having no batched version), and ``direction`` a
    string or a list of strings among :data:`FLIP_DIRECTIONS` (a tuple a
    ValueError, another name a bare AssertionError). Its list items:
    :func:`_probs`."""
    prob = t.get('prob')
    direction = t.get('direction', 'horizontal')
    for key, value in (('prob', prob), ('direction', direction)):
        if isinstance(value, tuple):
            raise InputError(f'{where}: RandomFlip {key} {value!r} is a '
                             f'tuple; mmcv takes a list ({list(value)!r})')
    if is_int(prob):
        raise InputError(f'{where}: RandomFlip prob {prob!r} is an '
                         f'integer; mmcv takes a float ({float(prob)})')
    if not isinstance(prob, (float, list)):
        raise InputError(f'{where}: RandomFlip prob {prob!r} is not a '
                         'float or a list of floats, as mmcv takes it')
    names = [direction] if isinstance(direction, str) else direction
    if not isinstance(names, list) or \
            not all(isinstance(n, str) and n in FLIP_DIRECTIONS
                    for n in names):
        raise InputError(
            f'{where}: RandomFlip direction {direction!r} is not one of '
            f"{', '.join(map(repr, FLIP_DIRECTIONS))} or a list of them")


def _prob(t: Dict, default, where: str, key: str = 'prob') -> float:
    """Transform ``t``'s ``prob`` (``key``; ``default`` when not given),
    refused with one line unless a number in [0, 1]: mmcv's
    ``RandomFlip`` and mmpretrain's ``RandomGrayscale`` refuse it per
    image (an assertion), and the batched op took it as given (a flip of
    prob 1.5 flipped every image; of prob -1, none)."""
    return probability(t.get(key, default), f"{where}: {t.get('type')} {key}")


def _numbers(t: Dict, key: str, default, count: Optional[int],
             where: str) -> tuple:
    """Transform ``t``'s ``key`` (``default`` when not given) as a tuple
    of ``count`` real numbers (one number for ``count`` None), else
    InputError (one line): the batched ops read these settings when built
    and failed with a traceback (``channel_weights=None``,
    ``magnitude_range=(0.1, )``), where the per-image transform fails at
    its first image. (A NaN or an infinity: :func:`_finite`, which
    :func:`check_settings` runs before it.)"""
    value = t.get(key, default)
    items = (value, ) if count is None else value
    if (count is not None and (isinstance(value, (str, bytes)) or
                               not isinstance(value, (list, tuple)) or
                               len(value) != count)) or \
            any(isinstance(v, bool) or not isinstance(v, numbers.Real)
                for v in items):
        what = 'a number' if count is None else f'{count} numbers'
        raise InputError(f"{where}: {t.get('type')} {key} {value!r} is not "
                         f'{what}')
    return tuple(items)


#: the transforms whose ``scale`` (``Resize``) or each of whose ``scales``
#: (``RandomChoiceResize``, which hands the one it draws to ``Resize``)
#: may hold one infinite edge where ``keep_ratio=True``: mmcv's
#: ``Resize(scale=(inf, N), keep_ratio=True)`` is the OpenMMLab idiom for a
#: short edge of N with the long edge uncapped. mmcv's ``RandomResize``
#: gives infinity no meaning (its draw of an edge and its ratio range stop
#: on it), and is not among them
UNCAPPED_EDGE_SCALES = {'Resize': 'scale', 'RandomChoiceResize': 'scales'}


def _not_finite(value) -> bool:
    """Whether ``value`` is a float that is NaN or infinite (a bool and an
    integer are finite)."""
    return isinstance(value, numbers.Real) and \
        not isinstance(value, (bool, numbers.Integral)) and \
        not math.isfinite(value)


def _numbers_in(value):
    """The numbers of a setting: ``value`` itself, or those of a list or
    tuple of them, nested ones included (``Lighting``'s ``eigvec``,
    ``RandomChoiceResize``'s ``scales``)."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _numbers_in(item)
    else:
        yield value


def _uncapped_edge(t: Dict, where: str, key: str) -> None:
    """Refuse with one line a resize scale of transform ``t`` (setting
    ``key``, :data:`UNCAPPED_EDGE_SCALES`) whose infinity mmcv does not
    read as an uncapped long edge: one unless ``keep_ratio=True``, a
    scale that is not two edges (a bare ``inf`` is a scale factor to
    mmcv), both edges or ``-inf`` (mmcv stops at the first image on an
    OverflowError). A NaN is :func:`_finite`'s."""
    value = t[key]
    scales = value if key == 'scales' and isinstance(value, list) \
        else [value]
    for scale in scales:
        if not any(_not_finite(v) for v in _numbers_in(scale)) or \
                any(v != v for v in _numbers_in(scale)):
            continue
        what = f"{where}: {t.get('type')} {key} {value!r}"
        if t.get('keep_ratio') is not True:
            raise InputError(
                f'{what} has an infinite edge, which mmcv reads as an '
                'uncapped long edge only with keep_ratio=True: give '
                'keep_ratio=True, or finite numbers')
        if not (isinstance(scale, (list, tuple)) and len(scale) == 2 and
                sum(v == math.inf for v in scale) == 1 and
                not any(_not_finite(v) and v != math.inf for v in scale)):
            raise InputError(
                f'{what} is not a finite short edge beside one infinite '
                'long edge (mmcv stops on it at the first image): give '
                '(inf, N), or finite numbers')


def _finite(t: Dict, where: str) -> None:
    """Refuse with one line a NaN or an infinity among the number settings
    of transform ``t`` (a number, or one in a list or tuple of them,
    nested ones included): the one rule for every number either path
    reads, and ``extract.py``. Taken before on both paths:
    ``channel_weights`` with a NaN gave grey levels of 0 in the batched
    views, a ``Solarize`` ``thr`` of NaN solarised no pixel there and
    every pixel per image, a jitter's ``brightness`` of NaN NaN images
    (per image a warning, then NaN factors), an infinite one white
    images, an infinite ``total_level`` took the level as 0, a crop's
    ratio range of NaN or inf drew crops without a word; per image, a
    ``Rotate`` ``angle`` of inf gave images of 0 and 128 alone, a
    ``Lighting`` ``eigval`` or ``alphastd`` of inf black ones.

    Two exceptions, each with its own line: an infinite edge of a resize
    scale (:data:`UNCAPPED_EDGE_SCALES`, :func:`_uncapped_edge`: with
    ``keep_ratio=True`` the uncapped long edge, taken), and a
    ``magnitude_std`` of float infinity, named with the string ``'inf'``,
    mmpretrain's uniform draw: mmpretrain draws ``normal(level, inf)``
    for the float, clipped to ``[0, total_level]``, one end of
    ``magnitude_range`` or the other on each image. A NaN is refused
    everywhere."""
    std = t.get('magnitude_std')
    if _not_finite(std) and std == math.inf:
        raise InputError(
            f"{where}: {t.get('type')} magnitude_std {std!r} is a float "
            'infinity, which mmpretrain takes as a normal draw of infinite '
            'spread clipped to one end of magnitude_range or the other; '
            "give magnitude_std='inf' (the string) for its uniform draw")
    edges = UNCAPPED_EDGE_SCALES.get(t.get('type'))
    for key, value in t.items():
        if key == edges:
            _uncapped_edge(t, where, key)
            judged = (v for v in _numbers_in(value) if v != math.inf)
        else:
            judged = _numbers_in(value)
        if any(_not_finite(v) for v in judged):
            raise InputError(f"{where}: {t.get('type')} {key} {value!r} is "
                             'not finite (a NaN or an infinity): give finite '
                             'numbers')


def check_settings(t: Dict, where: str) -> None:
    """Refuse with one line a setting of transform config ``t`` that both
    paths refuse, the batched views (:func:`build_op`) and the per-image
    pipeline (:func:`check_pipeline`), before the run:

    - a NaN or an infinity among its number settings (:func:`_finite`;
      a probability's is refused by its own line, below): an infinite
      edge of a resize scale with ``keep_ratio=True`` is taken (mmcv's
      uncapped long edge), and a ``magnitude_std`` of float infinity is
      named with the string ``'inf'``;
    - a ``RandomFlip`` ``prob`` or ``direction`` of a type mmcv refuses
      (:func:`_flip_types`: a tuple, an integer);
    - a ``prob`` list that :func:`_probs` refuses (mmcv's ``RandomFlip``
      and ``RandomChoice``), and a ``p`` outside [0, 1] of a torchvision
      op as mmpretrain registers it (``torchvision/RandomHorizontalFlip``)
      or of ``HiDiscAugment`` (each of its ops draws with it: above 1
      every op on every image, below 0 none);
    - a torchvision transform of transforms whose transforms are configs,
      and a ``torchvision/RandomChoice`` ``p`` that is no list of weights
      (:func:`_torchvision_container`);
    - a ``prob`` (one number) that is no probability in [0, 1]. mmcv's
      ``RandomFlip`` and mmpretrain's ``RandomGrayscale`` refuse it per
      image; mmcv's ``RandomApply`` and mmpretrain's ``GaussianBlur``,
      ``Solarize`` and other auto-augment ops took it per image without a
      word (above 1: always), where the batched views refused it;
    - a ``random_negative_prob`` (mmpretrain's auto-augment ops, and
      ``RandAugment``'s ``hparams``, which it gives its ops) that is no
      probability in [0, 1]: taken without a word (above 1: every
      magnitude negated, below 0: none);
    - where a magnitude is read from ``magnitude_range`` (and in
      ``RandAugment``), a ``magnitude_level`` below 0 or a
      ``total_level`` not above 0 (mmpretrain's ``RandAugment`` asserts
      both; its single ops took them: a negative blur sigma on both paths),
      and a ``magnitude_level`` above ``total_level`` where mmpretrain maps
      the level as it is (``magnitude_std`` ``'inf'`` or not above 0: a
      magnitude past the end of ``magnitude_range``). With a
      ``magnitude_std`` above 0 mmpretrain clips the drawn level to
      [0, ``total_level``], so a level above it is taken, as there.
    """
    kind = t.get('type')
    if kind == 'RandomFlip':
        _flip_types(t, where)
    prob = t.get('prob')
    if isinstance(prob, (list, tuple)):
        _probs(t, where)  # RandomFlip's per direction, RandomChoice's
    elif prob is not None:
        _prob(t, None, where)
    # mmpretrain's auto-augment ops negate the magnitude where
    # ``np.random.rand() < random_negative_prob`` (above 1: always, below
    # 0: never, without a word); RandAugment merges its hparams' into the
    # ops that take it (AutoAugment builds its ops without them)
    if 'random_negative_prob' in t:
        _prob(t, None, where, 'random_negative_prob')
    hparams = t.get('hparams')
    if kind == 'RandAugment' and isinstance(hparams, dict) and \
            'random_negative_prob' in hparams:
        probability(hparams['random_negative_prob'],
                    f'{where}: RandAugment hparams.random_negative_prob')
    if kind in TORCHVISION_CONTAINERS:
        _torchvision_container(t, where)  # RandomChoice's p: weights
    elif kind == 'HiDiscAugment' or (
            isinstance(kind, str) and kind.startswith('torchvision/')):
        # torchvision's ops draw ``torch.rand(1) < p`` (above 1: always,
        # below 0: never) and refuse none but RandomErasing (when built);
        # HiDiscAugment passes its p to each of them
        _prob(t, 0.5, where, 'p')
    # after the probabilities, whose own line names their range (NaN
    # included)
    _finite(t, where)
    if t.get('magnitude_range') is None and kind != 'RandAugment':
        return
    level, = _numbers(t, 'magnitude_level', 10, None, where)
    total, = _numbers(t, 'total_level', 10, None, where)
    if not total > 0:
        raise InputError(f'{where}: {kind} total_level {total!r} is not '
                         'above 0 (the level is divided by it)')
    std = t.get('magnitude_std', 0.)
    clipped = isinstance(std, numbers.Real) and not isinstance(std, bool) \
        and std > 0
    if level < 0 or (level > total and not clipped):
        raise InputError(
            f'{where}: {kind} magnitude_level {level!r} is not in [0, '
            f'total_level {total!r}]: the magnitude would leave '
            f"magnitude_range {t.get('magnitude_range')!r}")


def known_as(t: Dict) -> Dict:
    """Transform config ``t`` as the checks here judge it: of a type
    given with a scope or module path (``'mmcv.RandomFlip'``,
    ``'mmpretrain.ColorJitter'``) or as a class, the name by which the
    project's scope knows what it builds (:func:`transform_type`, the
    batched views' lookup: the line is theirs, ``RandomFlip prob 1 is an
    integer``), where the build finds one; else ``t`` as given (a plain
    name is judged as spelled, torch-free, as the launchers'
    ``--check-config`` runs it: the lookup imports the model stack, and
    the registries know the transforms judged here by their plain names
    alone). Before, a scoped spelling that trains per image was judged by
    its name as spelled: none of :func:`check_settings`' checks of a
    type, nor :func:`pipeline_warnings`, found it."""
    kind = t.get('type')
    if isinstance(kind, str) and '.' not in kind:
        return t
    known = transform_type(t)
    return t if known is None else dict(t, type=known)


def check_pipeline(pipeline, where: str) -> None:
    """:func:`check_settings` of every transform of a per-image
    ``pipeline`` (at config key ``where``), nested ones included
    (``MultiView``'s views, ``RandomApply``'s transforms), each known by
    what it builds (:func:`known_as`)."""
    from ..config import config_dicts
    for key, t in config_dicts(pipeline, where):
        if 'type' in t:
            check_settings(known_as(t), key)


def _pipelines(node, where: str):
    """``(key, pipeline)`` of every ``pipeline`` list in config ``node``
    (at key ``where``), a wrapped dataset's included."""
    from ..config import config_dicts
    for key, sub in config_dicts(node, where):
        if isinstance(sub.get('pipeline'), (list, tuple)):
            yield f'{key}.pipeline', sub['pipeline']


def check_pipelines(node, where: str) -> None:
    """:func:`check_pipeline` of every ``pipeline`` list in config
    ``node`` (at key ``where``, :func:`_pipelines`): the training
    loader's (``train_dataloader``) and an extraction config's
    ``dataset`` (``nct_aug.py``'s augmented passes), before anything is
    built."""
    for key, pipeline in _pipelines(node, where):
        check_pipeline(pipeline, key)


def transform_type(t: Dict, scope: Optional[str] = None) -> Optional[str]:
    """The name by which the project's scope knows what the pipeline
    transform config ``t`` builds in ``scope``
    (:func:`~openselfsup.config.known_type`, called on mmpretrain's
    registry, as its datasets build their pipelines): ``'PackInputs'``
    for ``'mmpretrain.PackInputs'``, ``'RandomFlip'`` for
    ``'mmcv.RandomFlip'``; None for a type the build does not find. The
    one rule by which the batched views (:mod:`.batch_aug`) and the fast
    path (:mod:`openselfsup.apis.fast_path`: the loading and packing
    steps, ``MultiView``) know a transform, not by its name as spelled
    (the scoped spellings that train per image were refused as having no
    batched version). ``scope`` None: the scope current (a preprocessor
    built in a run: the one MMEngine builds the model in), else the
    project's. Imports the model stack."""
    from ..config import PROJECT_SCOPE, known_type
    if scope is None:
        from mmengine.registry import DefaultScope
        current = DefaultScope.get_current_instance()
        scope = PROJECT_SCOPE if current is None else current.scope_name
    return known_type(t, 'TRANSFORMS', scope, 'mmpretrain')


#: the colour jitters (mmpretrain's, and its subclass with a hue that wraps)
JITTER = ('ColorJitter', 'HueWrapColorJitter')

#: ``(setting, centre, bounds)`` of mmpretrain's ``ColorJitter``: a number
#: ``v`` is the range ``(centre - v, centre + v)``, and a range not inside
#: its bounds, or given high to low, is clipped to them with a warning
#: (its ``_set_range``)
JITTER_BOUNDS = (('brightness', 1, (0, float('inf'))),
                 ('contrast', 1, (0, float('inf'))),
                 ('saturation', 1, (0, float('inf'))),
                 ('hue', 0, (-0.5, 0.5)))


def jitter_clip_warnings(t: Dict) -> List[str]:
    """The warnings mmpretrain's ``ColorJitter`` logs when it builds the
    colour jitter config ``t`` (its text), torch-free: a range past its
    bounds (``hue=0.6``, ``brightness=1.5``) or given high to low
    (``brightness=(1.2, 0.8)``), which it takes, clipped. A setting it
    refuses (a negative number, a range not of two) is not one."""
    out = []
    for name, centre, bound in JITTER_BOUNDS:
        value = t.get(name, 0.)
        if isinstance(value, numbers.Number):
            if value < 0:
                continue  # refused when built
            value = (centre - value, centre + value)
        if not isinstance(value, (list, tuple)) or len(value) != 2 or \
                not all(isinstance(v, numbers.Real) for v in value):
            continue  # refused when built
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            out.append(f'ColorJitter {name} values exceed the bound '
                       f'{bound}, clipped to the bound.')
    return out


def pipeline_warnings(node, where: str) -> List[str]:
    """``'KEY: warning'`` of each colour jitter in the ``pipeline`` lists
    of config ``node`` (at key ``where``) that mmpretrain clips with a
    warning (:func:`jitter_clip_warnings`), known by what it builds
    (:func:`known_as`: ``'mmpretrain.ColorJitter'`` too): the launchers'
    check prints them once, where each started process logs them."""
    from ..config import config_dicts
    out = []
    for key, pipeline in _pipelines(node, where):
        for at, t in config_dicts(pipeline, key):
            if 'type' in t and known_as(t).get('type') in JITTER:
                out += [f'{at}: {w}' for w in jitter_clip_warnings(t)]
    return list(dict.fromkeys(out))
