"""The low-shot run spec: one frozen description of every setting.

A low-shot experiment is many settings (domain x novel class x shots x
classifier x mode); each is a :class:`RunSpec`. The spec owns, in one place:

- the **defaults** (those of the published code: 1000 tasks, 15 queries per
  class, K = 16 prototypes, M = 2000 shift vectors, 100 augmentation shots,
  Ridge alpha 1, logistic regression C 1 and ``max_iter`` 1000);
- the **validation** of every value (one line naming the flag);
- the **file names** of the task store, the dictionary and the result;
- the **result info** (the settings block of a result JSON).

The command-line tools add their flags with :func:`add_arguments` and build
specs with :func:`spec_kwargs`, so a default changes here and nowhere else;
the scripts' ``_env.sh`` passes a flag only when its variable is set.

A spec never holds execution choices (device, threads, chunk size): results
do not depend on them (``tests/test_lowshot_determinism.py``).
"""
import argparse
from dataclasses import MISSING, asdict, dataclass, fields
from typing import (Collection, Dict, Iterable, List, Mapping, NamedTuple,
                    Optional, Sequence, Tuple, Union)

from ..classes import (held_out, model_held_out, nct_names, novel_class_ids,
                       novel_class_of_name, split_model_name)
from ..utils import InputError, check_distinct, check_seed, is_int
from . import paths
from .paths import printed, script

#: query samples per class in every task (the published code's ``num_querys``)
NUM_QUERIES = 15
#: ``--mode``: linear probe, sampled latent augmentation (the paper's), or
#: its closed-form limit (Ridge, nearest centroid; docs/analytic_latent_aug.md)
MODES = ('linear', 'latent_aug', 'latent_aug_expected')
#: modes that read the base dictionary
LATENT_MODES = ('latent_aug', 'latent_aug_expected')
#: ``--clf`` names (the published code's)
CLASSIFIERS = ('Ridge', 'logistic_regression', 'nearest_centroid')
#: classifiers with a closed form under ``latent_aug_expected``
EXPECTED_CLASSIFIERS = ('Ridge', 'nearest_centroid')
#: hyperparameters per classifier (``--alpha``, ``--C``, ``--max_iter``)
CLASSIFIER_PARAMS = {'Ridge': ('alpha',),
                     'logistic_regression': ('C', 'max_iter'),
                     'nearest_centroid': ()}


@dataclass(frozen=True)
class TaskSetting:
    """One low-shot domain.

    Attributes:
        task (str): meta-test name: 'near', 'mixture', 'out' or 'out_homo'.
        domain (str): 'near', 'mixture' or 'out' (class table, store name).
        ways (int): classes per task.
        support_set (str): feature set name of the support pool.
        query_set (str): feature set name of the query pool.
        homo (bool): all support of a task from one slide (PAIP19).
    """
    task: str
    domain: str
    ways: int
    support_set: str
    query_set: str
    homo: bool = False

    @property
    def same_pool(self) -> bool:
        """Support and queries drawn from one pool (never overlapping)."""
        return self.support_set == self.query_set

    @property
    def store_mode(self) -> str:
        """'hetero' or 'homo' for out-domain stores, '' elsewhere."""
        if self.domain != 'out':
            return ''
        return 'homo' if self.homo else 'hetero'


SETTINGS: Dict[str, TaskSetting] = {
    'near': TaskSetting('near', 'near', 9, 'NCT_train', 'NCT_test'),
    'mixture': TaskSetting('mixture', 'mixture', 5, 'LC', 'LC'),
    'out': TaskSetting('out', 'out', 3, 'PAIP_train', 'PAIP_test'),
    'out_homo': TaskSetting('out_homo', 'out', 3, 'PAIP_train', 'PAIP_test',
                            homo=True),
}
TASKS = tuple(SETTINGS)


def get_setting(task: str) -> TaskSetting:
    """The setting of a ``--task`` name."""
    if task not in SETTINGS:
        raise InputError(f'--task {task!r}: expected one of '
                         f'{", ".join(TASKS)}')
    return SETTINGS[task]


def _positive(flag: str, value, allow_zero: bool = False) -> None:
    """Refuse a count below 1 (0 with ``allow_zero``) or a real number
    (``alpha``, ``C``) at or below 0 (below 0 with ``allow_zero``)."""
    if isinstance(value, float):
        bad = not value >= 0 if allow_zero else not value > 0  # NaN too
        bad = bad or value == float('inf')
    else:
        bad = not is_int(value) or value < (0 if allow_zero else 1)
    if bad:
        raise InputError(f'--{flag} must be {"a non-negative" if allow_zero else "a positive"} '
                         f'number, got {value!r}')


def _seed(flag: str, value) -> None:
    check_seed(value, f'--{flag}')


def no_closed_form(flag: str, clfs: Sequence[str]) -> str:
    """Why ``latent_aug_expected`` cannot run classifiers ``clfs`` (one
    line, after ``flag``: ``--mode``, or the sweep's ``--modes``)."""
    return (f'{flag} latent_aug_expected has a closed form for '
            f'{" and ".join(EXPECTED_CLASSIFIERS)} only, not '
            f'{" ".join(clfs)}')


def check_distinct_settings(flag: str, values: Sequence) -> None:
    """Refuse a value given twice in a list flag of settings to run
    (``--shots 1 1``): each setting would run, be written and be counted
    twice. :func:`openselfsup.utils.check_distinct` with a ``None`` value
    shown as ``none`` and the reason for settings.

    Raises:
        InputError: the flag and the values given twice.
    """
    check_distinct(flag, values,
                   show=lambda v: 'none' if v is None else str(v),
                   why='each setting runs once; give every value once')


def check_model_name(model: str) -> None:
    """Refuse a ``--model`` that is no plain folder name: it names the
    model's folder under ``extracted_feats/``, ``dictionaries/`` and
    ``results/`` and a path component of ``summary/compare/<A>/vs_<B>/``
    (:func:`~.paths.compare_name`), so ``a/b``, ``.`` and ``..`` would
    put its files elsewhere (``--model ..`` wrote its result beside
    ``results/``, where no summary reads it).

    Raises:
        InputError: ``model`` is empty, ``.``, ``..`` or holds a ``/``.
    """
    if not model or model in ('.', '..') or '/' in model:
        raise InputError(f'--model {model!r}: a plain name such as clp or '
                         'clp_wo_7 (a folder name: no /, not . or ..)')


def novel_class_arg(text: str) -> Optional[int]:
    """A novel class on a command line (argparse ``type``): a class id, or
    None for ``none`` (near-domain tasks without a novel class, as when
    the flag is not given). A class name is refused with its id (the id
    names the ``<model>_wo_<id>`` feature folders and the scripts' loops),
    anything else with every id and its classes."""
    if text.lower() == 'none':
        return None
    try:
        return int(text)
    except ValueError:
        named = novel_class_of_name(text)
        way = (f'{text} is novel class {named}: give {named}'
               if named is not None
               else f'the ids: {novel_class_ids()}')
        raise argparse.ArgumentTypeError(
            f'{text!r} is neither a class id nor "none" ({way})') from None


class _NovelClassLeftOut:
    """The type of :data:`NOVEL_CLASS_LEFT_OUT`."""

    def __repr__(self) -> str:
        return 'none'


#: the novel class of a run or dictionary spec whose ``--novel_class`` was
#: left out (the specs' default, and the flag's on
#: ``distributed_meta_test.py`` and ``dict_construction.py``): no novel
#: class, as ``none`` given, but refused for a model named
#: ``<family>_wo_<c>`` where the novel class counts
#: (:func:`check_model_novel_class`); the spec holds None once checked
NOVEL_CLASS_LEFT_OUT = _NovelClassLeftOut()


def names_held_out_class(model: str) -> bool:
    """Whether ``model``'s name says which class its encoder held out
    (``<family>_wo_<c>``): its near-domain runs and its NCT dictionary
    take a novel class given, ``none`` on purpose, never left out."""
    return split_model_name(model)[1] is not None


def check_novel_class(novel_class: Optional[int]) -> Tuple[int, ...]:
    """Labels a novel-class id stands for, or one line naming the flag."""
    try:
        return held_out(novel_class)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def model_novel_mismatch(model: str, novel_class: Optional[int],
                         novel_words: str = 'novel class',
                         model_words: Optional[str] = None) -> Optional[str]:
    """What is wrong, in words, with scoring the model ``model`` on novel
    class ``novel_class``'s near-domain tasks, where its name's
    ``_wo_<c>`` suffix names the encoder trained without other classes
    (the one rule of the run check, :func:`check_model_novel_class`, and
    the results check, :func:`check_novel_pairing`); None where it names
    the same class, or no class (no suffix, or no novel class: not
    judged). The words say what of it is so by the class table: the
    novel classes the encoder trained on (``clp_wo_7`` on novel class 3:
    LYM), and the classes it held out that those tasks take as base
    classes (``clp_wo_78`` on novel class 7: TUM; it held STR out, it did
    not train on it). ``novel_words`` name what chose the novel class (a
    flag, ``'--novel_class'``; default ``'novel class'``),
    ``model_words`` the model (default ``model``)."""
    said = split_model_name(model)[1]
    if novel_class is None or said is None or said == str(int(novel_class)):
        return None

    def named(c):
        try:
            return held_out(c)
        except ValueError:  # no NCT class: not named
            return None
    held, novel = named(int(said)), named(novel_class)
    facts = []
    if held is not None and novel is not None:
        trained = [c for c in novel if c not in held]
        base = [c for c in held if c not in novel]
        if trained:
            facts.append(f'trained on {nct_names(trained)}')
        if base:
            kind = 'a base class' if len(base) == 1 else 'base classes'
            facts.append(f'held out {nct_names(base)}'
                         f'{"" if trained else " too"}, {kind} of those '
                         'tasks')
    return (f'{model_words or model} is named as the encoder trained '
            f'without class {said}'
            f' ({nct_names(held) if held else "no novel class id"})'
            f', but {novel_words} '
            f'{novel_class}{f" ({nct_names(novel)})" if novel else ""} '
            f'scores it on that class\'s tasks'
            f'{": that encoder " + " and ".join(facts) if facts else ""} (the '
            'near-domain protocol pairs each novel class with the encoder '
            'that held out its classes alone)')


def check_model_novel_class(model: str, novel_class: Optional[int],
                            novel_flag: str = '--novel_class',
                            model_words: Optional[str] = None,
                            left_out: str = 'its near-domain tasks would '
                            'be scored without a novel class',
                            on_purpose: str = 'score it without a novel '
                            'class on purpose') -> None:
    """Refuse a model named for another held-out class than the run's
    novel class (:func:`model_novel_mismatch`): ``clp_wo_7`` (the
    published name of the encoder trained without class 7, the sweep's
    ``{model}_wo_{novel}``) with ``--novel_class 3`` was scored on class
    3's tasks without a word: an encoder that saw class 3 in
    pre-training, its result a novel-class-3 result of a ``_wo_`` model. A
    model without that suffix, or without a novel class (mixture and out
    domain), is not judged.

    The line names the command's own flags: ``novel_flag`` that chose the
    novel class (the sweep's ``--novel_classes``; words that are no flag,
    ``"the ablation's novel class"``, where the command fixes it: then
    only the model is advised), ``model_words`` what named the model
    (default ``--model <model>``; the sweep's ``--model_template``).

    A ``novel_class`` left out (:data:`NOVEL_CLASS_LEFT_OUT`) is refused
    for a ``<family>_wo_<c>`` model too: ``clp_wo_3`` without
    ``--novel_class`` was scored on near-domain tasks of no novel class,
    and its dictionary built on all nine classes, class 3 among them,
    their results shown as any ``clp_wo_3`` result. ``left_out`` says
    what the run would do, ``on_purpose`` what ``none`` given does (the
    way to ask for it). A ``novel_flag`` that is no flag (a script's
    environment variable, ``NOVEL_CLASSES``: :func:`script_novel_class`)
    is advised as ``set NOVEL_CLASSES=none``, the folder way out as
    ``MODEL=<family>_wo_<c>``."""
    family, said_class = split_model_name(model)
    try:  # a suffix that is no class id (clp_wo_99) is never advised
        said_names = said_class and nct_names(held_out(int(said_class)))
    except ValueError:
        said_names = None
    if novel_class is NOVEL_CLASS_LEFT_OUT:
        if said_class is None:
            return
        named = f'{model_words or f"--model {model}"} is named as the ' \
            f'encoder trained without class {said_class}'
        if said_names is None:
            # a script's setting is an environment variable: set X=none,
            # and its folder is the MODEL it is given
            setting = not novel_flag.startswith('--')
            give = f'set {novel_flag}=none' if setting else \
                f'give {novel_flag} none'
            folder = 'set MODEL=<family>_wo_<c>' if setting else \
                'name its feature folder <family>_wo_<c>'
            raise InputError(
                f'{named}, but {said_class} is no novel class id (0..8, or '
                f'78 for 7 and 8) and no {novel_flag} is given: {left_out}; '
                f'{give} to {on_purpose}, or {folder} for the class c its '
                'encoder held out')
        raise InputError(
            f'{named} ({said_names}), but no '
            f'{novel_flag} is given: {left_out}; give {novel_flag} '
            f'{said_class} (the published pairing), or {novel_flag} none '
            f'to {on_purpose}')
    line = model_novel_mismatch(model, novel_class, novel_flag,
                                model_words or f'--model {model}')
    if line is None:
        return
    fix = (f'{novel_flag} {said_class} or ' if novel_flag.startswith('--')
           and said_names is not None else '')
    raise InputError(
        f'{line}; give {fix}the model without class {novel_class} '
        f'({family}_wo_{novel_class}); to score an encoder '
        'on another class on purpose, name its feature folder without the '
        '_wo_<class> suffix')


def script_novel_class(model: str, variable: str = 'NOVEL_CLASSES'
                       ) -> Optional[str]:
    """The novel class a low-shot script pairs ``model`` with where its
    ``variable`` (``NOVEL_CLASSES``; ``demo_lowshot.sh``'s ``NOVEL``) is
    unset: the class id a ``<family>_wo_<c>`` name holds out as
    :func:`~openselfsup.classes.model_held_out` reads it (``clp_wo_07``:
    ``'7'``, ``fsp_wo_078``: ``'78'``), None for a name without the
    suffix (``clp``, ``fsp_wo_LYM``, ``clp_wo_3_seed1``: the script's own
    default). A suffix that is no novel class id (``clp_wo_99``: every
    command refuses that model with any class but none) is refused with
    the commands' words and ways out (:func:`check_model_novel_class`),
    naming ``MODEL`` and ``variable``."""
    said = split_model_name(model)[1]
    if said is None or model_held_out(model) is not None:
        return said
    check_model_novel_class(
        model, NOVEL_CLASS_LEFT_OUT, variable, f'MODEL {model}',
        left_out='the script has no class to pair it with')
    return None  # not reached: refused above


def held_class_main(argv: Optional[Sequence[str]] = None) -> int:
    """``held_class MODEL [VARIABLE]``, the low-shot scripts' query
    (``held_class`` of ``wsi_workdir/scripts/_env.sh``): prints
    :func:`script_novel_class` of ``MODEL``, nothing where it is None;
    one ``error:`` line, exit 2, for a refused name or other arguments
    (run by :func:`~openselfsup.utils.run_cli`)."""
    args = list(argv or ())
    if not 1 <= len(args) <= 2:
        raise InputError('usage: held_class MODEL [VARIABLE] (got '
                         f'{" ".join(map(repr, args)) or "no arguments"})')
    held = script_novel_class(*args)
    if held is not None:
        print(held)
    return 0


def _settle_novel_class(spec, counts: bool, **words) -> None:
    """Set a spec's novel class left out (:data:`NOVEL_CLASS_LEFT_OUT`)
    to None, none, after refusing it where it ``counts`` (near-domain
    tasks, an NCT dictionary) for a model named ``<family>_wo_<c>``
    (:func:`check_model_novel_class` with ``words``)."""
    if spec.novel_class is not NOVEL_CLASS_LEFT_OUT:
        return
    if counts:
        check_model_novel_class(spec.model, NOVEL_CLASS_LEFT_OUT, **words)
    object.__setattr__(spec, 'novel_class', None)


def check_novel_pairing(where: str, model: str, novel_class: Optional[int],
                        classes: Sequence[str]) -> None:
    """Refuse a near-domain result (or run) of ``model`` on novel class
    ``novel_class`` whose pairing is not the published one: a model named
    ``<family>_wo_<c>`` for another class than ``novel_class``
    (:func:`model_novel_mismatch`, the run check's rule and words; a result
    written before :func:`check_model_novel_class` refused the run: the
    summary showed the F1 of a class its encoder trained on as novel), or
    class names ``classes`` (the result's, in label order) that are the
    NCT classes in another order than the published one, whose label of
    the novel class is another class (the novel-class table read the
    F1 of label c, named as the held-out class c: ``ADI, BACK, ...`` gave
    ``fsp_wo_0`` ADI's F1 as BACK's). Names that are not NCT's (a
    synthetic set's ``c0`` ..) are not judged; nor a novel class outside
    the table (refused where it is read).

    Raises:
        InputError: ``where`` (the file), the pairing and the fix.
    """
    if novel_class is None:
        return
    try:
        members = held_out(novel_class)
    except (TypeError, ValueError):
        return
    line = model_novel_mismatch(str(model), novel_class,
                                "the result's novel class")
    if line is not None:
        family = split_model_name(str(model))[0]
        raise InputError(f'{where}: {line}; delete it and run '
                         f'{family}_wo_{novel_class} on that class')
    from ..classes import NCT_CLASSES
    names = [str(c) for c in classes]
    if sorted(names) != sorted(NCT_CLASSES):
        return
    wrong = [c for c in members if names[c] != NCT_CLASSES[c]]
    if wrong:
        c = wrong[0]
        raise InputError(
            f'{where}: its classes name label {c} {names[c]}, but novel '
            f'class {novel_class} is {nct_names(members)} in the published '
            f'label order ({", ".join(NCT_CLASSES)}) that '
            f'{"" if model_held_out(str(model)) is None else f"{model} and "}'
            'the task stores hold out by; extract the features again with '
            'the extraction configs\' classes')


def novel_suffix(novel_class: Optional[int]) -> str:
    """``'wo7'`` for novel class 7, ``'all'`` for none (dictionary names)."""
    return 'all' if novel_class is None else f'wo{novel_class}'


@dataclass(frozen=True)
class TaskSpec:
    """One task store: ``num_task`` tasks of one domain, shots and novel class.

    Attributes:
        task (str): 'near', 'mixture', 'out' or 'out_homo'.
        shots (int): support samples per class.
        num_task (int): tasks to draw (a store serves any smaller count).
        novel_class (int | None): near domain: the class(es) held out of
            pre-training (0..8, 78 = 7 and 8); names the store and seeds
            its draw with ``seed`` (one independent draw per novel class,
            as published); every task holds all nine classes either way.
        seed (int): sampling seed (``--task_seed``; a seed other than 0
            names its store: ``_seed<S>``).
        queries (int): query samples per class.
    """
    task: str
    shots: int
    num_task: int = 1000
    novel_class: Optional[int] = None
    seed: int = 0
    queries: int = NUM_QUERIES

    def __post_init__(self):
        setting = get_setting(self.task)
        _positive('num_shots', self.shots)
        _positive('num_task', self.num_task)
        _positive('queries', self.queries)
        _seed('task_seed', self.seed)
        check_novel_class(self.novel_class)
        if self.novel_class is not None and setting.domain != 'near':
            raise InputError(f'--novel_class applies to near-domain tasks '
                             f'only, not {self.task}')

    @property
    def setting(self) -> TaskSetting:
        return SETTINGS[self.task]

    def path(self, workdir: str) -> str:
        s = self.setting
        return paths.task_store_path(workdir, s.domain, s.ways, self.shots,
                                     s.store_mode or None, self.novel_class,
                                     self.seed)

    def command(self, workdir: str) -> str:
        """The ``generate_task.py`` command that writes this store."""
        return generate_task_commands([self], workdir)[0]


def generate_task_commands(specs: Sequence['TaskSpec'],
                           workdir: str) -> List[str]:
    """The ``generate_task.py`` commands that write exactly the stores of
    ``specs``: one per setting, task count and seed and, within those, per
    set of novel classes, listing the shots drawn for that set (a command
    draws every shots and novel class it lists, so one command for
    ``1``-shot ``0`` and ``5``-shot ``7``, ``--num_shots 1 5 --novel_class
    0 7``, drew, and with ``--overwrite`` cut, two stores more); the store
    without a novel class is ``none`` beside novel classes (it was left
    out of the command). ``workdir`` as given in the current folder: the
    commands, run from any folder, name it absolute
    (:func:`~.paths.printed`)."""
    groups = {}
    for t in dict.fromkeys(specs):
        groups.setdefault((t.task, t.num_task, t.seed), {}).setdefault(
            t.shots, set()).add(t.novel_class)
    commands = []
    for (task, num_task, seed), novels_of in groups.items():
        shots_of = {}
        for shots in sorted(novels_of):
            shots_of.setdefault(frozenset(novels_of[shots]), []).append(shots)
        s = SETTINGS[task]
        for novels, shots in shots_of.items():
            words = ['none' if c is None else str(c) for c in
                     sorted(novels, key=lambda c: -1 if c is None else c)]
            commands.append(' '.join(
                ['python', script('wsi_workdir', 'tools', 'generate_task.py'),
                 '--task',
                 s.domain]
                + (['--mode', s.store_mode] if s.store_mode else [])
                + ['--num_shots', *map(str, shots), '--num_task',
                   str(num_task)]
                + ([] if words == ['none'] else ['--novel_class', *words])
                + ([] if seed == 0 else ['--seed', str(seed)])
                + ['--workdir', printed(workdir)]))
    return commands


@dataclass(frozen=True)
class DictionarySpec:
    """One base dictionary: k-means of a model's base features.

    Attributes:
        model (str): feature model, e.g. ``'clp_wo_7'``.
        novel_class (int | None): class(es) left out of the base set; must
            be the novel class of every run that uses the dictionary.
        features (str): base feature set (NCT_train, as published).
        num_prototypes (int): K.
        num_shift_vectors (int): M, shift vectors per prototype.
        seed (int): seed of k-means and of the shift draws.
    """
    model: str
    novel_class: Optional[int] = NOVEL_CLASS_LEFT_OUT
    features: str = 'NCT_train'
    num_prototypes: int = 16
    num_shift_vectors: int = 2000
    seed: int = 0

    def __post_init__(self):
        check_model_name(self.model)
        if self.features not in paths.FEATURE_NAMES:
            raise InputError(f'--features {self.features!r}: expected one '
                             f'of {", ".join(paths.FEATURE_NAMES)}')
        _positive('num_prototypes', self.num_prototypes)
        _positive('num_shift_vectors', self.num_shift_vectors)
        _seed('dict_seed', self.seed)
        _settle_novel_class(
            self, self.of_nct,
            left_out='its dictionary would be built of every class, the '
            'held-out ones among them',
            on_purpose='build it of every class on purpose (as the '
            'mixture- and out-domain runs of the model read it)')
        check_novel_class(self.novel_class)
        check_model_novel_class(self.model, self.novel_class)
        if self.novel_class is not None and not self.of_nct:
            raise InputError(
                f'--novel_class {self.novel_class} is an NCT class; '
                f'--features {self.features} holds other classes (leave '
                '--novel_class out to use all of them)')

    @property
    def of_nct(self) -> bool:
        """Built of NCT's classes (a novel class can be left out of it)."""
        return feature_set_classes(self.features) == feature_set_classes(
            'NCT_train')

    @property
    def excluded(self) -> Tuple[int, ...]:
        return held_out(self.novel_class)

    def path(self, workdir: str) -> str:
        return paths.dictionary_path(
            workdir, self.model, self.features, self.num_prototypes,
            self.num_shift_vectors, self.seed,
            novel_suffix(self.novel_class))

    def command(self, workdir: Optional[str]) -> str:
        """The ``dict_construction.py`` command that writes this
        dictionary (the flags that differ from its defaults), run from
        any folder: ``workdir`` as given in the current folder
        (:func:`~.paths.printed`), ``<workdir>`` where unknown."""
        flags = [('--novel_class', 'none' if self.novel_class is None
                  else self.novel_class,
                  'none' if not (self.of_nct and names_held_out_class(
                      self.model)) else None),
                 ('--features', self.features, 'NCT_train'),
                 ('--num_prototypes', self.num_prototypes, 16),
                 ('--num_shift_vectors', self.num_shift_vectors, 2000),
                 ('--seed', self.seed, 0)]
        return ' '.join(
            ['python', script('wsi_workdir', 'dict_construction.py'),
             '--model', self.model]
            + [f'{flag} {value}' for flag, value, plain in flags
               if value != plain]
            + ['--workdir', printed(workdir) if workdir else '<workdir>'])


#: RunSpec fields that name the result file when they differ from the
#: default: (field, short tag)
_VARIANT_TAGS = (('alpha', 'alpha'), ('C', 'C'), ('max_iter', 'iter'),
                 ('num_aug_shots', 'A'), ('num_prototypes', 'K'),
                 ('num_shift_vectors', 'M'), ('dict_seed', 'dseed'),
                 ('seed', 'seed'), ('task_seed', 'tseed'),
                 ('aug_times', 'imgaug'))


def _variant_value(value) -> str:
    """A value in a variant: ``%g`` where it writes the value exactly (the
    names results have always had: ``2``, ``0.5``, ``1e-07``), else every
    digit (``%g`` keeps 6: 0.1234567 and 0.1234568 shared a name)."""
    short = f'{value:g}'
    if float(short) == value:
        return short
    return str(value) if isinstance(value, int) else repr(float(value))


#: every input file a result records (its ``files.<name>``) -> the kind of
#: file (``features``, ``labels``, ``tasks``, ``dictionary``), in the order
#: a result writes them; :meth:`RunSpec.inputs` gives those of a setting
RESULT_INPUTS = {'support_features': 'features',
                 'support_labels': 'labels',
                 'query_features': 'features',
                 'query_labels': 'labels',
                 'task_store': 'tasks',
                 'dictionary': 'dictionary',
                 'base_features': 'features',
                 'aug_features': 'features'}


class SettingInput(NamedTuple):
    """One input file a setting reads and its result records
    (:meth:`RunSpec.inputs`).

    Attributes:
        name (str): its key in a result's ``files`` (:data:`RESULT_INPUTS`).
        kind (str): ``features``, ``labels``, ``tasks`` or ``dictionary``.
        model (str | None): the feature model of features and labels (the
            dictionary's, for its base features); None for the task store
            and the dictionary.
        features (str | None): the feature set of features and labels
            (``NCT_train``); None for the task store and the dictionary.
        spec (TaskSpec | DictionarySpec | None): the task store's or the
            dictionary's spec; None for features and labels.
    """
    name: str
    kind: str
    model: Optional[str] = None
    features: Optional[str] = None
    spec: Union[TaskSpec, DictionarySpec, None] = None

    def path(self, workdir: str) -> str:
        """The file in ``workdir``."""
        if self.kind == 'features':
            return paths.features_path(workdir, self.model, self.features)
        if self.kind == 'labels':
            return paths.labels_path(workdir, self.features)
        return self.spec.path(workdir)


@dataclass(frozen=True)
class RunSpec:
    """One meta-test setting: a model on one task store with one classifier.

    Attributes:
        model (str): feature model (``extracted_feats/<model>/``).
        task (str): 'near', 'mixture', 'out' (hetero) or 'out_homo'.
        shots (int): support samples per class.
        clf (str): 'Ridge', 'logistic_regression' or 'nearest_centroid'.
        mode (str): 'linear', 'latent_aug' or 'latent_aug_expected'.
        novel_class (int | None): near domain: selects the task store and
            the dictionary (which must leave this class out).
        num_task (int): evaluate the first ``num_task`` tasks of the store.
        task_seed (int): seed the task store was drawn with.
        seed (int): seed of the latent augmentation draws.
        alpha (float): Ridge L2 strength (scikit-learn's ``alpha``).
        C (float): logistic regression inverse L2 strength.
        max_iter (int): logistic regression iterations at most.
        num_aug_shots (int): latent modes: samples per support feature
            (the feature and ``num_aug_shots - 1`` shifted copies).
        num_prototypes, num_shift_vectors, dict_seed: the dictionary.
        aug_times (int): ablation (``near`` with novel class 78 only): each
            support feature plus ``aug_times - 1`` features of image-augmented
            copies of the same image (``NCT_aug`` features); 0: none.
    """
    model: str
    task: str
    shots: int
    clf: str = 'Ridge'
    mode: str = 'linear'
    novel_class: Optional[int] = NOVEL_CLASS_LEFT_OUT
    num_task: int = 1000
    task_seed: int = 0
    seed: int = 0
    alpha: float = 1.0
    C: float = 1.0
    max_iter: int = 1000
    num_aug_shots: int = 100
    num_prototypes: int = 16
    num_shift_vectors: int = 2000
    dict_seed: int = 0
    aug_times: int = 0

    def __post_init__(self):
        check_model_name(self.model)
        if self.clf not in CLASSIFIERS:
            raise InputError(f'--clf {self.clf!r}: expected one of '
                             f'{", ".join(CLASSIFIERS)}')
        if self.mode not in MODES:
            raise InputError(f'--mode {self.mode!r}: expected one of '
                             f'{", ".join(MODES)}')
        if self.mode == 'latent_aug_expected' and \
                self.clf not in EXPECTED_CLASSIFIERS:
            raise InputError(no_closed_form('--mode', [self.clf]))
        _settle_novel_class(self, get_setting(self.task).domain == 'near')
        self.tasks  # validates task, shots, num_task, novel class, task seed
        check_model_novel_class(self.model, self.novel_class)
        _seed('seed', self.seed)
        _positive('alpha', self.alpha)
        _positive('C', self.C)
        _positive('max_iter', self.max_iter)
        _positive('num_aug_shots', self.num_aug_shots)
        _positive('aug_times', self.aug_times, allow_zero=True)
        if self.aug_times and self.task != 'near':
            raise InputError('--aug_times (image-augmented support) applies '
                             'to near-domain tasks only')
        if self.latent:
            self.dictionary  # validates K, M, dict seed

    # -- derived settings ------------------------------------------------
    @property
    def setting(self) -> TaskSetting:
        return SETTINGS[self.task]

    @property
    def latent(self) -> bool:
        return self.mode in LATENT_MODES

    @property
    def tasks(self) -> TaskSpec:
        """The task store this run reads."""
        return TaskSpec(self.task, self.shots, self.num_task,
                        self.novel_class, self.task_seed)

    @property
    def dictionary(self) -> Optional[DictionarySpec]:
        """The dictionary this run reads (latent modes), else None."""
        if not self.latent:
            return None
        return DictionarySpec(self.model, self.novel_class, 'NCT_train',
                              self.num_prototypes, self.num_shift_vectors,
                              self.dict_seed)

    def inputs(self) -> Tuple[SettingInput, ...]:
        """The input files this run reads and its result records, in
        :data:`RESULT_INPUTS`' order: the support and query features and
        labels, the task store, a latent mode's dictionary and the base
        features it was built from (judged as the pools are: the mixture
        and out domains read them only through it), and the
        image-augmented support (``NCT_aug``) where ``aug_times`` is above
        1. The one list that the meta-test records (:func:`~.meta_test.
        evaluate`) and the sweep loads, answers and requires of a reusable
        result (:func:`~.sweep.feature_sets_read`, :meth:`~.meta_test.
        Inputs.recorded_now`, :func:`~.sweep.records_inputs`)."""
        s = self.setting
        read = {'support_features': (self.model, s.support_set),
                'support_labels': (self.model, s.support_set),
                'query_features': (self.model, s.query_set),
                'query_labels': (self.model, s.query_set),
                'task_store': self.tasks}
        if self.latent:
            read['dictionary'] = self.dictionary
            read['base_features'] = (self.dictionary.model,
                                     self.dictionary.features)
        if self.aug_times and self.aug_times > 1:
            read['aug_features'] = (self.model, 'NCT_aug')
        return tuple(
            SettingInput(name, kind, *read[name])
            if kind in ('features', 'labels')
            else SettingInput(name, kind, spec=read[name])
            for name, kind in RESULT_INPUTS.items() if name in read)

    @property
    def classifier_params(self) -> Dict:
        """Hyperparameters of ``clf`` (e.g. ``{'alpha': 1.0}``)."""
        return {k: getattr(self, k) for k in CLASSIFIER_PARAMS[self.clf]}

    def _relevant(self, name: str) -> bool:
        if name in ('alpha', 'C', 'max_iter'):
            return name in CLASSIFIER_PARAMS[self.clf]
        if name in ('num_aug_shots', 'num_prototypes', 'dict_seed'):
            return self.latent
        if name in ('num_shift_vectors', 'seed'):
            return self.mode == 'latent_aug'
        return True

    @property
    def variant(self) -> str:
        """Non-default parameters that matter for this run, e.g. ``'K32 A25'``
        ('' for the published defaults)."""
        defaults = {f.name: f.default for f in fields(self)}
        parts = [f'{tag}{_variant_value(getattr(self, name))}'
                 for name, tag in _VARIANT_TAGS if self._relevant(name)
                 and getattr(self, name) != defaults[name]]
        return ' '.join(parts)

    def result_path(self, workdir: str,
                    results: Optional[str] = None) -> str:
        """``results/<model>/<task>[_novel<C>]_<mode>_<clf>_<shots>shot
        [_<variant>].json`` (``results``: another results folder, the
        ablation's :func:`~.paths.ablation_results_dir`)."""
        return paths.result_path(workdir, self.model, self.task, self.mode,
                                 self.clf, self.shots, self.novel_class,
                                 self.variant.replace(' ', '_'), results)

    def command(self, workdir: str) -> str:
        """The ``distributed_meta_test.py`` command that runs this setting
        (the fields that differ from the defaults and matter to it), run
        from any folder: ``workdir`` as given in the current
        folder (:func:`~.paths.printed`)."""
        always = ('task', 'model', 'num_shots') + (
            ('novel_class', ) if self.novel_class is None
            and self.setting.domain == 'near'
            and names_held_out_class(self.model) else ())  # none, said
        flags = [flag for flag, (key, _, _) in _FLAGS.items()
                 if flag in always or self._relevant(key)]
        return ' '.join(['python', script('wsi_workdir',
                                          'distributed_meta_test.py')]
                        + changed_flags(asdict(self), flags, always)
                        + ['--workdir', printed(workdir)])

    @classmethod
    def from_result(cls, result: Dict) -> 'RunSpec':
        """The setting a result JSON records (:meth:`info`); fields it
        lacks take their defaults."""
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in result.items() if k in names}
        kwargs['shots'] = result['num_shots']
        kwargs.setdefault('novel_class', None)  # a result records none
        return cls(**kwargs)

    def info(self) -> Dict:
        """The settings block of a result JSON (all fields, ``variant``,
        and ``ways``/``queries``)."""
        out = asdict(self)
        out['num_shots'] = out.pop('shots')
        out.update(variant=self.variant, ways=self.setting.ways,
                   queries=NUM_QUERIES,
                   classifier_params=self.classifier_params)
        return out


def feature_set_classes(name: str) -> Optional[Tuple[str, ...]]:
    """Class names of the images a feature set ``name`` holds (the domain
    of the settings that read it; ``NCT_aug``: NCT_train's), None for a
    name no setting reads."""
    from ..classes import DOMAIN_CLASSES
    name = 'NCT_train' if name == 'NCT_aug' else name
    for setting in SETTINGS.values():
        if name in (setting.support_set, setting.query_set):
            return DOMAIN_CLASSES[setting.domain]
    return None


def feature_set_split(name: str) -> Optional[str]:
    """The split a feature set ``name`` holds: ``'train'`` for a set that
    settings read as their support pool only (NCT_train, PAIP_train;
    ``NCT_aug``: NCT_train's), ``'test'`` for one read as the query pool
    only (NCT_test, PAIP_test); None for a set that is both (LC: support
    and queries from one list) or that no setting reads."""
    name = 'NCT_train' if name == 'NCT_aug' else name
    roles = {role for setting in SETTINGS.values()
             for role, read in (('train', setting.support_set),
                                ('test', setting.query_set)) if read == name}
    return roles.pop() if len(roles) == 1 else None


def class_names(task: str):
    """Class names of a task's domain, in label order (the one table in
    :mod:`openselfsup.classes`)."""
    from ..classes import DOMAIN_CLASSES
    return DOMAIN_CLASSES[get_setting(task).domain]


# -- command-line flags derived from the spec -------------------------------
#: flag -> (spec field, type, help); defaults come from the dataclasses
_FLAGS = {
    'task': ('task', str, 'near: 9-way NCT; mixture: 5-way LC25000; out: '
             '3-way PAIP19, support from any training slide; out_homo: from '
             'one slide per task'),
    'num_shots': ('shots', int, 'support samples per class'),
    'clf': ('clf', str, 'classifier'),
    'mode': ('mode', str, 'linear; latent_aug: support plus shifted copies '
             'drawn from the base dictionary (the paper); '
             'latent_aug_expected: its closed-form limit (Ridge, '
             'nearest centroid)'),
    'model': ('model', str, 'feature model, e.g. clp, fsp, clp_wo_7'),
    'novel_class': ('novel_class', novel_class_arg, 'near domain: class '
                    'held out of pre-training (0..8; 78 = 7 and 8), or '
                    'none: no novel class'),
    'num_task': ('num_task', int, 'tasks per setting'),
    'task_seed': ('task_seed', int, 'seed of task sampling: another '
                  'seed runs another draw of the tasks, from a store of its '
                  'own (tasks/..._seed<S>.npz; its results are named '
                  '..._tseed<S>)'),
    'seed': ('seed', int, 'seed of the latent augmentation draws'),
    'alpha': ('alpha', float, 'Ridge L2 strength'),
    'C': ('C', float, 'logistic regression inverse L2 strength'),
    'max_iter': ('max_iter', int, 'logistic regression iterations at most '
                 '(tasks that stop there are counted in the result)'),
    'num_aug_shots': ('num_aug_shots', int, 'latent modes: samples per '
                      'support feature (itself and N-1 shifted copies)'),
    'num_prototypes': ('num_prototypes', int, 'dictionary: k-means '
                       'prototypes K'),
    'num_shift_vectors': ('num_shift_vectors', int, 'dictionary: shift '
                          'vectors M per prototype'),
    'dict_seed': ('dict_seed', int, 'dictionary: seed of k-means and the '
                  'shift draws'),
    'aug_times': ('aug_times', int, 'ablation, near domain only (0: '
                  'none): the support is each support feature plus those '
                  'of AUG_TIMES-1 image-augmented copies of its image '
                  '(NCT_aug features, from wsi_workdir/extract.py '
                  '--aug_times)'),
}
#: flag -> command -> what the flag does on that command, after the flag's
#: help (``add_arguments(command=...)``): one flag, told true per tool
_USES = {
    'novel_class': {
        'meta_test': 'selects the task store and the dictionary (built '
                     'without that class)',
        'tasks': 'names the store and seeds its draw (every task still '
                 'holds all nine classes)',
        'dictionary': 'its classes are kept out of the base set the '
                      'dictionary is built from; give the meta-test the '
                      'same class',
    },
    'aug_times': {
        'meta_test': '',
        'sweep': 'in every setting of the sweep, each feature model\'s '
                 'own NCT_aug',
    },
}
#: command -> where a ``<family>_wo_<c>`` model cannot leave
#: ``--novel_class`` out (:func:`_settle_novel_class`), for its ``--help``
_NOVEL_REQUIRED_FOR = {'meta_test': 'for the near domain (--task near)',
                       'dictionary': 'for NCT features (--features '
                                     'NCT_train, the default)'}
_CHOICES = {'task': TASKS, 'clf': CLASSIFIERS, 'mode': MODES}
_DEFAULTS = {f.name: None if f.default is NOVEL_CLASS_LEFT_OUT
             else f.default for f in fields(RunSpec)
             if f.default is not MISSING}


def changed_flags(values: Mapping, flags: Iterable[str],
                  always: Collection[str] = ()) -> List[str]:
    """A command's ``--flag value`` words for ``flags`` (names of the spec's
    flag table), in their order: each flag of ``always``, and each other
    whose value differs from the spec's default. The one writer of the
    commands a report or refusal prints (``RunSpec.command``'s
    ``distributed_meta_test.py``, ``ablation.rerun_command``'s
    ``ablation.py``).

    Args:
        values (Mapping): spec field -> value (a result JSON's settings
            with ``shots``, or ``asdict`` of a spec); a field it lacks
            takes the spec's default.
        flags (Iterable[str]): the flags to consider, in order.
        always (Collection[str]): flags written whatever their value.

    Returns:
        list[str]: ``['--flag', 'value', ...]``; a float with every digit
        (``repr``).
    """
    words: List[str] = []
    for flag in flags:
        key = _FLAGS[flag][0]
        value = values.get(key, _DEFAULTS.get(key))
        if flag in always or value != _DEFAULTS.get(key):
            words += [f'--{flag}', repr(value) if isinstance(
                value, float) else 'none' if value is None
                else str(value)]   # every digit
    return words


def default(name: str):
    """The spec's default of a flag (e.g. ``default('num_task')`` -> 1000)."""
    return _DEFAULTS[_FLAGS[name][0]]


def add_arguments(parser: argparse.ArgumentParser, names: Iterable[str],
                  required: Iterable[str] = (), many: Iterable[str] = (),
                  defaults: Optional[Dict] = None,
                  command: str = 'meta_test',
                  default_words: Optional[Dict[str, str]] = None) -> None:
    """Add spec flags to ``parser`` with the spec's defaults and help.

    Args:
        parser: the command's parser.
        names: flags (keys of the spec's flag table, e.g. 'num_task').
        required: flags without a default on this command.
        many: flags that take several values (a sweep).
        defaults: per-command defaults that differ from the spec's (the
            sweep's lists).
        command: which command the flags are for, for the flags whose
            effect differs between commands (``--novel_class``,
            ``--aug_times``): 'meta_test' (``distributed_meta_test.py``),
            'sweep', 'tasks' (``generate_task.py``) or 'dictionary'
            (``dict_construction.py``).
        default_words: flags whose default the command fills in after
            parsing (None when not given), with the words their help says
            it is (``generate_task.py``'s ``--num_shots``: the task's
            published shots).
    """
    required, many = set(required), set(many)
    defaults, default_words = defaults or {}, default_words or {}
    for name in names:
        key, typ, text = _FLAGS[name]
        if name in _USES:  # KeyError: a command this flag is not told for
            use = _USES[name][command]
            text = f'{text}; {use}' if use else text
        kw = dict(type=typ, help=text)
        if name in _CHOICES:
            kw['choices'] = _CHOICES[name]
        if name in many:
            kw['nargs'] = '+'
        if name in required:
            kw['required'] = True
        elif name in default_words:
            kw['default'] = None
            kw['help'] += f' (default: {default_words[name]})'
        elif key == 'novel_class' and name not in many:
            # none, but refused without the flag for a <family>_wo_<c>
            # model where it counts (the specs': _settle_novel_class)
            kw['default'] = NOVEL_CLASS_LEFT_OUT
            kw['help'] += (' (default: none; a model named <family>_wo_<c> '
                           f'must give it {_NOVEL_REQUIRED_FOR[command]}: '
                           'c, the published pairing, or none on purpose)')
        else:
            value = defaults.get(name, _DEFAULTS.get(key))
            kw['default'] = value
            shown = ' '.join(map(str, value)) if isinstance(
                value, (list, tuple)) else value
            kw['help'] += f' (default: {shown})'
        parser.add_argument(f'--{name}', **kw)


def spec_kwargs(args: argparse.Namespace, cls=RunSpec) -> Dict:
    """The spec fields among parsed ``args`` (flag names mapped to fields)."""
    names = {f.name for f in fields(cls)}
    out = {}
    for flag, (key, _, _) in _FLAGS.items():
        if key in names and hasattr(args, flag):
            out[key] = getattr(args, flag)
    return out


#: shots per domain in the published scripts (out domain: hetero
#: 1/5/10/50/100, homo 5/10/50/100)
DEFAULT_SHOTS = {'near': (1, 5, 10), 'mixture': (1, 5, 10),
                 'out': (1, 5, 10, 50, 100), 'out_homo': (5, 10, 50, 100)}


def published_shots_words(names: Optional[Dict[str, str]] = None) -> str:
    """:data:`DEFAULT_SHOTS` in words for a ``--help``: ``near 1 5 10;
    mixture 1 5 10; ...``, each task by its name in ``names`` where it
    has one (``generate_task.py``: ``out hetero``, ``out homo``)."""
    names = names or {}
    return '; '.join(f'{names.get(t, t)} {" ".join(map(str, s))}'
                     for t, s in DEFAULT_SHOTS.items())


def precision_flags(record) -> List[str]:
    """``['--float32']`` where a result's or an ablation index's
    ``execution`` records its run in float32 (:func:`add_execution_arguments`'
    ``--float32``: other numbers than the default float64), else ``[]``:
    a command that ran it again without the flag computed it in float64
    (review r111). The other execution flags do not change the numbers."""
    execution = record.get('execution') if isinstance(record, dict) else None
    return ['--float32'] if isinstance(execution, dict) \
        and execution.get('dtype') == 'float32' else []


def add_execution_arguments(parser: argparse.ArgumentParser) -> None:
    """``--device``, ``--threads``, ``--chunk_size``, ``--float32``: how a
    run is computed, never what it computes."""
    parser.add_argument('--device', default='cpu',
                        help='cpu, cuda or cuda:N (default: cpu)')
    parser.add_argument('--threads', type=int, default=0,
                        help='CPU worker threads, each solving whole chunks '
                        'of tasks on one core (default: 0 = one per '
                        'available core; results do not depend on it)')
    parser.add_argument('--chunk_size', type=int, default=None,
                        help='tasks per batch (default: from a memory '
                        'budget; results do not depend on it)')
    parser.add_argument('--float32', action='store_true',
                        help='classifiers in float32 (default: float64, '
                        'logistic regression\'s feature products in float32; '
                        'logistic regression then stops where a step no '
                        'longer lowers its float32 loss; the published '
                        'scikit-learn ran Ridge and nearest centroid in '
                        'float32 in linear mode only, in latent_aug the '
                        'float64 shift bank made every input float64: '
                        'docs/iclr22_protocol.md, precision)')


def check_execution(device: str, chunk_size: Optional[int],
                    threads: Optional[int]) -> Tuple[str, int]:
    """Refuse a bad ``--device``, ``--chunk_size`` or ``--threads``
    (:func:`add_execution_arguments`) before any work (loading features,
    drawing stores, building dictionaries): the meta-test checks them
    too, but only once a setting runs. torch is imported only to ask
    about a GPU (``sweep.py --check`` on the CPU starts without it).

    Returns:
        (str, int): the device (:func:`~openselfsup.utils.device.
        check_device`) and the CPU threads (:func:`~.parallel.
        resolve_threads`: None or 0, one per core).

    Raises:
        InputError: the flag and its value.
    """
    from ..utils.device import check_device
    from .parallel import resolve_threads
    dev = check_device(device)
    if chunk_size is not None and chunk_size < 1:
        raise InputError(f'--chunk_size must be positive, got {chunk_size}')
    return dev, resolve_threads(threads)
