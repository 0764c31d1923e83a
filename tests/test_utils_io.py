import json
import os
import stat

import numpy as np
import pytest

from openselfsup.utils import atomic_path, save_json, save_npy


def test_atomic_write_replaces_and_keeps_umask_mode(tmp_path):
    path = tmp_path / 'sub' / 'a.npy'
    save_npy(str(path), np.arange(3))
    assert np.array_equal(np.load(path), np.arange(3))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask
    save_json(str(tmp_path / 'b.json'), {'x': np.float32(1.5),
                                         'y': np.arange(2)})
    assert json.load(open(tmp_path / 'b.json')) == {'x': 1.5, 'y': [0, 1]}


def test_interrupted_write_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / 'r.txt'
    path.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_path(str(path)) as tmp:
            open(tmp, 'w').write('half')
            raise RuntimeError('killed')
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['r.txt']
