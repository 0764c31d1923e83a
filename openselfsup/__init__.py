"""openselfsup: pre-training and low-shot evaluation for histology encoders.

Importing the package asks Intel MKL (torch's CPU BLAS/LAPACK on x86) for
conditional numerical reproducibility (``MKL_CBWR=AUTO,STRICT``) unless the
environment already sets ``MKL_CBWR``. Without it MKL picks kernels by batch
size and memory alignment, so a low-shot task gave results that differed in
the last bits depending on which tasks shared its chunk (then, through
L-BFGS stopping points and near-tie queries, occasionally different F1);
and on AMD CPUs MKL's default dispatch takes a slow generic path, where the
strict mode's AVX kernels factorised 512 x 512 matrices about twice as fast
here. MKL reads the setting at its first call, so import ``openselfsup``
before running torch linear algebra (every command does).
"""
import os
import warnings

os.environ.setdefault('MKL_CBWR', 'AUTO,STRICT')

# third-party noise no command should print: mmcv-lite has no compiled ops
# (mmpretrain never needs them); mmcv's colour jitter says on every call
# that its 'alpha' argument is for the pillow backend (the one in use); PIL
# warns about palette images with transparency that the loaders convert to
# RGB anyway
for _message in ('Fail to import ``MultiScale',
                 "Only use 'alpha' for pillow backend",
                 'Palette images with Transparency'):
    warnings.filterwarnings('ignore', message=_message, category=UserWarning)

__version__ = '0.1.0'
