# HiDisc demo: the HLSS demo with one plain projection head and no language.
_base_ = ['./hlss_r18_synthetic.py']

model = dict(
    heads=dict(_delete_=True, type='MLPHead', in_channels=64,
               hid_channels=64, out_channels=32))
