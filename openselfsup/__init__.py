"""openselfsup: pre-training and low-shot evaluation for histology encoders."""
__version__ = '0.1.0'
