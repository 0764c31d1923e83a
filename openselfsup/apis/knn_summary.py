"""Several kNN results in one table (``tools/knn_summary.py``).

Reads the result JSONs that :func:`~openselfsup.apis.knn.knn_eval_checkpoint`
(``tools/knn_eval.py``) writes, one per checkpoint or baseline, and writes
one report of them: a Markdown table, a JSON and a PNG, as one set.

* **Rows.** One per result, as its JSON records it: the model (its
  config's name), the weights (the checkpoint's folder and file, or
  ``random init``) and the seed of a baseline. Several seeds of one model
  at initialisation (the same ``model`` section and files:
  ``model_config_sha1``, ``model_files_sha1`` of the files its builds
  open, :func:`~openselfsup.config.files_read`; results that share a
  SHA-1 of the section in any form they record, or that their settings
  give, one model, :func:`~.knn.same_model_sha1s`: a result written
  before the SHA-1 left out where the section's files lie, from any
  checkout) are listed together, sorted
  by seed, and followed by a row of their mean ± the Student-t 95%
  half-width over the seeds (:data:`SPREAD`; the rule of the seeded
  balance sweeps, :func:`~openselfsup.lowshot.metrics.mean_ci`).
* **Checkpoints written over.** A result whose checkpoint file holds
  other bytes now than those evaluated (:func:`written_over`) is named by
  the SHA-1 it was evaluated on, with a line under the table naming the
  ``tools/knn_eval.py`` command that evaluates the current file
  (:func:`current_checkpoint_command`).
* **Columns.** Accuracy and mean class accuracy per level (patch, slide,
  patient), in percent, as the results hold them.
* **One evaluation setting.** Every result must have been evaluated under
  the same kNN settings (``knn_settings`` and the SHA-1s of the files
  they name, ``knn_files_sha1``: bank and query data, splits, ``k``,
  temperature, aggregation) and on the same number of queries per level;
  a mix is refused, naming the two files and the first setting that
  differs: a row of another k or split would read as another model's
  number.
"""
import json
import math
import os
import re
import textwrap
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence

from ..utils import (InputError, check_distinct, check_file, is_number,
                     load_json)
from ..utils.checkpoint_files import random_init_seed

#: the levels and metrics of a kNN result, in the table's order
LEVELS = ('patch', 'slide', 'patient')
METRICS = ('acc', 'mca')
#: what a mean row's ``±`` is
SPREAD = ('mean ± Student-t 95% half-width over the seeds, '
          't(0.975, n-1) * std(ddof=1) / sqrt(n)')
#: keys of a summary's JSON (an existing one is replaced, another file not)
SUMMARY_KEYS = ('rows', 'knn_settings', 'spread')


def load_knn_result(path: str) -> dict:
    """A kNN result JSON of ``tools/knn_eval.py``, checked.

    Raises:
        InputError: a folder, a missing or unreadable file, a JSON that is
            not such a result (no level metrics, a kNN summary of this
            module), or one written before its kNN settings were recorded
            (it cannot be told whether it shares the others' settings).
    """
    if os.path.isdir(path):
        raise InputError(f'{path}: is a folder; give its kNN result files '
                         f'({os.path.join(path, "knn_*.json")})')
    check_file(path, 'kNN result')  # a relative path: where it was read
    record = load_json(path, 'kNN result JSON')
    if isinstance(record, dict) and all(k in record for k in SUMMARY_KEYS):
        raise InputError(f'{path}: a kNN summary of knn_summary.py, not a '
                         'kNN result of knn_eval.py')
    ok = isinstance(record, dict) and all(
        isinstance(record.get(lv), dict) and all(
            _is_number(record[lv].get(m)) for m in METRICS)
        and isinstance(record[lv].get('n'), int) for lv in LEVELS) and \
        isinstance(record.get('checkpoint'), str) and \
        isinstance(record.get('config'), str)
    if not ok:
        raise InputError(f'{path}: not a kNN result of knn_eval.py (no '
                         'patch / slide / patient acc, mca and n, config '
                         'and checkpoint)')
    if not isinstance(record.get('knn_settings'), dict):
        raise InputError(f'{path}: records no kNN settings (written before '
                         'they were recorded); evaluate it again with '
                         'tools/knn_eval.py')
    return record


def _is_number(value) -> bool:
    # null: a value JSON cannot hold (NaN: a level without queries)
    return value is None or is_number(value)


def _value(record: dict, level: str, metric: str) -> float:
    v = record[level][metric]
    return float('nan') if v is None else float(v)


def _seed(record: dict) -> Optional[int]:
    """The seed of a baseline at initialisation, None for a checkpoint."""
    return random_init_seed(record['checkpoint'])


def _data(record: dict) -> Optional[Dict]:
    """The digests of the data folders a result was evaluated on
    (``knn_data_sha1``), None where it records none (written before
    they were recorded)."""
    data = record.get('knn_data_sha1')
    return data if isinstance(data, dict) else None


def _settings(record: dict, data: Optional[Dict] = None) -> Dict:
    from .knn import with_files
    files = record.get('knn_files_sha1')
    return with_files(record['knn_settings'],
                      files if isinstance(files, dict) else {}, data)


def check_one_setting(paths: Sequence[str], records: Sequence[dict]) -> None:
    """Refuse results evaluated under other kNN settings, or on another
    number of queries at a level, than the first (one line naming both
    files and the first difference): their data folders' files too
    (``knn_data_sha1``) where both record them
    (:func:`~openselfsup.apis.knn.judged_data`)."""
    from .knn import _settings_change, judged_data
    for path, record in zip(paths[1:], records[1:]):
        first, this = judged_data(records[0], record)
        folders = record.get('knn_data_folders')
        change = _settings_change(
            _settings(records[0], first), _settings(record, this),
            folders if isinstance(folders, dict) else None)
        if change is None:
            counts = [(lv, records[0][lv]['n'], record[lv]['n'])
                      for lv in LEVELS if records[0][lv]['n'] !=
                      record[lv]['n']]
            change = ', '.join(f'{lv} queries: {a} -> {b}'
                               for lv, a, b in counts) or None
        if change:
            raise InputError(
                f'{path}: evaluated under other kNN settings than '
                f'{paths[0]} ({change}); one table compares models under '
                'one setting: summarise each setting\'s results apart')


def _model_key(record: dict, model_sha1: Optional[str]):
    """What a model at initialisation is (the seed aside): its ``model``
    section (``model_sha1``, its SHA-1 as this version records it:
    :func:`~.knn.same_model_sha1s`) and the files it names, as
    :func:`~.knn.check_own_results` knows it; its config where the JSON
    records no SHA-1."""
    from ..config import files_read
    files = files_read(record.get('model_files_sha1'))
    return (model_sha1 or record['config'],
            tuple(sorted(files.items())) if isinstance(files, dict)
            else ())


def written_over(records: Sequence[dict]) -> List[Optional[str]]:
    """Per result, the SHA-1 its checkpoint file holds now where that is
    another than the one evaluated (``checkpoint_sha1``: the run trained
    again into its work dir wrote over it), else None; a checkpoint no
    longer at its path (moved, deleted), one recorded by a relative path
    (from an unknown folder) and a baseline are not judged."""
    from ..utils import file_sha1
    now, hashed = [], {}  # a checkpoint of several results hashed once
    for r in records:
        path, sha1 = r['checkpoint'], r.get('checkpoint_sha1')
        if _seed(r) is None and isinstance(sha1, str) and \
                os.path.isabs(path) and os.path.isfile(path):
            if path not in hashed:
                hashed[path] = file_sha1(path)
            current = hashed[path]
        else:
            current = None
        now.append(current if current not in (None, sha1) else None)
    return now


def current_checkpoint_command(row: dict) -> str:
    """The ``tools/knn_eval.py`` command that evaluates the checkpoint a
    summary ``row`` names as its file holds it now (``checkpoint_now_sha1``:
    :func:`written_over`) with the row's config, into a folder of its own
    beside it, named for that SHA-1 (``knn_<SHA-1>``): the results of the
    checkpoint evaluated before lie under the output name beside it, which
    knn_eval.py refuses to replace (the line said only that knn_eval.py
    evaluates the current one, and the command it reads as was refused).
    Run from any folder: the script the checkout's, absolute
    (:func:`~openselfsup.utils.io.script`: it was ``tools/knn_eval.py``,
    relative to the root), the config and checkpoint absolute as the
    result records them; paths quoted for the shell. Run in the folder
    the evaluation ran in (``cd <row's cwd> && ...``,
    :func:`~openselfsup.utils.io.from_root`; :func:`ran_in`), where the
    config's relative paths (``data_root='data/hier32'``, a metadata, a
    split) name the data evaluated: pasted in another folder, it read
    that folder's data, or failed. Where that folder is not known (a
    result of before it was recorded), the command alone; its line says
    that the relative paths the results record are read from the
    current folder (:func:`_unknown_folder_note`)."""
    import shlex

    from ..utils.io import from_root, script
    ckpt = row['checkpoint']
    fresh = os.path.join(os.path.dirname(ckpt),
                         f'knn_{row["checkpoint_now_sha1"][:12]}')
    options = row.get('options') or []
    command = ' '.join(['python', script('tools', 'knn_eval.py')] + [
        shlex.quote(p) for p in (row['config'], ckpt)] + [
        '--out-dir', shlex.quote(fresh)] + (
        ['--cfg-options'] + options if options else []))
    return from_root(command, row['cwd']) if row.get('cwd') else command


def _unknown_folder_note(row: dict) -> str:
    """What the line of :func:`current_checkpoint_command` adds after it
    where the folder evaluated in is not known and the results record
    relative paths (``relative``): that they are read from the folder it
    is run in; else ``''``."""
    relative = row.get('relative')
    if row.get('cwd') or not relative:
        return ''
    paths = ', '.join(f'{k}={v!r}' for k, v in relative.items())
    return (f' (its results record no folder it was evaluated in: {paths} '
            f'{"is" if len(relative) == 1 else "are"} read from the folder '
            'it is run in: run it in the folder where '
            f'{"it names" if len(relative) == 1 else "they name"} the data '
            'and files evaluated)')


def ran_in(record: dict) -> Optional[str]:
    """The folder a kNN result was evaluated in, whose relative paths its
    config's were read from: the folder it records (``cwd``), or for a
    result of before it was recorded, the folder that its relative
    ``data_root`` or ``metadata`` settings (``knn_settings``) joined to
    give the absolute folders and files it records
    (``knn_data_folders``, ``knn_data_metadata``: each
    ``os.path.abspath`` of the setting then), where they agree on one;
    None where it cannot be told (no such setting, or one leading out by
    ``..``, whose folder left no trace)."""
    cwd = record.get('cwd')
    if isinstance(cwd, str) and os.path.isabs(cwd):
        return cwd
    settings, folders, metas = (record.get(k) if isinstance(
        record.get(k), dict) else {} for k in (
            'knn_settings', 'knn_data_folders', 'knn_data_metadata'))
    pairs = [(settings.get(k), v) for k, v in folders.items()
             if k.endswith('.data_root')] + [
        (settings.get(k[:-len('data_root')] + 'metadata'), v)
        for k, v in metas.items()]
    found = set()
    for given, absolute in pairs:
        if not (isinstance(given, str) and given and isinstance(
                absolute, str) and os.path.isabs(absolute)) or \
                not _read_from_cwd(given):
            continue
        given, absolute = os.path.normpath(given), os.path.normpath(absolute)
        if given == os.curdir:
            found.add(absolute)
        elif given.split(os.sep)[0] != os.pardir and \
                absolute.endswith(os.sep + given):
            found.add(absolute[:-len(given) - 1] or os.sep)
    return found.pop() if len(found) == 1 else None


def relative_paths(record: dict) -> Dict[str, str]:
    """``{dotted key: path}`` of the kNN settings a result records
    (``knn_settings``) that name a file or data folder
    (``knn_files_sha1``, ``knn_data_folders``, ``knn_data_metadata``) by
    a relative path: read from the folder a command is run in. A
    ``data_prefix`` (a string, or a dict's values) beside a ``data_root``
    is joined to that root: the root stands for it, listed where it is
    relative (the folders record the prefix's key alone), nothing where
    it is absolute."""
    settings = record.get('knn_settings')
    if not isinstance(settings, dict):
        return {}
    named = [k for key in ('knn_files_sha1', 'knn_data_folders')
             if isinstance(record.get(key), dict) for k in record[key]]
    # a metadata-only dataset's metadata file (recorded under its folder's
    # key, as ran_in reads it)
    metas = record.get('knn_data_metadata')
    named += [k[:-len('data_root')] + 'metadata' for k in (
        metas if isinstance(metas, dict) else ())]
    found = {}
    for k in sorted(set(named)):
        head, sep, _ = k.partition('.data_prefix')
        root = settings.get(head + '.data_root') if sep else None
        if isinstance(root, str) and root:
            k = head + '.data_root'  # the prefix read under this root
        value = settings.get(k)
        if isinstance(value, str) and value and _read_from_cwd(value):
            found[k] = value
    return found


def _read_from_cwd(path: str) -> bool:
    """Whether a setting's ``path`` is read relative to the current folder:
    a local file (:func:`~openselfsup.config.local_file`: not a URL, ``~``
    expanded) that is not absolute."""
    from ..config import local_file
    local = local_file(path)
    return local is not None and not os.path.isabs(local)


def _where_read(record: dict) -> Dict[str, Any]:
    """A written-over row's ``cwd`` (:func:`ran_in`) and ``relative``
    (:func:`relative_paths`): the folder its command runs in only where
    the results read relative paths from it (a ``cd`` into a folder
    nothing is read from failed where that folder is gone: a job's
    scratch folder)."""
    relative = relative_paths(record)
    return dict(cwd=ran_in(record) if relative else None, relative=relative)


def evaluated_options(record: dict) -> Optional[List[str]]:
    """The ``--cfg-options`` with which the config a kNN result records
    (``config``) evaluates the model and kNN settings the result records
    (``model_settings``, ``knn_settings``: the options it was evaluated
    with, which a command naming the config alone would drop), from the
    config as it is now (:func:`~openselfsup.config.recorded_options`);
    None where they cannot be spelled, or the config or the record's
    settings are not there to read."""
    from ..config import (built_model, load_config, model_settings,
                          recorded_options)
    from .knn import knn_settings
    model, knn = record.get('model_settings'), record.get('knn_settings')
    if not (isinstance(model, dict) and isinstance(knn, dict)):
        return None
    try:
        cfg = load_config(record['config'])
        # the model as knn_eval.py records it (built_model)
        now = {**model_settings(built_model(cfg), _seed(record) is None),
               **knn_settings(cfg.knn_eval.to_dict())[0]}
    except (InputError, OSError, KeyError, AttributeError):
        return None
    return recorded_options({**model, **knn}, now, cfg)


def data_written_over(records: Sequence[dict],
                      now: Optional[Sequence[Dict]] = None
                      ) -> List[Optional[Dict[str, str]]]:
    """Per result, ``{dotted key: SHA-1 now}`` of each data folder it was
    evaluated on (``knn_data_folders``) whose listing and sample of files
    (:func:`~openselfsup.apis.knn.knn_data_sha1`) differ now from those
    recorded (``knn_data_sha1``: the data written again under the same
    folder since, or a metadata whose patch files were digested
    rewritten to name patches under one folder), else None; a folder no
    longer there, a digest None then or now (a sampled file unreadable),
    a digest :func:`~openselfsup.apis.knn.unjudged_data_keys` leaves out
    (another rule's, a metadata unreadable now) and a result that
    records none (written before they were recorded), are not judged
    (the last two named apart, :func:`format_summary`). As
    :func:`written_over` judges the checkpoints. ``now``: the digests
    now, :func:`data_now` (read here where not given)."""
    from .knn import judged_data
    out = []
    for r, digests in zip(records, data_now(records) if now is None
                          else now):
        then, here = judged_data(r, dict(r, knn_data_sha1=digests),
                                 now=True)
        out.append({k: v for k, v in (here or {}).items()
                    if v != then[k]} or None)
    return out


def data_now(records: Sequence[dict]) -> List[Dict[str, Optional[str]]]:
    """Per result, ``{dotted key: digest now}``
    (:func:`~openselfsup.apis.knn.knn_data_sha1`) of each data folder it
    records a digest of (``knn_data_folders``, ``knn_data_sha1``) that is
    still there (an absolute path); each folder read once."""
    from .knn import knn_data_sha1
    now, read = [], {}
    for r in records:
        data, folders = _data(r), r.get('knn_data_folders')
        digests = {}
        if data is not None and isinstance(folders, dict):
            for key, folder in folders.items():
                if not (isinstance(folder, str) and os.path.isabs(folder)
                        and os.path.isdir(folder)) or key not in data:
                    continue
                # the patches' files where the fall-back read them
                # (knn_data_sha1): their metadata is in the folder
                # and the patches its recorded metadata names, where it
                # records one (knn_data_metadata)
                metadata = r.get('knn_data_metadata')
                seen = (folder, _meta_setting(r, key), json.dumps(
                    metadata.get(key) if isinstance(metadata, dict)
                    else None, default=str))
                if seen not in read:
                    read[seen] = knn_data_sha1(
                        {key: folder}, r.get('knn_settings'),
                        metadata if isinstance(metadata, dict)
                        else None)[key]
                digests[key] = read[seen]
        now.append(digests)
    return now


def _meta_setting(record: dict, key: str) -> Any:
    """The ``metadata`` and ``data_root`` a result records for the dataset
    of the data folder ``key``, as :func:`data_now` reads each folder
    once per setting."""
    values = record.get('knn_settings')
    values = values if isinstance(values, dict) else {}
    return json.dumps([values.get(key), values.get(
        key[:-len('data_root')] + 'metadata')], default=str)


def _weights_labels(records: Sequence[dict], models: Sequence[str],
                    now: Sequence[Optional[str]] = ()) -> List[str]:
    """Each result's weights as the table names them: ``random init``, or
    the checkpoint's folder and file name; its path as the result records
    it where two results of one model (``models``: :func:`_model_labels`)
    would read alike (one config trained in two work dirs: two rows that
    said the same), and the first characters of its SHA-1 where that path
    is one (a checkpoint written over by a rerun) or where the file holds
    another checkpoint now (``now``: :func:`written_over`)."""
    short = ['random init' if _seed(r) is not None else os.path.join(
        os.path.basename(os.path.dirname(r['checkpoint'])),
        os.path.basename(r['checkpoint'])) for r in records]

    def alike(labels):  # per result: another checkpoint of its model reads so
        counts = Counter((m, label) for m, label, r in
                         zip(models, labels, records) if _seed(r) is None)
        return [_seed(r) is None and counts[m, label] > 1
                for m, label, r in zip(models, labels, records)]
    full = [r['checkpoint'] if clash else label
            for label, r, clash in zip(short, records, alike(short))]
    # one path twice (a checkpoint written over by a rerun): its SHA-1
    over = list(now) or [None] * len(records)
    return [label + (f' (sha1 {str(r.get("checkpoint_sha1"))[:8]})'
                     if clash or changed else '')
            for label, r, clash, changed in zip(full, records, alike(full),
                                                over)]


def summary_rows(paths: Sequence[str], records: Sequence[dict]
                 ) -> List[dict]:
    """The table's rows: a row per result (``file``, ``model``,
    ``weights``, ``seed``, ``title``, the SHA-1s and ``metrics``
    ``{level: {acc, mca, n}}``), a model's seeds at initialisation
    together (at the place of its first, by seed) and, where there are
    several, a row of their mean (``mean`` true, ``seeds``, ``files``
    their result files, ``n``,
    ``metrics`` the means, ``ci95`` the half-widths: :data:`SPREAD`;
    marked as its seeds are: ``(earlier data)`` where one of them is, and
    ``data_unchecked`` with the seeds not checked against the data now,
    ``data_unchecked_seeds``, where one of them is not).

    Raises:
        InputError: one checkpoint (the same SHA-1 in the same model), or
            one seed of one model, given twice (in two files): the mean
            would count it twice.
    """
    import numpy as np

    from ..lowshot.metrics import mean_ci
    from .knn import same_model_sha1s, unjudged_data_keys
    model_sha1s = same_model_sha1s(records)

    def identity(i):
        r = records[i]
        seed = _seed(r)
        return (('init', _model_key(r, model_sha1s[i]), seed)
                if seed is not None else
                ('ckpt', r.get('checkpoint_sha1') or r['checkpoint'],
                 model_sha1s[i]))
    check_distinct('results', range(len(records)), identity,
                   show=lambda i: paths[i],
                   why='the same checkpoint, or the same seed of one '
                   'model at initialisation')
    groups: Dict = {}
    for i, r in enumerate(records):
        key = (('init', _model_key(r, model_sha1s[i]))
               if _seed(r) is not None else ('ckpt', i))
        groups.setdefault(key, []).append(i)
    labels = _model_labels(records, model_sha1s)
    now = written_over(records)
    weights = _weights_labels(records, labels, now)
    digests = data_now(records)
    changed = data_written_over(records, digests)
    # digests not judged, no evidence either way (recorded under another
    # rule than today's, a metadata unreadable now): named as such
    other = [unjudged_data_keys(r, dict(r, knn_data_sha1=d), now=True)
             for r, d in zip(records, digests)]
    rows = []
    for key, members in groups.items():
        members.sort(key=lambda i: _seed(records[i]) or 0)
        for i in members:
            r = records[i]
            rows.append(dict(
                file=os.path.abspath(paths[i]), model=labels[i],
                weights=weights[i] + (' (earlier data)' if changed[i]
                                      else ''),
                seed=_seed(r), title=r.get('title'),
                config=r['config'], checkpoint=r['checkpoint'],
                checkpoint_sha1=r.get('checkpoint_sha1'),
                model_config_sha1=r.get('model_config_sha1'),
                metrics={lv: dict(n=r[lv]['n'], **{
                    m: _value(r, lv, m) for m in METRICS}) for lv in LEVELS},
                **({'checkpoint_now_sha1': now[i],
                    'options': evaluated_options(r),
                    **_where_read(r)}
                   if now[i] else {}),
                # evaluated with other feature settings than it was
                # trained with (knn_eval.py's warning)
                **({'other_settings': r['settings_other_than_trained']}
                   if r.get('settings_other_than_trained') else {}),
                # the data it was evaluated on: written again since, or
                # not known (a result written before it was recorded)
                **({'data_now_sha1': changed[i],
                    'data_sha1': _data(r),
                    'data_folders': r.get('knn_data_folders')}
                   if changed[i] else {}),
                # or its digests of these keys not judged, each for
                # its reason (knn.UNJUDGED_DATA)
                **({'data_unchecked': True} if _data(r) is None or other[i]
                   else {}),
                **({'data_unchecked_keys': sorted(other[i]),
                    'data_unchecked_why': dict(sorted(other[i].items()))}
                   if other[i] else {})))
        if key[0] == 'init' and len(members) > 1:
            values = np.array([[_value(records[i], lv, m) for lv in LEVELS
                                for m in METRICS] for i in members])
            mean, ci = mean_ci(values)
            cells = iter(zip(mean.tolist(), ci.tolist()))
            metrics, ci95 = {}, {}
            for lv in LEVELS:
                for m in METRICS:
                    mu, half = next(cells)
                    metrics.setdefault(lv, {})[m] = mu
                    ci95.setdefault(lv, {})[m] = half
            # a mean is of the data its seeds were evaluated on: of
            # earlier data where one of them is, not checked against the
            # data now where one of them is not (named by their seeds; the
            # lines under the table give it each of their reasons)
            unchecked = [_seed(records[i]) for i, row in zip(
                members, rows[-len(members):]) if row.get('data_unchecked')]
            rows.append(dict(mean=True, model=labels[members[0]],
                             weights='random init' + (
                                 ' (earlier data)' if any(
                                     changed[i] for i in members) else ''),
                             seeds=[_seed(records[i]) for i in members],
                             files=[os.path.abspath(paths[i])
                                    for i in members],
                             n=len(members), metrics=metrics, ci95=ci95,
                             **({'data_unchecked': True,
                                 'data_unchecked_seeds': unchecked}
                                if unchecked else {})))
    return rows


def _model_labels(records: Sequence[dict],
                  model_sha1s: Sequence[Optional[str]]) -> List[str]:
    """Each result's model as the table names it: its config's name; its
    config's path (without ``.py``) where configs of one file name in
    two folders are summarised whose results are not of one model (two
    clones' configs of one model, one SHA-1 and the same contents of the
    files it names, :func:`_model_key`, are named alike: their rows were
    told apart by their paths only; a model whose attribute files hold
    other text in one clone is another, though its SHA-1 by the mark is
    the same); and, where one config's
    baselines are of two models (``--cfg-options``, another file it
    names), the first characters of each one's model config SHA-1
    (``model_sha1s``, per result: as this version records it,
    :func:`~.knn.same_model_sha1s`)."""
    from .knn import linked_classes
    names = [os.path.splitext(os.path.basename(r['config']))[0]
             for r in records]
    # a result links its config to its model: the configs of a name that
    # are linked, through models shared, read as one
    linked = linked_classes([{('config', r['config'])} | (
        {('model', _model_key(r, sha1))} if sha1 else set())
        for r, sha1 in zip(records, model_sha1s)])
    configs: Dict[str, set] = {}
    for name, c in zip(names, linked):
        configs.setdefault(name, set()).add(c)
    names = [os.path.splitext(os.path.relpath(r['config']))[0]
             if len(configs[name]) > 1 else name
             for name, r in zip(names, records)]
    models: Dict[str, set] = {}
    for name, r, sha1 in zip(names, records, model_sha1s):
        if _seed(r) is not None:
            models.setdefault(name, set()).add(_model_key(r, sha1))
    return [name + (f' (model {str(sha1)[:8]})'
                    if _seed(r) is not None and len(models[name]) > 1
                    else '')
            for name, r, sha1 in zip(names, records, model_sha1s)]


def _pct(value: float) -> str:
    return 'nan' if math.isnan(value) else f'{100 * value:.1f}%'


def _cell(row: dict, level: str, metric: str) -> str:
    value = row['metrics'][level][metric]
    half = row.get('ci95', {}).get(level, {}).get(metric)
    if half is None or math.isnan(half) or math.isnan(value):
        return _pct(value)
    return f'{_pct(value)} ± {100 * half:.1f}'


def _seed_cell(row: dict) -> str:
    if row.get('mean'):
        return f'mean of {row["n"]} ({", ".join(map(str, row["seeds"]))})'
    return '–' if row['seed'] is None else str(row['seed'])


def format_summary(rows: Sequence[dict], record: dict) -> str:
    """The Markdown table, then the settings, the queries, what ``±`` is
    and the titles of the results that warn (:func:`~openselfsup.
    evaluation.knn.knn_title`: k capped, patients shared or trained on,
    classes without bank patches)."""
    head = ['model', 'weights', 'seed'] + [f'{lv} {m}' for lv in LEVELS
                                           for m in METRICS]
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + '|'.join(['---'] * 3 + ['---:'] * (len(head) - 3)) + '|']
    for row in rows:
        lines.append('| ' + ' | '.join(
            [row['model'], row['weights'], _seed_cell(row)]
            + [_cell(row, lv, m) for lv in LEVELS for m in METRICS]) + ' |')
    s = record['knn_settings']
    k, asked = record.get('k'), record.get('k_asked', record.get('k'))
    capped = f' (capped from {asked}: the bank size)' if k != asked else ''
    temperature = s.get('knn_eval.temperature', 'the default')
    queries = ', '.join(f'{record[lv]["n"]} {lv}'
                        f'{"es" if lv == "patch" else "s"}' for lv in LEVELS)
    lines += ['', f'kNN: k={k}{capped}, temperature {temperature}, '
              f'aggregation {record.get("aggregation")}; queries: '
              f'{queries}; acc: accuracy, mca: mean class accuracy.']
    if any(r.get('mean') for r in rows):
        lines.append(f'± : {SPREAD}.')
    lines += _notes(rows, 'checkpoint_now_sha1', lambda r: (
        f'{r["model"]}, {r["weights"]}: {r["checkpoint"]} now holds another '
        f'checkpoint (SHA-1 {r["checkpoint_now_sha1"][:12]}) than the one '
        f'evaluated (SHA-1 {str(r["checkpoint_sha1"])[:12]}), whose results '
        'the row shows; to evaluate the current one into a folder of its '
        'own beside it' + ('' if r.get('options') is not None else
                           ' (the settings its results record are not '
                           'spelled as --cfg-options here: give it the '
                           'config that evaluated them)')
        + f': `{current_checkpoint_command(r)}`' + _unknown_folder_note(r)))
    lines += _notes(rows, 'other_settings', lambda r: (
        f'{_row_name(r)}: evaluated with other settings than its checkpoint '
        f'was trained with, which change its features '
        f'({", ".join(r["other_settings"])})'))
    stale = [r for r in rows if r.get('data_now_sha1')]
    if stale:
        from ..config import data_digest_words, is_patches_digest
        lines.append('')
        for r in stale:
            # the bank's and query's in one line where their folder and
            # digests are one (a :patches digest is one per metadata file)
            alike: Dict[tuple, list] = {}
            for key in sorted(r['data_now_sha1']):
                alike.setdefault((r['data_folders'][key], r['data_sha1'][key],
                                  r['data_now_sha1'][key]), []).append(key)
            for (folder, then, now), keys in alike.items():
                keys = ', '.join(keys)
                digests = f'{str(then)[:12]} then, {now[:12]} now'
                if is_patches_digest(then) and not is_patches_digest(now):
                    what = (f'the metadata in {folder} ({keys}) was written '
                            'again since it was evaluated: it names other '
                            'patches now, under one folder (the patch '
                            f'files\' digest then, the folder\'s now: '
                            f'{digests})')
                else:
                    patches = is_patches_digest(then)  # its files, in words
                    what = (f'{data_digest_words(keys, folder, patches)} '
                            f'{"were" if patches else "was"} written again '
                            f'since it was evaluated ({digests})')
                lines.append(f'- {_row_name(r)}: {what}: the row shows '
                             'results on the earlier data; tools/knn_eval.py '
                             'evaluates it again')
    from .knn import UNJUDGED_DATA
    for why, unchecked in (
            ('evaluated before the results recorded their data folders\' '
             'fingerprint', [r for r in rows if any(
                 m.get('data_unchecked') and not m.get('data_unchecked_keys')
                 for m in _unchecked_members(r, rows))]),
            *((words, [r for r in rows if any(
                reason in m.get('data_unchecked_why', {}).values()
                for m in _unchecked_members(r, rows))])
              for reason, words in UNJUDGED_DATA.items())):
        if unchecked:
            lines += ['', f'- not checked against the data now ({why}; '
                      'tools/knn_eval.py evaluates them again): '
                      + '; '.join(_row_name(r) for r in unchecked)]
    warned = [r for r in rows if not r.get('mean') and r.get('title') and
              _warns(r['title'])]
    if warned:
        lines.append('')
        lines += [f'- {r["model"]}, {r["weights"]}'
                  + (f' seed {r["seed"]}' if r['seed'] is not None else '')
                  + f': {r["title"]}' for r in warned]
    return '\n'.join(lines) + '\n'


def _notes(rows: Sequence[dict], key: str, say) -> List[str]:
    """The lines under the table of the rows that have ``key``: an empty
    line, then ``- <say(row)>`` each; none where no row has it."""
    said = [f'- {say(r)}' for r in rows if r.get(key)]
    return [''] + said if said else []


def _row_name(row: dict) -> str:
    """A row in words under the table: its model, weights and seed (a
    mean row: its seeds)."""
    if row.get('mean'):
        return (f'{row["model"]}, {row["weights"]} mean of seeds '
                f'{", ".join(map(str, row["seeds"]))}')
    seed = f' seed {row["seed"]}' if row.get('seed') is not None else ''
    return f'{row["model"]}, {row["weights"]}{seed}'


def _unchecked_members(row: dict, rows: Sequence[dict]) -> List[dict]:
    """The rows whose data marks a row carries: the row itself, or for a
    mean row (:func:`summary_rows`) those of its seeds not checked
    against the data now (``data_unchecked_seeds``), known by their
    files (a mean's seeds may be of configs with other labels, one label
    may be of two models)."""
    if not row.get('mean'):
        return [row]
    seeds = row.get('data_unchecked_seeds', ())
    return [r for r in rows if not r.get('mean') and
            r['file'] in row['files'] and r['seed'] in seeds]


def _warns(title: str) -> bool:
    """Whether a result's title says more than its k (``kNN (k=20)
    ...``): a capped k, shared or trained patients, classes without bank
    patches."""
    return not re.match(r'kNN \(k=\d+\) ', title)


#: the plot's note under error bars cut at its 0-100 axis
#: (:func:`plot_summary`), before the bars' means and half-widths
CUT_NOTE = 'error bars cut at the 0-100 axis (95% half-width beyond it): '
#: characters per inch of that note's lines at 6 points (180 on the
#: 9-inch plot), as the low-shot plots' notes at 8 points take 16: the
#: lines follow the figure's width (a longer word, or a wider font,
#: widens the PNG, never cut)
NOTE_CHARS_PER_INCH = 20


def plot_summary(rows: Sequence[dict], title: str = '') -> bytes:
    """Bars of accuracy and mean class accuracy per level, one bar per
    checkpoint and per baseline (several seeds: their mean, with the
    half-width as an error bar, cut at the 0-100 axis and then said in a
    note under the plot, :data:`CUT_NOTE`), as PNG bytes."""
    import numpy as np

    from ..utils.plot import bars_within, figure_png, subplots
    # a model's seeds are shown by their mean, where there is one (known
    # by their files, as :func:`_unchecked_members`)
    meaned = {f for r in rows if r.get('mean') for f in r['files']}
    shown = [r for r in rows if r.get('mean') or r['file'] not in meaned]
    fig, axes = subplots(1, 2, figsize=(9, 3.2), sharey=True)
    width = 0.8 / len(shown)
    x = np.arange(len(LEVELS))
    cut = []  # the error bars cut at the axis, in words
    for ax, m, name in zip(axes, METRICS,
                           ('accuracy', 'mean class accuracy')):
        for j, r in enumerate(shown):
            values = [100 * r['metrics'][lv][m] for lv in LEVELS]
            err = None
            if r.get('mean'):
                # a few seeds' half-width can reach past 0 or 100: drawn
                # to the axis, and said under the plot
                halves = [100 * r['ci95'][lv][m] for lv in LEVELS]
                below, above, off = bars_within(values, halves, 0, 100)
                err = [below, above]
                cut += [f'{_bar_label(r)}, {lv} {name} {v:.1f} '
                        f'\u00b1 {h:.1f}' for lv, v, h, o in zip(
                            LEVELS, values, halves, off) if o]
            ax.bar(x - 0.4 + width * (j + 0.5), values, width, yerr=err,
                   capsize=2, label=_bar_label(r))
        ax.set_xticks(x, LEVELS)
        ax.set_ylim(0, 100)
        ax.set_title(name, fontsize=9)
    axes[0].set_ylabel('%')
    axes[1].legend(fontsize=6, loc='upper left', bbox_to_anchor=(1, 1))
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    if cut:
        # wrapped here, at spaces only: matplotlib's wrap=True measured the
        # note's width word by word on each draw (bbox_inches='tight' draws
        # twice), 0.3 s of a plot's 0.85 for three cut bars of long names
        note = textwrap.fill(CUT_NOTE + '; '.join(cut),
                             int(NOTE_CHARS_PER_INCH * fig.get_figwidth()),
                             break_long_words=False, break_on_hyphens=False)
        fig.text(0.01, -0.02, note, fontsize=6, va='top')
    return figure_png(fig, dpi=100, title=title)


def _bar_label(row: dict) -> str:
    if row.get('mean'):  # its weights: '(earlier data)' where marked
        return f'{row["model"]}, {row["weights"]} (mean of {row["n"]} seeds)'
    seed = f' seed {row["seed"]}' if row['seed'] is not None else ''
    return f'{row["model"]}, {row["weights"]}{seed}'


def summarize_knn(paths: Sequence[str], output: str) -> Dict[str, str]:
    """Read the kNN result JSONs ``paths``; write their table (``.md``),
    its numbers (``.json``) and a plot (``.png``) as one set, everything
    computed and checked before the first is written.

    Args:
        paths (list[str]): result JSONs of ``tools/knn_eval.py``.
        output (str): path prefix of the three files; a folder (existing,
            or ending in ``/``) holds ``knn_summary.*``
            (:func:`~openselfsup.lowshot.report.report_prefix`).

    Returns:
        dict: ``markdown`` (the text), and the paths ``md``, ``json``,
        ``png``.

    Raises:
        InputError: no result given, a result given twice, a file that is
            not a kNN result (:func:`load_knn_result`), results of other
            kNN settings (:func:`check_one_setting`), an output that cannot
            be written or is another command's file (or an input).
    """
    from ..lowshot.report import report_prefix
    from ..utils import (check_replaceable, check_writable, reading_once,
                         save_set)
    if not paths:
        raise InputError('give the kNN result JSONs to summarise')
    check_distinct('results', paths, key=os.path.realpath,
                   why='one file')
    prefix = report_prefix(output, 'knn_summary')
    out = {ext: f'{prefix}.{ext}' for ext in ('md', 'json', 'png')}
    inputs = {os.path.realpath(p) for p in paths}
    for path in out.values():
        if os.path.realpath(path) in inputs:
            raise InputError(f'{path}: an output of the summary is one of '
                             'its inputs; give another --output')
        check_writable(path)
    check_replaceable(out['json'], SUMMARY_KEYS,
                      'a kNN summary written by knn_summary.py',
                      also=(out['md'], out['png']))
    records = [load_knn_result(p) for p in paths]
    with reading_once():  # each metadata file parsed once
        check_one_setting(paths, records)
        rows = summary_rows(paths, records)
    text = format_summary(rows, records[0])
    title = f'kNN (k={records[0].get("k")}): {len(records)} results'
    data = dict(rows=rows, knn_settings=records[0]['knn_settings'],
                knn_files_sha1=records[0].get('knn_files_sha1'),
                knn_data_sha1=records[0].get('knn_data_sha1'),
                k=records[0].get('k'), k_asked=records[0].get('k_asked'),
                aggregation=records[0].get('aggregation'), spread=SPREAD)
    save_set({out['md']: text, out['json']: data,
              out['png']: plot_summary(rows, title)})
    return dict(out, markdown=text)
