"""Which device a model runs on, in one syntax for every command."""

from __future__ import annotations

import re

from edgedistill.errors import UsageError

DEVICE_HELP = "auto (the first CUDA GPU, else the CPU), cpu, mps, or a GPU as 0 or cuda:0"
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda|cuda:\d+(,\d+)*|\d+(,\d+)*)$")


def parse_device(text: str, several: bool = False) -> str:
    """``auto``, ``cpu``, ``mps`` or ``cuda:N`` from any accepted spelling.

    GPUs are written ``0`` or ``cuda:0``; ``several`` allows ``0,1`` (training only),
    returned as ``cuda:0,1``.
    """
    value = text.strip().lower().replace(" ", "")
    if not _DEVICE.match(value):
        raise UsageError(f"device '{text}' is not one of: {DEVICE_HELP}")
    if value == "cuda":
        value = "cuda:0"
    elif value[0].isdigit():
        value = f"cuda:{value}"
    if "," in value and not several:
        raise UsageError(f"device '{text}': this command runs on one device; pick one GPU")
    return value


def resolve_device(device: str) -> str:
    """``auto``: the first CUDA GPU (``cuda:0``) when there is one, else ``cpu``."""
    device = parse_device(device, several=True)
    if device != "auto":
        return device
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"
