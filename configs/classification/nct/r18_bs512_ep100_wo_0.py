_base_ = './r18_bs512_ep100_all.py'  # NCT without class 0
train_dataloader = dict(dataset=dict(ann_file='meta/wo_0_train_labeled.txt'))
