"""Heads mmpretrain lacks."""
from .task_head import LinearTaskHead  # noqa: F401
from .group_mocov3_head import GroupMoCoV3Head, grouped_logits  # noqa: F401
from .attribute_heads import (MLPHead, TextInitHead, attribute_matrix,  # noqa: F401
                              attribute_sentences, encode_attributes,
                              export_attribute_embeddings,
                              read_attribute_file, read_embedding_file,
                              symmetric_kl)
