"""A tiny randomly initialised SAM3 (real transformers architecture) that loads offline.

Stands in for the gated facebook/sam3 weights, which tests may not download.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    CLIPTextConfig,
    CLIPTokenizer,
    Sam2VideoVideoProcessor,
    Sam3Config,
    Sam3ImageProcessor,
    Sam3LiteTextConfig,
    Sam3LiteTextModel,
    Sam3LiteTextTextConfig,
    Sam3Model,
    Sam3Processor,
    Sam3TrackerVideoConfig,
    Sam3VideoConfig,
    Sam3VideoModel,
    Sam3VideoProcessor,
    Sam3ViTConfig,
)

IMAGE_SIZE = 112  # 8x8 patch grid with patch_size 14
PATCH_SIZE = 14
# Shared by FPN, geometry encoder, DETR encoder and decoder, and mask decoder; the mask
# decoder's GroupNorm(8, ·) needs a multiple of 8.
HIDDEN = 32
TEXT_MAX_LEN = 32  # Sam3Processor always pads text to max_length=32
# The video tracker's memory attention reads 64-channel memories (fixed in transformers) and
# splits wider object pointers into 64-channel tokens (the real model: 256 = 4 x 64).
TRACKER_HIDDEN = 128


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP byte -> printable unicode char map used by the ByteLevel pre-tokenizer."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def _build_tokenizer() -> CLIPTokenizer:
    # Byte-level vocab without merges, laid out like CLIP's: 256 bytes, 256 bytes + "</w>",
    # then bos/eos.
    # Every word is tokenised char by char, so any text is representable without <unk>.
    chars = list(_bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=TEXT_MAX_LEN)


def _build_config(tokenizer: CLIPTokenizer, hidden: int = HIDDEN) -> Sam3Config:
    grid = IMAGE_SIZE // PATCH_SIZE
    vit = Sam3ViTConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,  # head_dim 16; axial RoPE needs head_dim % 4 == 0
        image_size=IMAGE_SIZE,
        patch_size=PATCH_SIZE,
        pretrain_image_size=56,  # 4x4 position-embedding grid, tiled to 8x8 like the real 24 -> 72
        window_size=4,  # real model: window_size == pretrain grid
        global_attn_indexes=[1],  # layer 0 windowed, layer 1 global
    )
    vision = {
        "backbone_config": vit,
        "fpn_hidden_size": hidden,
        # FPN scales 4x, 2x, 1x of the patch grid (only the tracker reads them; kept consistent).
        "backbone_feature_sizes": [[grid * 4] * 2, [grid * 2] * 2, [grid] * 2],
    }
    text = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        projection_dim=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=TEXT_MAX_LEN,
        hidden_act="gelu",
        # CLIP pools at the first eos token, so these must match the tokenizer.
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    small = {"hidden_size": hidden, "num_attention_heads": 2, "intermediate_size": 64}
    return Sam3Config(
        vision_config=vision,
        text_config=text,
        geometry_encoder_config={**small, "num_layers": 1, "roi_size": 2},
        detr_encoder_config={**small, "num_layers": 1},
        detr_decoder_config={**small, "num_layers": 1, "num_queries": 10},
        mask_decoder_config={"hidden_size": hidden, "num_attention_heads": 2},
    )


def save_tiny_sam3(directory: Path) -> Path:
    """Save a tiny random Sam3Model and matching Sam3Processor into `directory` and return it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tokenizer = _build_tokenizer()
    config = _build_config(tokenizer)

    torch.manual_seed(0)
    model = Sam3Model(config).eval()
    model.save_pretrained(directory)

    image_processor = Sam3ImageProcessor(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        mask_size={"height": IMAGE_SIZE // 4, "width": IMAGE_SIZE // 4},
    )
    Sam3Processor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(directory)
    return directory


def _build_video_config(tokenizer: CLIPTokenizer) -> Sam3VideoConfig:
    """SAM3's video model: the tiny detector above plus a tiny SAM2-style tracker on its ViT."""
    detector = _build_config(tokenizer, TRACKER_HIDDEN)
    grid = IMAGE_SIZE // PATCH_SIZE
    tracker = Sam3TrackerVideoConfig(
        vision_config=detector.vision_config.to_dict(),
        prompt_encoder_config={
            "hidden_size": TRACKER_HIDDEN,
            "image_size": IMAGE_SIZE,
            "patch_size": PATCH_SIZE,
        },
        mask_decoder_config={
            "hidden_size": TRACKER_HIDDEN,
            "mlp_dim": 64,
            "num_attention_heads": 2,
            "iou_head_hidden_dim": 32,
        },
        memory_attention_hidden_size=TRACKER_HIDDEN,
        memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[grid, grid],
        memory_encoder_hidden_size=TRACKER_HIDDEN,
        memory_encoder_output_channels=64,
        mask_downsampler_embed_dim=TRACKER_HIDDEN,
        memory_fuser_embed_dim=TRACKER_HIDDEN,
        memory_fuser_intermediate_dim=64,
        image_size=IMAGE_SIZE,
    )
    # The tracker's low-resolution masks are 4x the patch grid, as in the real model (288 = 4 x 72).
    return Sam3VideoConfig(
        detector_config=detector, tracker_config=tracker, low_res_mask_size=grid * 4
    )


def save_tiny_sam3_video(directory: Path) -> Path:
    """Save a tiny random Sam3VideoModel (detector + tracker) and its processor into `directory`.

    Like facebook/sam3, the directory also loads as the image model (``Sam3Model``).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer()
    torch.manual_seed(0)
    Sam3VideoModel(_build_video_config(tokenizer)).eval().save_pretrained(directory)
    size = {"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    image_processor = Sam3ImageProcessor(
        size=size, mask_size={"height": IMAGE_SIZE // 4, "width": IMAGE_SIZE // 4}
    )
    Sam3VideoProcessor(
        image_processor=image_processor,
        video_processor=Sam2VideoVideoProcessor(size=size),
        tokenizer=tokenizer,
    ).save_pretrained(directory)
    return directory


def save_tiny_sam3_lite_text(directory: Path) -> Path:
    """Save a tiny random Sam3LiteTextModel (EfficientSAM3's SAM3-LiteText) and its processor.

    The same detector as the tiny SAM3, with the MobileCLIP-style text encoder (RepMixer
    blocks first and last, a transformer layer between).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer()
    sam3 = _build_config(tokenizer)
    text = Sam3LiteTextTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        projection_dim=32,
        num_hidden_layers=3,
        num_attention_heads=2,
        max_position_embeddings=TEXT_MAX_LEN,
        repmixer_kernel_size=3,
    )
    config = Sam3LiteTextConfig(
        vision_config=sam3.vision_config,
        text_config=text,
        geometry_encoder_config=sam3.geometry_encoder_config.to_dict(),
        detr_encoder_config=sam3.detr_encoder_config.to_dict(),
        detr_decoder_config=sam3.detr_decoder_config.to_dict(),
        mask_decoder_config=sam3.mask_decoder_config.to_dict(),
    )
    torch.manual_seed(0)
    Sam3LiteTextModel(config).eval().save_pretrained(directory)
    image_processor = Sam3ImageProcessor(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        mask_size={"height": IMAGE_SIZE // 4, "width": IMAGE_SIZE // 4},
    )
    Sam3Processor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(directory)
    return directory
