_base_ = './r18_bs256_ep200_all.py'  # NCT without class 1
train_dataloader = dict(dataset=dict(ann_file='meta/wo_1_train.txt'))
