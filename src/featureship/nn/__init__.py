"""PyTorch modules: the pretrained-encoder wrapper, classifier heads, sequential recommenders."""
