"""A training run looks at each listed image file once: the early data
check (``apis.train._check_listed_images``) and the training set's build
(``image_list.check_images``) ran the same stat pass over every entry
(``list_files.check_listed_files``); a dataset built outside a run
still checks its list each time it is built."""
import os

from _foundation_helpers import FSP_DEMO, run_tool_here, small_config


def _counted_stats(monkeypatch, images):
    """``os.stat`` counted per listed image file (absolute paths)."""
    real, counts = os.stat, dict.fromkeys(images, 0)

    def stat(path, *args, **kwargs):
        full = os.path.abspath(path) if isinstance(path, str) else None
        if full in counts:
            counts[full] += 1
        return real(path, *args, **kwargs)
    monkeypatch.setattr(os, 'stat', stat)
    return counts


def test_a_training_run_stats_each_listed_image_once(synthetic_root,
                                                       tmp_path, capfd,
                                                       monkeypatch):
    from openselfsup.datasets import ImageList
    from openselfsup.datasets.list_files import read_list_file
    from openselfsup.utils import once
    # the fixture's lists may be seconds old: kept as if older
    # (once.settled: a file changed within RECENT_NS is read again)
    monkeypatch.setattr(once, 'RECENT_NS', 0)
    nct = os.path.join(synthetic_root, 'NCT')
    cfg = small_config(FSP_DEMO, str(tmp_path / 'cfg.py'), nct + '/',
                       n_images=4, batch=4)
    from mmengine.config import Config
    dataset = Config.fromfile(cfg).train_dataloader.dataset
    lst = os.path.join(nct, dataset.ann_file)
    data = os.path.join(nct, dataset.data_prefix)
    images = [os.path.abspath(os.path.join(data, rel))
              for rel, _ in read_list_file(lst)]
    counts = _counted_stats(monkeypatch, images)
    rc, out, err = run_tool_here(['tools/train.py', cfg, '--work-dir',
                                  str(tmp_path / 'w')], capfd)
    assert rc == 0, err[-3000:]
    assert set(counts.values()) == {1}, counts
    # outside a run, each build looks at them
    counts.update(dict.fromkeys(counts, 0))
    for _ in range(2):
        ImageList(ann_file=lst, data_prefix=data, check='exists')
    assert set(counts.values()) == {2}, counts
