"""Every module of :mod:`openselfsup.datasets` that registers a dataset or
transform, and ``mmpretrain.datasets`` (its transforms and samplers fill the
parent registries). The import location of the ``DATASETS``,
``DATA_SAMPLERS`` and ``TRANSFORMS`` registries; import it to register
everything at once.
"""
import mmpretrain.datasets  # noqa: F401  (fills the parent registry)

from . import (crossmodal, hidisc_transforms, hierarchical,  # noqa: F401
               image_list, transforms)
