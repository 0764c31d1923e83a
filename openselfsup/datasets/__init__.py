"""Datasets: image lists, the synthetic histology generator, data layouts.

The names below are imported from their modules when first used, so that
``openselfsup.datasets.synthetic`` (the data generator) and the other
light modules load without torch and mmpretrain (the generators' ``--help``
answers in a fraction of a second instead of ~6 s). The registries
(``openselfsup.registry``) import :mod:`.registered` when a config first
builds a dataset, sampler or transform: it imports every module that
registers one, and ``mmpretrain.datasets`` for the parent registry.
"""
from ..utils.lazy import lazy_getattr

#: exported name -> the module of this package that defines it
_LAZY = {
    'ImageList': 'image_list', 'read_list_file': 'image_list',
    'HueWrapColorJitter': 'transforms', 'PillowGrayscale': 'transforms',
    'CaptionedImages': 'crossmodal', 'LoadRegionFeatures': 'crossmodal',
    'SlideReports': 'crossmodal',
    'HierarchicalPatchDataset': 'hierarchical',
    'HierarchicalPatientDataset': 'hierarchical',
    'LoadHistoPatch': 'hierarchical', 'read_hierarchy': 'hierarchical',
    'read_opensrh': 'hierarchical', 'read_patients': 'hierarchical',
    'HiDiscAugment': 'hidisc_transforms', 'ToUnitTensor': 'hidisc_transforms',
}

__all__ = list(_LAZY)
__getattr__ = lazy_getattr(__name__, _LAZY)
