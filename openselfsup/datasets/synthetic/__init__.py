"""Synthetic H&E-looking histology in the real datasets' layouts.

``tissue`` renders one patch from a tissue style and a stain palette;
``layouts`` writes whole datasets (NCT-CRC-HE-100K-NONORM, LC25000, PAIP19) with
the list files the rest of the project reads.
"""
from .layouts import (DOMAINS, LC_CLASSES, NCT_CLASSES, PAIP_CLASSES,  # noqa: F401
                      SyntheticSpec, make_synthetic)
from .tissue import PALETTES, STYLES, StainPalette, TissueStyle, render_patch  # noqa: F401
from .crossmodal import (CaptionedImagesSpec, SlideReportsSpec,  # noqa: F401,E402
                         make_captioned_images, make_slide_reports)
from .hierarchical import HierarchicalSpec, make_synthetic_hierarchical  # noqa: F401,E402
