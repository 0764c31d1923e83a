"""Low-shot evaluation toolkit: tasks, base dictionary, latent augmentation, batched classifiers, metrics."""
