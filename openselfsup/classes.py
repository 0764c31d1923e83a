"""The datasets' classes: one table for the data lists, the low-shot toolkit
and the reports.

Label order is the published ICLR-22 code's (its list files under
``data/<DOMAIN>/meta``): NCT-CRC-HE-100K ``BACK 0, ADI 1, DEB 2, LYM 3, MUC 4,
MUS 5, NORM 6, STR 7, TUM 8``, so ``wo_0`` holds out background and ``wo_78``
stroma and tumour; LC25000 colon before lung; PAIP19 patch labels 0, 1, 2.

Imports nothing beyond the standard library, so every layer may use it
(the low-shot toolkit included).
"""
import itertools
import math
import os
import re
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

#: NCT-CRC-HE-100K(-NONORM), in the published label order
NCT_CLASSES = ('BACK', 'ADI', 'DEB', 'LYM', 'MUC', 'MUS', 'NORM', 'STR', 'TUM')
#: LC25000: colon adenocarcinoma, colon benign, lung adenocarcinoma, lung
#: benign, lung squamous cell carcinoma
LC_CLASSES = ('colon_aca', 'colon_n', 'lung_aca', 'lung_n', 'lung_scc')
#: LC25000's file name stems (``colonca12.jpeg`` in ``colon_aca/``)
LC_FILE_STEMS = {'colon_aca': 'colonca', 'colon_n': 'colonn',
                 'lung_aca': 'lungaca', 'lung_n': 'lungn',
                 'lung_scc': 'lungscc'}
#: PAIP19 liver patches, labels 0, 1, 2
PAIP_CLASSES = ('normal', 'viable_tumor', 'non_viable_tumor')

#: class names of each low-shot domain
DOMAIN_CLASSES: Dict[str, Tuple[str, ...]] = {
    'near': NCT_CLASSES, 'mixture': LC_CLASSES, 'out': PAIP_CLASSES}

#: LC25000 label groups of the mixture-domain harmonic mean
COLON_CLASSES = (0, 1)
LUNG_CLASSES = (2, 3, 4)

#: the one novel-class id that names two classes: ``78`` is STR and TUM
PAIR_NOVEL = {78: (7, 8)}

#: held-out variants of NCT pre-training: list/config suffix -> labels left
#: out (``wo_78``: 7 and 8)
NCT_HELD_OUT: Dict[str, Tuple[int, ...]] = {
    **{f'wo_{c}': (c,) for c in range(len(NCT_CLASSES))},
    **{f'wo_{k}': v for k, v in PAIR_NOVEL.items()}}


def held_out(novel_class: Optional[int]) -> Tuple[int, ...]:
    """Labels a ``--novel_class`` id stands for (``78`` -> ``(7, 8)``).

    Args:
        novel_class (int | None): 0..8, 78, or None (no class held out).

    Returns:
        tuple[int, ...]: the labels, empty for None.

    Raises:
        ValueError: an id that names no NCT class.
    """
    if novel_class is None:
        return ()
    novel_class = int(novel_class)
    if novel_class in PAIR_NOVEL:
        return PAIR_NOVEL[novel_class]
    if 0 <= novel_class < len(NCT_CLASSES):
        return (novel_class,)
    raise ValueError(f'--novel_class {novel_class} is out of range; expected '
                     f'0..{len(NCT_CLASSES) - 1} or 78 (classes 7 and 8)')


def novel_class_ids() -> str:
    """Every novel-class id with its NCT class names, in words:
    ``'0 BACK, 1 ADI, ..., 8 TUM, 78 STR+TUM'``."""
    ids = [*range(len(NCT_CLASSES)), *PAIR_NOVEL]
    return ', '.join(f'{c} {nct_names(held_out(c))}' for c in ids)


def novel_class_of_name(name: str) -> Optional[int]:
    """The novel-class id whose NCT class names are ``name``
    (case-insensitive: ``'lym'`` -> 3, ``'STR+TUM'`` -> 78); None where
    it names none."""
    ids = [*range(len(NCT_CLASSES)), *PAIR_NOVEL]
    named = {nct_names(held_out(c)).lower(): c for c in ids}
    return named.get(name.strip().lower())


def nct_names(labels) -> str:
    """NCT labels in words, ``+``-joined: ``(7, 8)`` -> ``'STR+TUM'``."""
    return '+'.join(NCT_CLASSES[i] for i in labels)


def held_out_words(labels, at_most: bool = False,
                   by_name: Optional[Dict[
                       str, Sequence[Tuple[str, Optional[str]]]]] = None,
                   plain: bool = False,
                   otherwise: Optional[Tuple[Sequence[int], bool]] = None
                   ) -> str:
    """What a pre-training list with ``labels`` held out holds, in words
    (:func:`list_held_out`): ``'leaves out STR'``, or for ``()``
    ``'holds every class'``; ``at_most``: lists of unknown name beside
    (:func:`lists_held_out_at_most`), ``'leaves out at most STR'``.
    ``by_name``: ``{list: recorded}`` of the lists a refusal rests on
    that were judged by their names alone (``recorded``: each
    ``(list, data_root)`` of that name as recorded;
    :func:`refusal_rests_on`, of
    :func:`~openselfsup.config.by_name_only`): recorded without their
    root (None), or with a root whose file is not read here (review
    r138: such a cluster path was judged by name too and spoken of as
    fact; each said as the file is missed: an absolute list not found
    here, a root not found here, or a root found here where the list is
    not found or cannot be read, review r145), as NCT's
    lists of those names, which nothing read here confirms (a root-less
    export of another dataset whose list is named ``meta/train.txt``
    reads as NCT's all-class list), said after the words, each list with
    what its name says (review r137: the line said ``holds every class``
    as a fact). The one wording of every held-out refusal (the initial
    weights', extraction's).

    ``plain``: the words said as true where the lists ``by_name`` are
    NCT's, ``'holds every class if meta/wo_7_train.txt and
    meta/wo_3_train.txt (both recorded without their root, judged by
    their names only) are NCT's lists leaving out STR and LYM'`` (review
    r154: the words rested on more lists than the hedge named);
    ``otherwise``: ``(labels, at_most)``, the words where they are
    another dataset's, said first, ``'leaves out LYM, or no class if
    meta/train.txt (recorded under data/NCT, where it is not found;
    judged by its name only) is NCT's list of every class'`` (review
    r154: ``'leaves out at most LYM (by name only: ...)'`` was hard to
    follow)."""
    words = (f'leaves out {"at most " if at_most else ""}'
             f'{nct_names(labels)}') if labels else 'holds every class'
    if not by_name:
        return words
    one = len(by_name) == 1
    said = ' and '.join(
        'leaving out ' + nct_names(list_held_out(name))
        if list_held_out(name) else 'holding every class'
        for name in by_name)

    def where(shown, name, root):
        # why the list was not read, its file as MMEngine joins it (review
        # r145: an absolute list lies under no root, and a root found here
        # whose list is not was said not found itself)
        if root is None:
            return 'recorded without its root'
        path = os.path.join(root, name)
        there = os.path.exists(path)
        if os.path.isabs(name):
            return 'not readable here' if there else 'not found here'
        missed = 'cannot be read' if there else 'is not found'
        if not root:
            # relative to the folder its training ran in (review r154: said
            # "its run's folder, not found here" where it cannot be read)
            named = '' if name == shown else f' as {name}'
            return (f'recorded{named} relative to the folder its training '
                    f'ran in (no data_root): from this folder it {missed}')
        if name != shown:
            # recorded under another name than shown (relative to the
            # run's root): its whole path (review r154: "recorded under /x
            # as unread/meta/...", hard to follow)
            return f'recorded as {path}, which {missed} here'
        if os.path.isdir(root):
            return f'recorded under {root}, where it {missed}'
        return f'recorded under {root}, not found here'

    def places(shown, recorded):
        # every place the name was recorded, each once (review r145: the
        # first alone was said)
        return ' and '.join(dict.fromkeys(where(shown, *pair)
                                          for pair in recorded))

    rootless = all(root is None for recorded in by_name.values()
                   for _, root in recorded)
    if plain or otherwise is not None:
        return _held_out_words_if(words, labels, at_most, by_name, otherwise,
                                  rootless, places)
    if rootless:
        lists = (f'{" and ".join(by_name)}, recorded without '
                 f'{"its" if one else "their"} root,')
    elif one:
        shown, recorded = next(iter(by_name.items()))
        lists = f'{shown}, {places(shown, recorded)},'
    else:
        lists = ' and '.join(f'{shown} ({places(shown, recorded)})'
                             for shown, recorded in by_name.items())
    return (f'{words} (by name only: the list{"" if one else "s"} '
            f'{lists} {"was" if one else "were"} judged by '
            f'{"its name" if one else "their names"} as NCT\'s '
            f'list{"" if one else "s"} {said}, and may be another '
            f'dataset\'s list{"" if one else "s"} of '
            f'{"that name" if one else "those names"})')


def _held_out_words_if(words: str, labels, at_most: bool,
                       by_name: Dict[str, Sequence[Tuple[str, Optional[str]]]],
                       otherwise: Optional[Tuple[Sequence[int], bool]],
                       rootless: bool, places: Callable) -> str:
    """:func:`held_out_words`' plain form: ``words`` if the lists
    ``by_name`` are NCT's, after the words ``otherwise`` where given."""
    one = len(by_name) == 1
    if one:
        shown, recorded = next(iter(by_name.items()))
        where = places(shown, recorded)
        lists = f'{shown} ({where}{"; " if "," in where else ", "}judged ' \
            'by its name only) is'
    elif rootless:
        lists = (f'{" and ".join(by_name)} '
                 f'({"both" if len(by_name) == 2 else "all"} recorded '
                 'without their root, judged by their names only) are')
    else:
        lists = ' and '.join(f'{shown} ({places(shown, recorded)})'
                             for shown, recorded in by_name.items()) + \
            ', judged by their names only, are'
    kinds = [list_held_out(name) for name in by_name]
    if all(kinds):
        kind = 'leaving out ' + ' and '.join(map(nct_names, kinds))
    elif not any(kinds):
        kind = 'of every class'
    else:
        kind = ' and '.join('leaving out ' + nct_names(k) if k else
                            'of every class' for k in kinds)
    condition = f"if {lists} NCT's list{'' if one else 's'} {kind}"
    if otherwise is None:
        return f'{words} {condition}'
    other, other_at_most = otherwise
    if_nct = (f'{"at most " if at_most else ""}{nct_names(labels)}'
              if labels else 'no class')
    return (f'{held_out_words(other, other_at_most)}, or {if_nct} '
            f'{condition}')


#: the most tests of sets of lists :func:`refusal_rests_on` makes, every
#: set of a size, smallest first, before one pass over the rest
REST_SEARCH_TRIES = 256


def refusal_rests_on(by_name: Dict[str, Any],
                     classes: Sequence[int],
                     refused: Callable[[Sequence[str]], bool]
                     ) -> Dict[str, Any]:
    """The lists of ``by_name`` (``{list: recorded}`` of those of the lists
    judged by their names alone:
    :func:`~openselfsup.config.by_name_only`) that a held-out refusal
    rests on, the one test of it for every held-out refusal (extraction's,
    the initial weights'): those whose names say they hold one of
    ``classes`` (the classes the refusal is about) where, without them,
    the encoder is not ``refused``; else those and the fewest others of
    ``by_name`` without which it is not; else none (a refusal that lists
    read here decide). ``refused`` is given the lists dropped, taken for
    another dataset's (extraction re-roots them, which may change what
    else is judged: :func:`~openselfsup.config.kept_list_roots`).
    Review r138: a root-less ``wo_3`` list beside a root-less
    ``train.txt`` was named too where the refusal rested on ``train.txt``
    alone. Sets are tried up to :data:`REST_SEARCH_TRIES`, then each
    list once (lists that clear the refusal, not always the fewest). A
    caller whose lists read here decide the refusal whatever the others
    are asks nothing (review r154: the search ran first)."""
    holding = [n for n in by_name
               if set(classes) - set(list_held_out(n) or ())]
    others = [n for n in by_name if n not in holding]
    # the fewest lists beside those that hold a class, in their order
    # (review r145: where dropping the holding ones alone did not clear
    # it, every list was named, or, a list re-rooted, too few), every set
    # of a size while REST_SEARCH_TRIES allow (review r154: every subset
    # was tried, exponential in the lists)
    tries = 0
    for size in range(len(others) + 1):
        tries += math.comb(len(others), size)
        if tries > REST_SEARCH_TRIES:
            break
        for extra in itertools.combinations(others, size):
            drop = holding + list(extra)
            if drop and not refused(drop):
                return {n: by_name[n] for n in by_name if n in drop}
    else:
        return {}
    # then one pass: every list dropped, each kept where the refusal
    # still clears without it (lists that clear it, not always the
    # fewest; none named where dropping them all does not clear it)
    drop = holding + others
    if refused(drop):
        return {}
    for name in others:
        fewer = [n for n in drop if n != name]
        if fewer and not refused(fewer):
            drop = fewer
    return {n: by_name[n] for n in by_name if n in drop}


def another_dataset_if(by_name: Sequence[str]) -> str:
    """The condition of a held-out refusal's way out for lists judged by
    name (:func:`held_out_words`' ``by_name``): ``'if meta/train.txt is
    another dataset's'``."""
    verb = 'is' if len(by_name) == 1 else 'are'
    return f'if {" and ".join(by_name)} {verb} another dataset\'s'


def nct_if(by_name: Sequence[str], classes: Sequence[int],
           too: bool = False) -> str:
    """What the lists ``by_name`` (judged by name) made an encoder see of
    ``classes`` (the classes a run leaves out), each class with the lists
    whose names hold it, the converse of :func:`another_dataset_if`:
    where any one list alone holds every class named, ``'if
    meta/train.txt or meta/wo_7_train.txt is NCT's, it has seen LYM,
    which this run leaves out'`` (review r145: ``it has seen LYM`` was
    said as a fact after the hedge); else each class with its own
    condition, ``'if meta/wo_7_train.txt is NCT's it has seen TUM, and if
    meta/wo_8_train.txt is, STR; this run leaves out STR+TUM'`` (review
    r154: ``or`` said that either list alone had seen both). ``too``: the
    classes beside those seen for sure, ``'and STR too if
    meta/train.txt is NCT's'``."""
    groups: Dict[Tuple[int, ...], list] = {}
    for name in by_name:  # a list holding none of them: no condition
        held = tuple(c for c in classes
                     if c not in (list_held_out(name) or ()))
        if held:
            groups.setdefault(held, []).append(name)
    groups = groups or {tuple(classes): list(by_name)}
    said = [(' or '.join(names), nct_names(held))
            for held, names in groups.items()]
    if len(said) == 1:
        names, held = said[0]
        return (f"and {held} too if {names} is NCT's" if too else
                f"if {names} is NCT's, it has seen {held}, which this run "
                'leaves out')
    (first, held), rest = said[0], said[1:]
    if too:
        return f"and {held} too if {first} is NCT's, " + ', '.join(
            f'and {h} if {n} is' for n, h in rest)
    return f"if {first} is NCT's it has seen {held}, " + ', '.join(
        f'and if {n} is, {h}' for n, h in rest) + \
        f'; this run leaves out {nct_names(classes)}'


def lists_behind_words(by_name: Dict[str, Any],
                       labels: Sequence[int]) -> Dict[str, Any]:
    """The lists of ``by_name`` (judged by name:
    :func:`held_out_words`) whose names say they hold one of ``labels``,
    the classes the lists read here leave out at most: those the line's
    words would rest on where a list read here decides a refusal (review
    r145: ``holds every class`` of a root-less ``train.txt`` beside a
    ``wo_3`` list read here was said as a fact); every one where none
    does (the lists re-rooted changed what else is judged)."""
    return {n: r for n, r in by_name.items()
            if set(labels) - set(list_held_out(n) or ())} or dict(by_name)


def lists_words_rest_on(by_name: Dict[str, Any], rests: Dict[str, Any],
                        differs: Callable[[Sequence[str]], bool]
                        ) -> Dict[str, Any]:
    """The lists of ``by_name`` (judged by name: :func:`held_out_words`)
    a line's words rest on where its refusal rests on ``rests``
    (:func:`refusal_rests_on`): those, and each other list of some set
    that, taken for another dataset's (``rests`` NCT's), ``differs``
    (gives other words than those said); every other one past
    :data:`REST_SEARCH_TRIES` sets. Review r154: ``holds every class``
    and the folder ``clp/`` of a root-less ``wo_7`` and ``wo_3`` pair,
    refused for ``clp_wo_7`` on ``wo_3``'s name, rested on ``wo_7``'s
    too, which the hedge did not name."""
    others = [n for n in by_name if n not in rests]
    behind = set(others) if 2 ** len(others) > REST_SEARCH_TRIES else {
        n for size in range(1, len(others) + 1)
        for drop in itertools.combinations(others, size)
        if differs(list(drop)) for n in drop}
    return {n: r for n, r in by_name.items() if n in rests or n in behind}


def by_name_way_out(by_name: Sequence[str], way: str,
                    export_again: bool = False) -> str:
    """The way out of a held-out refusal that rests on the lists
    ``by_name`` judged by name (:func:`held_out_words`' ``by_name``), for
    another dataset's lists of those names: ``way``, the one that needs
    the file alone (extraction's folder without the ``_wo_<c>`` suffix, a
    run's ``load_from_check=False``). ``export_again``: the lists are a
    backbone-weights export's own, recorded without their root; the
    sound way first, the export made again from its training checkpoint,
    which records the data root, read where that folder is found (review
    r138), then ``way`` for a user without that checkpoint (downloaded
    weights: the tool refuses an export, which holds backbone weights
    already; review r145: the line named the export made again alone,
    and promised the list read also where its root is not found here)."""
    again = ''
    if export_again:
        one = len(by_name) == 1
        again = ('export the weights again from their training checkpoint '
                 'with tools/extract_backbone_weights.py (it records the '
                 f'data root{"" if one else "s"}: run where '
                 f'{"that folder is" if one else "those folders are"} '
                 f'found, so the list{" is" if one else "s are"} read), '
                 'or, without that checkpoint, ')
    return f', or, {another_dataset_if(by_name)}, {again}{way}'


#: the NCT training lists of all nine classes (the published names)
NCT_ALL_CLASS_LISTS = ('train.txt', 'train_labeled.txt')


def list_held_out_id(list_file: Optional[str]) -> Optional[str]:
    """The held-out class id a list's file name says, as written:
    ``meta/wo_07_train.txt`` -> ``'07'``; None without a ``wo_<digits>``."""
    if not isinstance(list_file, str):
        return None
    found = re.search(r'(?<![A-Za-z0-9])wo_(\d+)(?![0-9])',
                      os.path.basename(list_file))
    return found.group(1) if found else None


def unjudged_held_out_note(list_file: Optional[str]) -> Optional[str]:
    """Why a list whose name holds ``wo_<word>`` (``wo_LYM_train.txt``: a
    class name where the published lists write its number) is not judged,
    or None for any other name: :func:`list_held_out_id` reads digits
    only, so such a list trained as a user's own, every held-out check
    that reads list names (the resume's, the initial weights', extraction's
    ``<model>_wo_<c>`` folder) passing it without a word; the meta-test
    pairs a model folder's name with its novel class and reads no list
    name, so features of such a run under ``clp_wo_3/`` were scored on
    the word of extraction's folder check alone, which passed them. Said, not
    read as the class: ``wo_`` of a user's name may mean another thing
    left out (``wo_norm``: without stain normalisation). Where the word
    names NCT classes (``+``-joined, any case) that an id stands for, the
    note gives the name that is judged (``wo_3`` for LYM)."""
    if not isinstance(list_file, str):
        return None
    found = re.search(r'(?<![A-Za-z0-9])wo_([A-Za-z][A-Za-z0-9+]*)',
                      os.path.basename(list_file))
    if found is None:
        return None
    word = found.group(1)
    upper = [NCT_CLASSES.index(w) for w in word.upper().split('+')
             if w in NCT_CLASSES]
    ids = [k for k, v in NCT_HELD_OUT.items()
           if sorted(upper) == list(v) and len(upper) == len(word.split('+'))]
    fix = (f'; if it leaves out {nct_names(NCT_HELD_OUT[ids[0]])}, name it '
           f'{ids[0]} in its place to have it judged') if ids else ''
    return (f'{list_file}: its name says wo_{word}, which names no held-out '
            'class the checks read (wo_0 .. wo_8 in the published order BACK '
            '0, ADI 1, ... TUM 8, or wo_78): which classes it leaves out is '
            f'not judged, as for a list of the user\'s own{fix}')


def list_held_out(list_file: Optional[str]) -> Optional[Tuple[int, ...]]:
    """NCT labels a pre-training list leaves out, read from its file name
    as the published lists are named: ``meta/wo_7_train.txt`` -> ``(7,)``,
    ``wo_78_train_labeled.txt`` -> ``(7, 8)``, ``train.txt`` /
    ``train_labeled.txt`` -> ``()`` (all classes); None where the name
    says neither (a user's own list: not judged), or a ``wo_<digits>`` of
    no NCT class (``wo_9``; refused where such a list of NCT images is
    read: :func:`~openselfsup.datasets.image_list.check_held_out_folders`).
    The id is read as a number, as a model name's
    (:func:`split_model_name`): ``wo_07_train.txt`` -> ``(7,)``; read as
    text it named no class and was not judged, so a ``wo_00`` list that
    kept BACK trained the encoder the meta-test then scored on BACK as
    novel, and a ``wo_07`` checkpoint passed for ``clp_wo_3``."""
    if not isinstance(list_file, str):
        return None
    found = list_held_out_id(list_file)
    if found is not None:
        return NCT_HELD_OUT.get(f'wo_{int(found)}')
    return () if os.path.basename(list_file) in NCT_ALL_CLASS_LISTS \
        else None


def lists_held_out(lists: Optional[Sequence[str]]
                   ) -> Optional[Tuple[int, ...]]:
    """NCT labels a training set read from ``lists`` (the parts of a
    ``ConcatDataset``, or one list) leaves out: those every list leaves out
    (:func:`list_held_out`; the joined images hold the others:
    ``wo_3`` + ``wo_7`` holds every class); None where a list is not
    judged (its name says neither: its images may hold any class) or
    there are none."""
    if any(list_held_out(f) is None for f in lists or ()):
        return None
    return lists_held_out_at_most(lists)  # every list known: the same


def lists_held_out_at_most(lists: Optional[Sequence[str]]
                           ) -> Optional[Tuple[int, ...]]:
    """The NCT labels a training set read from ``lists`` may leave out:
    those every list of a known name leaves out (:func:`list_held_out`);
    a list whose name says neither may hold any class, so it can only
    take labels away, never add one: a class a known list holds is
    certainly seen (``meta/my_finetune.txt`` + ``meta/train.txt`` has
    seen every class). Equal to :func:`lists_held_out` where every list
    is known; None where none is (nothing known decides it)."""
    known = [h for h in (list_held_out(f) for f in lists or ())
             if h is not None]
    if not known:
        return None
    return tuple(sorted(set(known[0]).intersection(*known[1:])))


def lists_named(lists: Sequence[str]) -> str:
    """Training lists in messages: ``a.txt + b.txt`` (a
    ``ConcatDataset``'s parts), the one list as it is."""
    return ' + '.join(lists)


def trained_on_words(lists: Sequence[str],
                     init: Sequence[str] = ()) -> str:
    """What an encoder was trained on, in messages: its lists
    (:func:`lists_named`), and those its initial weights had been trained
    on where they are known (``init``): ``meta/wo_3_train.txt (from
    initial weights trained on meta/train.txt)``; where the encoder's own
    lists are of another dataset than those judged (none given: a user's
    own data), ``another dataset (from initial weights trained on
    meta/train.txt)``."""
    said = lists_named(lists) if lists else 'another dataset'
    return f'{said} (from initial weights trained on ' \
        f'{lists_named(init)})' if init else said


def split_model_name(model: str) -> Tuple[str, Optional[str]]:
    """A feature model's name as its family and the held-out class id its
    ``_wo_<c>`` suffix names (the sweep's ``{model}_wo_{novel}``):
    ``clp_wo_7`` -> ``('clp', '7')``, ``fsp_wo_78`` -> ``('fsp', '78')``,
    ``clp`` -> ``('clp', None)``. The one reader of that suffix. The id
    is read as a number (``clp_wo_07`` -> ``('clp', '7')``): compared as
    text, ``clp_wo_07`` with ``--novel_class 7`` was refused as trained
    without class 07 (STR) but scored on class 7 (STR), and a misspelt
    ``cpl_wo_07`` named no model holding out its class."""
    found = re.search(r'_wo_(\d+)$', model)
    return (model[:found.start()], str(int(found.group(1)))) if found \
        else (model, None)


def model_held_out(model: str) -> Optional[Tuple[int, ...]]:
    """NCT labels a feature model's name says its encoder left out:
    ``clp_wo_7`` -> ``(7,)``, ``fsp_wo_78`` -> ``(7, 8)``; None for a name
    without a ``_wo_<class>`` suffix of an NCT class (not judged)."""
    novel = split_model_name(model)[1]
    return None if novel is None else NCT_HELD_OUT.get(f'wo_{novel}')
