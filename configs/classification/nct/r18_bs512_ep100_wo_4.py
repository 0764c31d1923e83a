_base_ = './r18_bs512_ep100_all.py'  # NCT without class 4
train_dataloader = dict(dataset=dict(ann_file='meta/wo_4_train_labeled.txt'))
