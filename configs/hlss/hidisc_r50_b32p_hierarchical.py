# HiDisc (Jiang et al., CVPR 2023): the HLSS config with plain projection
# heads and no language, so the two compare in one table.
_base_ = ['./hlss_r50_b32p_hierarchical.py']

model = dict(
    heads=dict(
        _delete_=True,
        # one projection shared by the three levels, as in HiDisc
        type='MLPHead', in_channels=2048, hid_channels=2048,
        out_channels=128))
