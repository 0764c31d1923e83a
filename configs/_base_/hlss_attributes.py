# The attribute data files of the three HLSS levels (one JSON per level,
# 128 attributes each: the names the published HLSS config uses, with
# descriptions and sentence templates written for this project; see
# openselfsup.models.heads.read_attribute_file for the format). Row k of a
# level's head is the normalised mean of the CLIP text embeddings of
# attribute k's sentences (every template filled with every description).
# Replace a file (or point these paths at your own) to change the text.
patch_attributes = '{{ fileDirname }}/hlss_attributes/patch.json'
slide_attributes = '{{ fileDirname }}/hlss_attributes/slide.json'
patient_attributes = '{{ fileDirname }}/hlss_attributes/patient.json'
