"""Which device a model runs on."""

from __future__ import annotations


def resolve_device(device: str) -> str:
    """``auto``: the first CUDA GPU (``cuda:0``) when there is one, else ``cpu``."""
    if device != "auto":
        return device
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"
