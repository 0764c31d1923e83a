"""Low-shot evaluation toolkit: tasks, base dictionary, latent augmentation,
batched classifiers, metrics, reports.

Pure arrays: this package imports neither mmengine nor mmpretrain. Results
are bitwise independent of chunking and threads on the CPU (see
:mod:`.parallel` and, for MKL's reproducibility mode, :mod:`openselfsup`).
"""
