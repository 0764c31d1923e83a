"""Datasets: image lists, the synthetic histology generator, data layouts.

Importing this package also imports ``mmpretrain.datasets`` so that its
transforms and samplers are found through the parent registry.
"""
import mmpretrain.datasets  # noqa: F401  (fills the parent registry)

from .image_list import ImageList, read_list_file  # noqa: F401,E402
from .transforms import HueWrapColorJitter  # noqa: F401,E402
from .crossmodal import CaptionedImages, LoadRegionFeatures, SlideReports  # noqa: F401,E402
from .hierarchical import (HierarchicalPatchDataset,  # noqa: F401,E402
                           HierarchicalPatientDataset, LoadHistoPatch,
                           read_hierarchy, read_opensrh, read_patients)
from .hidisc_transforms import HiDiscAugment, ToUnitTensor  # noqa: F401,E402
