"""Weighted kNN evaluation at patch, slide and patient level (HiDisc / HLSS).

Bank = training patches, queries = validation patches, features = the
L2-normalised backbone feature. Each query takes its ``k`` most
cosine-similar bank patches (faiss ``IndexFlatIP`` on normalised float32
features, an exact search; ``k`` capped at the bank size), each neighbour
voting for its class with weight ``exp(sim / T)`` (k = 200, T = 0.07 as
published). Slide and patient predictions aggregate the patches' class
scores by one of two rules (``aggregation``):

* ``'l1_softmax'`` (default, the published code): each patch's scores are
  L1-normalised, then soft-maxed, and a slide's (patient's) scores are the
  sums of its patches' soft-maxed scores;
* ``'sum'``: a slide's (patient's) scores are the sums of its patches' raw
  scores (this project's earlier rule: patches with close neighbours weigh
  more).

The prediction at every level is the arg-max. Reported: accuracy and mean
class accuracy (mean per-class recall over the classes present) per level.

:class:`~openselfsup.engine.knn_hook.KNNEvalHook` runs it during training;
:func:`openselfsup.apis.knn_eval_checkpoint` (``tools/knn_eval.py``) on a
saved checkpoint.
"""
import logging
import math
import os
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..utils import InputError

#: how a warning ends where the patients a model trained on cannot be read
#: (the training hook's dataset, knn_eval's checkpoint): the leak check of
#: the queries is then not made
NOT_LOOKED_FOR = 'query patients trained on are not looked for'

LEVEL_KEYS = (('patch', None), ('slide', 'slide_id'),
              ('patient', 'patient_id'))
AGGREGATIONS = ('l1_softmax', 'sum')


def knn_search(bank: np.ndarray, queries: np.ndarray, k: int
               ) -> Tuple[np.ndarray, np.ndarray]:
    """Exact cosine top-``k`` of each query in the bank (faiss).

    Args:
        bank: ``[N, D]`` features (L2-normalised here, as float32).
        queries: ``[M, D]`` features (L2-normalised here).
        k: neighbours, capped at N.

    Returns:
        tuple: similarities ``[M, k]`` (descending) and bank indices
        ``[M, k]``.
    """
    import faiss

    def unit(x):
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.maximum(norm, 1e-12)

    bank, queries = unit(bank), unit(queries)
    index = faiss.IndexFlatIP(bank.shape[1])
    index.add(bank)
    sims, idx = index.search(queries, min(k, bank.shape[0]))
    return sims, idx


def knn_scores(bank: np.ndarray, bank_labels: np.ndarray,
               queries: np.ndarray, num_classes: int, k: int = 200,
               temperature: float = 0.07) -> np.ndarray:
    """Weighted kNN class scores of each query.

    Args:
        bank (array): ``[N, D]`` bank features.
        bank_labels (array): ``[N]`` int labels in ``[0, num_classes)``.
        queries (array): ``[M, D]`` query features.
        num_classes (int): C.
        k (int): neighbours, capped at N.
        temperature (float): weights are ``exp(sim / temperature)``.

    Returns:
        np.ndarray: ``[M, C]`` float64 summed neighbour weights per class.
    """
    queries = np.asarray(queries)
    if len(queries) == 0:
        return np.zeros((0, num_classes))
    sims, idx = knn_search(bank, queries, k)
    weights = np.exp(sims.astype(np.float64) / temperature)
    labels = np.asarray(bank_labels, dtype=np.int64)[idx]
    scores = np.zeros((len(queries), num_classes))
    np.add.at(scores, (np.arange(len(queries))[:, None], labels), weights)
    return scores


def patch_probabilities(scores: np.ndarray) -> np.ndarray:
    """The published per-patch normalisation: L1 over classes, then
    softmax."""
    l1 = scores / np.maximum(np.abs(scores).sum(1, keepdims=True), 1e-12)
    return F.softmax(torch.from_numpy(l1), dim=1).numpy()


def aggregate_scores(scores: np.ndarray, groups: np.ndarray,
                     labels: np.ndarray, aggregation: str = 'l1_softmax'
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class scores per group (slide or patient) from patch scores.

    Args:
        scores: ``[M, C]`` patch kNN scores.
        groups: ``[M]`` group id of each patch.
        labels: ``[M]`` class of each patch (constant within a group).
        aggregation: ``'l1_softmax'`` (published) or ``'sum'``, see the
            module docstring.

    Returns:
        tuple: (group ids ``[G]`` sorted, group scores ``[G, C]``, group
        labels ``[G]``).
    """
    if aggregation not in AGGREGATIONS:
        raise InputError(f'kNN aggregation must be one of {AGGREGATIONS}, '
                         f'got {aggregation!r}')
    if aggregation == 'l1_softmax':
        scores = patch_probabilities(scores)
    ids, inverse = np.unique(groups, return_inverse=True)
    summed = np.zeros((len(ids), scores.shape[1]), np.float64)
    np.add.at(summed, inverse, scores)
    glabels = np.zeros(len(ids), np.int64)
    glabels[inverse] = labels
    return ids, summed, glabels


def accuracy_metrics(labels: np.ndarray, preds: np.ndarray) -> Dict[str, float]:
    """Accuracy and mean class accuracy (mean recall over classes present)."""
    labels, preds = np.asarray(labels), np.asarray(preds)
    acc = float((labels == preds).mean()) if len(labels) else float('nan')
    recalls = [float((preds[labels == c] == c).mean())
               for c in np.unique(labels)]
    return dict(acc=acc, mca=float(np.mean(recalls)) if recalls else
                float('nan'), n=int(len(labels)))


def knn_evaluate(bank: np.ndarray, bank_labels: np.ndarray,
                 queries: np.ndarray, query_info: Dict[str, np.ndarray],
                 num_classes: int, k: int = 200, temperature: float = 0.07,
                 aggregation: str = 'l1_softmax'
                 ) -> Dict[str, Dict[str, float]]:
    """kNN accuracy at patch, slide and patient level.

    Args:
        bank: ``[N, D]`` training-patch features.
        bank_labels: ``[N]`` their classes.
        queries: ``[M, D]`` validation-patch features.
        query_info: ``label``, ``slide_id``, ``patient_id`` arrays ``[M]``.
        num_classes: C.
        k, temperature: see :func:`knn_scores`.
        aggregation: slide / patient rule, see :func:`aggregate_scores`.

    Returns:
        dict: ``{level: {'acc', 'mca', 'n'}}`` for patch, slide, patient,
        plus ``'k'`` (the k used), ``'k_asked'`` (the k given; more than
        ``'k'`` when the bank is smaller) and ``'aggregation'``. Features
        with NaN or inf (a model that diverged) have no neighbours: every
        accuracy is then nan and ``'nonfinite'`` counts the rows
        (``{'bank': .., 'query': ..}``), which the title names.
    """
    bank, queries = np.asarray(bank), np.asarray(queries)
    nonfinite = {what: int((~np.isfinite(x)).any(axis=1).sum())
                 for what, x in (('bank', bank), ('query', queries))}
    finite = not any(nonfinite.values())
    # faiss ranks NaN similarities as it may: the "neighbours" of a NaN
    # feature voted, and a diverged model got a table of accuracies
    scores = knn_scores(bank, bank_labels, queries, num_classes, k,
                        temperature) if finite else \
        np.zeros((len(queries), num_classes))
    labels = np.asarray(query_info['label'])
    out = {}
    for level, key in LEVEL_KEYS:
        if key is None:
            s, y = scores, labels
        else:
            _, s, y = aggregate_scores(scores, np.asarray(query_info[key]),
                                       labels, aggregation)
        out[level] = accuracy_metrics(y, s.argmax(1))
        if not finite:
            out[level].update(acc=float('nan'), mca=float('nan'))
    if not finite:
        out['nonfinite'] = nonfinite
    out['k'] = int(min(k, len(bank)))
    out['k_asked'] = int(k)
    out['aggregation'] = aggregation
    return out


def knn_title(results: Dict, what: str = '') -> str:
    """``kNN (k=...) <what>``, saying when the k given was capped at the
    bank size (the table would otherwise show a k nobody asked for), the
    leaks counted, ``trained patients not checked`` where
    ``trained_patients`` is None (the check not made), and the query
    classes without bank patches."""
    k, asked = results['k'], results.get('k_asked', results['k'])
    capped = (f', capped from k={asked}: the bank has {k} patches'
              if asked != k else '')
    if results.get('shared_patients'):
        capped += (f'; {results["shared_patients"]} query patient(s) also '
                   'in the bank')
    if results.get('shared_patches'):
        capped += (f'; {results["shared_patches"]} query patch file(s) '
                   'also in the bank')
    if results.get('trained_patients'):
        capped += (f'; {results["trained_patients"]} query patient(s) '
                   'trained on')
    elif 'trained_patients' in results and \
            results['trained_patients'] is None:  # not "none found"
        capped += '; trained patients not checked'
    if results.get('classes_without_bank'):
        capped += ('; no bank patches of query class(es) '
                   f'{_some(results["classes_without_bank"])}')
    bad = results.get('nonfinite')
    if bad:  # the nan rows' cause, in the log, the table and the plot
        capped += (f'; NaN/inf features of {bad["bank"]} bank and '
                   f'{bad["query"]} query patches: no kNN')
    return f'kNN (k={k}{capped})' + (f' {what}' if what else '')


def format_table(results: Dict[str, Dict[str, float]],
                 title: str = '') -> str:
    """Plain-text table: one row per level, accuracy and mean class acc.
    An undefined value (NaN: a diverged model, a level without queries) is
    ``nan`` in its own cell; the other cells keep their numbers."""
    def pct(value: float) -> str:
        return f'{"nan":>7s}' if np.isnan(value) else f'{100 * value:6.1f}%'
    lines = [title] if title else []
    lines.append(f'{"level":8s} {"n":>6s} {"acc":>7s} {"mca":>7s}')
    for level, _ in LEVEL_KEYS:
        r = results[level]
        lines.append(f'{level:8s} {r["n"]:6d} {pct(r["acc"])} '
                     f'{pct(r["mca"])}')
    return '\n'.join(lines) + '\n'


def extract_features(model: torch.nn.Module, loader,
                     desc: str = 'features') -> np.ndarray:
    """Pooled features of every item of ``loader`` (in order): the one
    extraction loop, :func:`openselfsup.models.extraction.compute_features`.

    Returns:
        np.ndarray: ``[N, D]`` float32.
    """
    from ..models.extraction import compute_features
    param = next(model.parameters(), None)
    device = 'cpu' if param is None else param.device.type
    feats, _ = compute_features(model, loader, device=device, desc=desc,
                                with_labels=False)
    return feats


def _loader(dataset_cfg: dict, batch_size: int, num_workers: int):
    from mmengine.dataset import default_collate

    from ..registry import DATASETS
    dataset = DATASETS.build(dict(dataset_cfg))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False,
        num_workers=num_workers, collate_fn=default_collate)
    return dataset, loader


def min_temperature(k: int) -> float:
    """The smallest kNN temperature whose class scores float64 holds: the
    weights ``exp(sim / T)`` of ``k`` neighbours (a cosine similarity up
    to 1, a little more in float32: 1.001 here), summed, and summed again
    over up to a million patches of a slide or patient (``'sum'``), stay
    below float64's largest number (``exp(709.78)``). 0.00145 for k = 200.
    """
    return 1.001 / (math.log(np.finfo(np.float64).max) - math.log(k)
                    - math.log(1e6))


def check_knn_settings(k, temperature, aggregation: str) -> None:
    """One line for a bad ``knn_eval`` setting (before any extraction).

    Raises:
        InputError: ``k`` not a positive integer, ``temperature`` not
            positive, or below :func:`min_temperature` (the weights
            overflowed to inf: tied or NaN class scores, and predictions
            the arg-max of those, without an error), an unknown
            aggregation.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f'knn_eval.k = {k!r}: must be an integer of at '
                         'least 1')
    if isinstance(temperature, bool) or not isinstance(
            temperature, (int, float, np.floating)) or temperature <= 0:
        raise InputError(f'knn_eval.temperature = {temperature!r}: must be '
                         'a positive number')
    if temperature < min_temperature(k):
        raise InputError(
            f'knn_eval.temperature = {temperature!r}: the neighbour weights '
            f'exp(sim / temperature) of k = {k} overflow float64 below '
            f'{min_temperature(k):.5f} (the class scores were inf or NaN, '
            'the predictions wrong without an error); give at least that '
            '(published: 0.07)')
    if aggregation not in AGGREGATIONS:
        raise InputError(f'kNN aggregation must be one of {AGGREGATIONS}, '
                         f'got {aggregation!r}')


def shared_patients(bank_info: dict, query_info: dict) -> list:
    """The query patients who also have patches in the bank (a split JSON
    naming a patient in train and val): their own patches, or others of
    the same tumour, are their nearest neighbours, a leak the accuracy
    does not show. By patient name, as the splits name them, from the
    datasets' ``hierarchy_arrays()`` (no second walk over the items)."""
    return sorted(set(bank_info['patient']) & set(query_info['patient']))


def shared_patch_files(bank_info: dict, query_info: dict) -> list:
    """The query patches whose file is also a bank patch (by its real
    path): the same images listed under two patient names (a patient
    given two ids, a copied metadata entry) are their own nearest
    neighbours (similarity 1) though no patient name is shared."""
    bank = {os.path.realpath(p) for p in bank_info['path']}
    return [p for p in query_info['path'] if os.path.realpath(p) in bank]


def classes_without_bank(bank_info: dict, query_info: dict,
                         classes: Sequence[str]) -> list:
    """The names of the query classes with no bank patches (a split
    giving a class's patients to val only): no neighbour votes for them,
    so kNN never predicts them, and their queries count as missed in the
    accuracy and as a recall of 0 in the mean class accuracy."""
    bank = set(np.asarray(bank_info['label']).tolist())
    return [classes[c] for c in sorted(set(
        np.asarray(query_info['label']).tolist()) - bank)]


def bank_label_space(bank_classes: Sequence[str],
                     query_classes: Sequence[str], query_labels
                     ) -> Tuple[tuple, np.ndarray]:
    """The classes of a kNN evaluation and the query labels in them.

    A hierarchical dataset's classes are the sorted names its own
    metadata holds, and its labels index them: a query metadata holding
    2 of the bank's 4 classes numbered them 0 and 1, the bank's 0 to 3
    (refused: ``kNN: bank and query datasets disagree on classes``,
    naming neither file nor class; the published HLSS code, whose
    datasets number their own classes too, would have compared the two
    numberings). The bank's classes are the label space: its classes,
    in its order, then any query class it lacks (no bank patch votes for
    it: :func:`classes_without_bank` says so); each query label is
    renumbered by its class name. Where the two lists agree (the
    published setting) nothing changes.

    Args:
        bank_classes, query_classes (sequence[str]): each dataset's
            ``metainfo['classes']``.
        query_labels (array): ``[M]`` query labels indexing
            ``query_classes``.

    Returns:
        tuple: (classes, query labels indexing them).
    """
    classes = tuple(bank_classes) + tuple(
        c for c in query_classes if c not in bank_classes)
    where = np.array([classes.index(c) for c in query_classes], np.int64)
    labels = np.asarray(query_labels, np.int64)
    return classes, where[labels] if len(labels) else labels


def _warn(message: str) -> None:
    from mmengine.logging import print_log
    print_log(message, logger='current', level=logging.WARNING)


def _some(names) -> str:
    names = list(names)
    return ', '.join(map(str, names[:3])) + (', ...' if len(names) > 3
                                             else '')


class KNNData(NamedTuple):
    """The bank and query of a kNN evaluation, built and checked once
    (:func:`prepare_knn_data`): what does not change with the weights.

    Attributes:
        bank_loader, query_loader: DataLoaders over the two datasets, in
            item order.
        classes (tuple): the class names: the bank's, then any query class
            it lacks (:func:`bank_label_space`).
        bank_info, query_info (dict): the datasets' ``hierarchy_arrays()``.
        shared (list): the query patients who also have patches in the bank
            (:func:`shared_patients`).
        shared_patches (list): the query patch files that are also bank
            patches (:func:`shared_patch_files`).
        trained (list or None): the query patients the model was trained
            on (of the ``trained_patients`` given to
            :func:`prepare_knn_data`); None where those could not be read
            (the check not made: the results say so).
        unpredictable (list): the query classes with no bank patches
            (:func:`classes_without_bank`).
    """
    bank_loader: Any
    query_loader: Any
    classes: tuple
    bank_info: dict
    query_info: dict
    shared: list
    shared_patches: Sequence[str] = ()
    trained: Optional[Sequence[str]] = ()
    unpredictable: Sequence[str] = ()


def prepare_knn_data(bank: dict, query: dict, batch_size: int = 64,
                     num_workers: int = 0,
                     trained_patients: Optional[Sequence[str]] = ()
                     ) -> KNNData:
    """Build the bank and query datasets and their loaders, number the
    query's classes in the bank's, read their hierarchy and say (one warning line
    each) when query patients also have patches in the bank, when query
    patch files are also bank patches (under another patient name), and
    when query patients were trained on. The training hook does this
    before training starts and reuses it at every evaluation.

    Args:
        bank, query (dict): ``HierarchicalPatchDataset`` configs (train and
            validation patches).
        batch_size, num_workers: DataLoader settings for extraction.
        trained_patients (list[str], optional): the patients the model is
            trained on (the training dataset's, which may read another
            split than the bank: ``train_dataloader.dataset.split``);
            empty where it trained on no patients, None where they could
            not be read (the check is not made, and the results say so:
            ``trained_patients: None``).

    The bank's classes are the label space; the query's labels are
    renumbered in it by name (:func:`bank_label_space`: a query holding
    some of the bank's classes is evaluated, not refused).

    Raises:
        InputError: a dataset refuses its input.
    """
    bank_ds, bank_loader = _loader(bank, batch_size, num_workers)
    query_ds, query_loader = _loader(query, batch_size, num_workers)
    bank_info = bank_ds.hierarchy_arrays()
    query_info = query_ds.hierarchy_arrays()
    classes, query_info['label'] = bank_label_space(
        bank_ds.metainfo['classes'], query_ds.metainfo['classes'],
        query_info['label'])
    shared = shared_patients(bank_info, query_info)
    if shared:
        _warn(f'kNN: {len(shared)} query patient(s) also have patches '
              f'in the bank ({_some(shared)}): a patient\'s '
              'own patches are its nearest neighbours; give the bank '
              'and the queries patient-disjoint splits')
    files = shared_patch_files(bank_info, query_info)
    if files:
        _warn(f'kNN: {len(files)} query patch file(s) are also bank '
              f'patches ({_some(files)}): each is its own nearest '
              'neighbour; the metadata lists these images under a bank '
              'patient too')
    query_patients = dict.fromkeys(query_info['patient'])
    seen = None if trained_patients is None else set(trained_patients)
    trained = (None if seen is None else  # not read: unchecked
               [p for p in query_patients if p in seen])
    if trained:
        _warn(f'kNN: {len(trained)} query patient(s) were trained on '
              f'({_some(trained)}): the training split names them; '
              'evaluate on patients the model has not seen')
    # counted as published (recall 0 in the mean class accuracy), said
    unpredictable = classes_without_bank(bank_info, query_info, classes)
    if unpredictable:
        _warn(f'kNN: {len(unpredictable)} query class(es) have no bank '
              f'patches ({_some(unpredictable)}): kNN cannot predict them, '
              'and the accuracy and mean class accuracy count their '
              'queries as missed; give the bank patients of every class')
    return KNNData(bank_loader, query_loader, classes, bank_info, query_info,
                   shared, files, trained, unpredictable)


def evaluate_knn_data(model: torch.nn.Module, data: KNNData, k: int = 200,
                      temperature: float = 0.07,
                      aggregation: str = 'l1_softmax'
                      ) -> Dict[str, Dict[str, float]]:
    """Extract the bank's and the queries' features with ``model`` and
    evaluate (:func:`knn_evaluate`).

    Args:
        model: the (unwrapped) algorithm.
        data (KNNData): from :func:`prepare_knn_data`.
        k, temperature, aggregation: see :func:`knn_evaluate`.

    Returns:
        dict: :func:`knn_evaluate`'s, plus, when there are any (the title
        names them), ``'shared_patients'`` (the number of query patients
        with patches in the bank), ``'shared_patches'`` (query patch files
        that are also bank patches), ``'trained_patients'`` (query
        patients the model was trained on; None where the check was not
        made: ``data.trained`` is None) and ``'classes_without_bank'``
        (the names of the query classes with no bank patches).
    """
    bank_f = extract_features(model, data.bank_loader, 'kNN bank')
    query_f = extract_features(model, data.query_loader, 'kNN queries')
    res = knn_evaluate(bank_f, data.bank_info['label'], query_f,
                       data.query_info, len(data.classes), k, temperature,
                       aggregation)
    if data.shared:
        res['shared_patients'] = len(data.shared)
    if data.shared_patches:
        res['shared_patches'] = len(data.shared_patches)
    if data.trained is None:  # null, not absent, which reads "none found"
        res['trained_patients'] = None
    elif data.trained:
        res['trained_patients'] = len(data.trained)
    if data.unpredictable:
        res['classes_without_bank'] = list(data.unpredictable)
    return res


def run_knn(model: torch.nn.Module, bank: dict, query: dict, k: int = 200,
            temperature: float = 0.07, aggregation: str = 'l1_softmax',
            batch_size: int = 64, num_workers: int = 0,
            trained_patients: Optional[Sequence[str]] = ()
            ) -> Dict[str, Dict[str, float]]:
    """Build the bank and query datasets, extract features, evaluate
    (:func:`prepare_knn_data`, then :func:`evaluate_knn_data`).

    Args:
        model: the (unwrapped) algorithm.
        bank, query (dict): ``HierarchicalPatchDataset`` configs (train and
            validation patches).
        k, temperature, aggregation: see :func:`knn_evaluate`.
        batch_size, num_workers: DataLoader settings for extraction.
        trained_patients: see :func:`prepare_knn_data`.

    Returns:
        dict: :func:`evaluate_knn_data`'s.
    """
    check_knn_settings(k, temperature, aggregation)  # before extraction
    return evaluate_knn_data(
        model, prepare_knn_data(bank, query, batch_size, num_workers,
                                trained_patients), k,
        temperature, aggregation)
