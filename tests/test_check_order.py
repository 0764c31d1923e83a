"""The launchers' check (``tools/train.py --check-config``, run by
``dist_train.sh`` / ``slurm_train.sh``) and the run refuse a config with
two faults by the same first line: the check's order is the run's
(``apis.train.check_run_start``, which both call, for the validation and
the initial weights before the seed; ``utils.checkpoint.read_resumed``,
the run's read of a ``--resume`` file before its meta's refusals; the
files the runner reads once built after the data checks)."""
import os

import pytest

from _foundation_helpers import REPO, run_tool_here

CLP_DEMO = os.path.join(REPO, 'configs', 'demo', 'clp_r18_demo.py')

#: the second fault of most cases: a seed whose derived seeds pass numpy's
#: bound on two loader workers (``config.check_seed_reach``)
SEED = ['randomness.seed=4294967295', 'train_dataloader.num_workers=2']


def _first_lines(tmp_path, capfd, config, *args):
    """The last stderr line of ``tools/train.py config args`` with
    ``--check-config`` and without (the run), each refused (exit 2)."""
    lines = []
    for check in (['--check-config'], []):
        rc, _, err = run_tool_here(['tools/train.py', config, '--work-dir',
                                    str(tmp_path / 'w'), *check, *args],
                                   capfd)
        assert rc == 2, err[-2000:]
        lines.append(err.strip().splitlines()[-1])
    assert not (tmp_path / 'w').exists()
    return lines


def _config(tmp_path, text):
    path = tmp_path / 'c.py'
    path.write_text(f'_base_ = {CLP_DEMO!r}\n{text}')
    return str(path)


def test_a_missing_load_from_is_said_before_the_seed(tmp_path, capfd):
    """A new run's ``load_from`` missing and a seed out of numpy's reach:
    the check said the seed (it judged ``load_from`` after the seed, the
    batch split, the views and the checkpoint's meta), the run the
    missing file (``check_load_from`` before the seed)."""
    config = _config(tmp_path, f"load_from = '{tmp_path}/missing.pth'\n")
    check, run = _first_lines(tmp_path, capfd, config, '--cfg-options',
                              *SEED)
    assert check == run, (check, run)
    assert 'missing.pth: checkpoint file not found' in run, run


def test_initial_weights_that_saw_a_held_out_class_are_said_before_the_seed(
        tmp_path, capfd):
    """A ``wo_3`` run (LYM held out) from weights trained on NCT's
    all-class list, and a seed out of numpy's reach: the check said the
    seed (it read the initial weights' lists after it), the run the
    held-out class (``initial_weight_lists`` before the seed)."""
    import torch
    nct = tmp_path / 'data' / 'NCT'
    (nct / 'meta').mkdir(parents=True)
    for name in ('wo_3_train.txt', 'train.txt'):
        (nct / 'meta' / name).write_text(
            'NCT-CRC-HE-100K/ADI/ADI-AAAAAAAA.tif 0\n')
    every = str(tmp_path / 'every.pth')
    torch.save({'state_dict': {'conv1.weight': torch.ones(1)},
                'meta': {'train_list': 'meta/train.txt',
                         'data_root': str(nct)}}, every)
    config = _config(tmp_path, (
        f"load_from = {every!r}\n"
        f"train_dataloader = dict(dataset=dict(data_root='{nct}', "
        "ann_file='meta/wo_3_train.txt'))\n"))
    check, run = _first_lines(tmp_path, capfd, config, '--cfg-options',
                              *SEED)
    assert check == run, (check, run)
    assert 'it has seen LYM' in run, run


@pytest.mark.parametrize('data_check', [[], ['--no-data-check']])
def test_torchs_two_weights_only_variables_are_said_before_the_seed(
        tmp_path, capfd, monkeypatch, data_check):
    """Both of torch's ``weights_only`` variables set (its ``torch.load``
    refuses every file), a resumed run, and a seed out of numpy's reach:
    the check said the seed, the run the variables (``check_load_from``
    of a resumed run, before the seed); so too without the check's data
    check (``DATA_CHECK=0``), which leaves out a new run's initial
    weights, not the file a run resumes from."""
    import torch
    ckpt = str(tmp_path / 'epoch_1.pth')
    torch.save({'meta': {'epoch': 1, 'iter': 5}, 'state_dict': {}}, ckpt)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    monkeypatch.setenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', '1')
    check, run = _first_lines(tmp_path, capfd, CLP_DEMO, '--resume', ckpt,
                              *data_check, '--cfg-options', *SEED)
    assert check == run, (check, run)
    assert 'TORCH_FORCE_WEIGHTS_ONLY_LOAD' in run, run


def test_a_resumed_file_torch_cannot_read_is_said_before_its_meta(
        tmp_path, capfd):
    """A ``--resume`` file of pickle protocol 4 (torch's weights-only
    reader refuses it) whose meta, which the check reads without torch,
    is no training checkpoint's (no epoch and iteration): the check said
    the meta's refusal (``check_resume_meta`` before its read of the
    file), the run the pickle's (``resume_notes`` reads the file first).
    The reference that the file is one torch refuses: ``torch.load``
    itself."""
    import pickle

    import torch
    ckpt = str(tmp_path / 'p4.pth')
    torch.save({'meta': {'note': 'weights'}, 'state_dict': {}}, ckpt,
               pickle_protocol=4)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt, weights_only=True)
    check, run = _first_lines(tmp_path, capfd, CLP_DEMO, '--resume', ckpt)
    assert check == run, (check, run)
    assert 'its pickle, of protocol 4' in run, run


@pytest.mark.parametrize('weights', ['resume', 'load_from', 'pretrained'])
def test_the_files_the_runner_reads_are_said_after_the_data(
        tmp_path, capfd, weights):
    """A checkpoint file the runner reads once built (the ``--resume`` file
    and a new run's ``load_from`` in its ``load_or_resume``, holding an
    object torch's weights-only reader refuses; a ``Pretrained`` file,
    missing, in its ``_init_model_weights``) and the training data folder
    missing: the check said the file (it read the files before the data
    paths), the run the folder (its data check comes before the runner
    is built). The reference that the object is refused: ``torch.load``
    itself."""
    import argparse
    import pickle

    import torch
    held = str(tmp_path / 'held.pth')
    torch.save({'meta': {'epoch': 1, 'iter': 5}, 'state_dict': {},
                'args': argparse.Namespace(lr=0.1)}, held)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(held, weights_only=True)
    text, args = {
        'resume': ('', ['--resume', held]),
        'load_from': (f'load_from = {held!r}\n', []),
        'pretrained': ('model = dict(backbone=dict(init_cfg=dict('
                       "_delete_=True, type='Pretrained', "
                       f"checkpoint='{tmp_path}/no.pth')))\n", [])}[weights]
    config = _config(tmp_path, text + "train_dataloader = dict(dataset=dict("
                     f"data_root='{tmp_path}/nodata/'))\n")
    check, run = _first_lines(tmp_path, capfd, config, *args)
    assert check == run, (check, run)
    assert 'nodata/: folder not found' in run, run
