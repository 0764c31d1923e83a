_base_ = './r18_bs512_ep100_all.py'  # NCT without class 8
train_dataloader = dict(dataset=dict(ann_file='meta/wo_8_train_labeled.txt'))
