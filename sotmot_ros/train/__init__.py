"""Training: losses, the trainer, distributed set-up and the training configuration."""
