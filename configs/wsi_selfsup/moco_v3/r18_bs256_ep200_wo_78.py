_base_ = './r18_bs256_ep200_all.py'  # NCT without classes 7 and 8
train_dataloader = dict(dataset=dict(ann_file='meta/wo_78_train.txt'))
