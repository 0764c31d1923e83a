"""Class-structured synthetic features in the low-shot workdir layout (tests)."""
import json
import os

import numpy as np

from openselfsup.lowshot import paths

#: (feature set, number of classes, samples per class)
SETS = {'NCT_train': (9, 40), 'NCT_test': (9, 20), 'LC': (5, 40),
        'PAIP_train': (3, 36), 'PAIP_test': (3, 20)}


def class_features(rng, num_classes, per_class, dim, centers, noise=1.0):
    """Features around class centers: float32 [C*per_class, D], labels."""
    labels = np.repeat(np.arange(num_classes), per_class)
    feats = centers[labels] + noise * rng.normal(size=(len(labels), dim))
    return np.abs(feats).astype(np.float32), labels.astype(np.int64)


def make_workdir(root, model='clp', dim=64, seed=0, spread=1.0):
    """Write features, labels and meta JSONs of every set under ``root``.

    PAIP sets get slides: train rows cycle over 3 slides, test over 1.
    """
    rng = np.random.default_rng(seed)
    centers = {9: rng.normal(size=(9, dim)) * spread + 3,
               5: rng.normal(size=(5, dim)) * spread + 3,
               3: rng.normal(size=(3, dim)) * spread + 3}
    for name, (c, per) in SETS.items():
        feats, labels = class_features(rng, c, per, dim, centers[c])
        fpath = paths.features_path(root, model, name)
        os.makedirs(os.path.dirname(fpath), exist_ok=True)
        np.save(fpath, feats)
        np.save(paths.labels_path(root, name), labels)
        nslides = 3 if name == 'PAIP_train' else 1
        img = [f'slide{i % nslides}/img{i}.png' for i in range(len(labels))]
        with open(paths.meta_path(root, name), 'w') as f:
            json.dump({'paths': img,
                       'classes': [f'c{i}' for i in range(c)]}, f)
    return root
