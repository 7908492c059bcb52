"""A tiny randomly initialised SAM3 of Ultralytics' own architecture, as Meta's ``sam3.pt``.

Ultralytics' builder (``ultralytics.models.sam.build_sam3``) hard-codes SAM3's one real
size. ``tiny_ultralytics_sam3()`` shrinks it where it is big without changing what it
is: the builder's own functions run, and only the depth and width of the component
constructors they call are reduced (ViT trunk 2 blocks x 64 wide instead of 32 x 1024,
text encoder 1 layer x 64 wide, one layer where the detector, geometry encoder and
tracker memory attention have several, 16 queries instead of 200). The 256-wide model
dimension that ties the detector to the tracker stays, and so does every module.
SAM3 takes any square input that is a multiple of its 14-pixel patch: the teacher's
input size becomes 112 (an 8 x 8 patch grid) while the context is active.

The same context must be active where the checkpoint is loaded (Ultralytics rebuilds
the model from the builder), so tests run the teacher inside it; ``python -m
tests.tiny_sam3_ultralytics label ...`` runs the CLI inside it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import torch

IMAGE_SIZE = 112
GRID = IMAGE_SIZE // 14

_SMALLER: dict[str, dict[str, Any]] = {
    "ViT": {
        "img_size": IMAGE_SIZE,
        "pretrain_img_size": IMAGE_SIZE,
        "embed_dim": 64,
        "depth": 2,
        "num_heads": 2,
        "global_att_blocks": (1,),
        "window_size": GRID // 2,
    },
    "VETextEncoder": {"width": 64, "heads": 2, "layers": 1},
    "TransformerEncoderFusion": {"num_layers": 1},
    "TransformerDecoder": {"num_layers": 1, "num_queries": 16},
    "SequenceGeometryEncoder": {"num_layers": 1},
    "MemoryAttention": {"num_layers": 1},
    "RoPEAttention": {"feat_sizes": [GRID, GRID]},
    "MemoryEncoder": {"interpol_size": [GRID * 16, GRID * 16]},
}


def _shrunk(constructor: Callable[..., Any], changes: dict[str, Any]) -> Callable[..., Any]:
    def build(*args: Any, **kwargs: Any) -> Any:
        return constructor(*args, **{**kwargs, **changes})

    return build


@contextmanager
def tiny_ultralytics_sam3() -> Iterator[None]:
    """While active, Ultralytics' SAM3 builder builds the tiny model and the teacher feeds it
    112-pixel inputs."""
    from ultralytics.models.sam import build_sam3

    from edgedistill.teachers import sam3_ultralytics

    with ExitStack() as stack:
        for name, changes in _SMALLER.items():
            original = getattr(build_sam3, name)
            stack.enter_context(mock.patch.object(build_sam3, name, _shrunk(original, changes)))
        stack.enter_context(mock.patch.object(sam3_ultralytics, "IMAGE_SIZE", IMAGE_SIZE))
        yield


def save_tiny_sam3_pt(path: Path) -> Path:
    """A tiny random SAM3 (detector and tracker) saved in Meta's ``sam3.pt`` layout."""
    from ultralytics.models.sam.build_sam3 import build_interactive_sam3, build_sam3_image_model

    path.parent.mkdir(parents=True, exist_ok=True)
    empty = path.with_name(f"{path.stem}-empty.pt")
    torch.save({}, empty)  # nothing to load: the builder's random initialisation stays
    with tiny_ultralytics_sam3():
        torch.manual_seed(0)
        detector = build_sam3_image_model(str(empty))
        initialise_text_encoder(detector.backbone.language_backbone.encoder)
        tracker = build_interactive_sam3(str(empty), with_backbone=False)
    empty.unlink()
    state = {f"detector.{k}": v for k, v in detector.state_dict().items()}
    # Ultralytics' loader strips "tracker." (and maps Meta's own names onto these)
    state.update({f"tracker.{k}": v for k, v in tracker.state_dict().items()})
    torch.save({"model": state}, path)
    return path


def initialise_text_encoder(encoder: torch.nn.Module) -> None:
    """Two parameters Ultralytics leaves uninitialised (``torch.empty``: a checkpoint always
    fills them), initialised as OpenAI's CLIP does."""
    torch.nn.init.normal_(encoder.positional_embedding, std=0.01)
    torch.nn.init.normal_(encoder.text_projection, std=encoder.text_projection.shape[0] ** -0.5)


def main(argv: list[str]) -> None:
    """``edgedistill`` with the tiny model: ``python -m tests.tiny_sam3_ultralytics label ...``."""
    from edgedistill.cli import main as cli

    with tiny_ultralytics_sam3():
        code = cli(argv)
    raise SystemExit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
