"""Image → tensor pipelines: the evaluation transform the app shares with training, and the training augmentations."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Photometric augmentation, identical for every class (see train_transform).
PHOTOMETRIC_JITTER = (0.3, 0.3, 0.3, 0.03)  # brightness, contrast, saturation, hue
GRAYSCALE_P = 0.1
ERASING_P = 0.15


def _to_float_normalized(mean, std) -> list:
    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))]


# Every pipeline starts with ToImage, so PIL images, uint8 HxWx3 arrays and uint8 CHW tensors all go
# through the same tensor ops and give the same result (v2 passes plain ndarrays through untouched
# otherwise).


def eval_transform(input_size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> v2.Compose:
    """Resize the shorter side to input_size, centre-crop a square, scale to [0, 1] and normalise."""
    return v2.Compose([*_eval_geometry(input_size), *_to_float_normalized(mean, std)])


def _eval_geometry(input_size: int) -> list:
    return [v2.ToImage(), v2.Resize(input_size, antialias=True), v2.CenterCrop(input_size)]


def train_transform(input_size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD, strong: bool = False) -> v2.Compose:
    """Training augmentation; strong=True (used for the minority class) varies framing and pose more.

    Colour jitter, grayscale and erasing are the same for every class on purpose. A look that only one
    class gets becomes a cue for that class: when the minority alone got grayscale, stronger jitter and
    erasing, the gender model trained so called 62 % of the men in grayscale G1 photos and 81 % of those
    with a grey square over the face "female" (`benchmarks.run --stress`). Framing and pose (crop scale,
    rotation) still differ, and they are a weaker cue of the same kind: the app's face crop re-frames every
    photo, but a photo used as it is (no face found, or "already face crops") keeps its zoom: on a centre
    crop of 65 % of G1's face crops, a model trained with them kept 71 % male recall, and the default,
    fine-tuned with `minority_augmentation` off (the same augmentation for every class), 78 %.
    """
    steps = [
        v2.ToImage(),
        v2.RandomResizedCrop(
            input_size, scale=(0.6, 1.0) if strong else (0.8, 1.0), ratio=(0.9, 1.1), antialias=True
        ),
        v2.RandomHorizontalFlip(),
        v2.RandomRotation(15 if strong else 10),
        v2.ColorJitter(*PHOTOMETRIC_JITTER),
        v2.RandomGrayscale(p=GRAYSCALE_P),
        *_to_float_normalized(mean, std),
        # After normalisation, so the erased patch (value 0) is filled with the mean colour.
        v2.RandomErasing(p=ERASING_P),
    ]
    return v2.Compose(steps)


def _check_image(image, index: int):
    if isinstance(image, Image.Image):
        return image if image.mode == "RGB" else image.convert("RGB")
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f"image {index} must be a uint8 HxWx3 RGB array, got {image.dtype} with shape {image.shape}"
            )
        return image
    raise TypeError(f"image {index} must be a PIL image or a numpy array, got {type(image).__name__}")


def _resized(image, input_size: int) -> torch.Tensor:
    """`_eval_geometry` on one checked image, as a uint8 CHW tensor: the kernels its transforms call,
    without v2's per-call dispatch (0.19 instead of 0.26 ms on a 250 px crop, most of it Python that
    holds the GIL the app's GUI thread needs)."""
    tensor = F.to_image(image)
    return F.center_crop(F.resize(tensor, [input_size], antialias=True), [input_size])


def model_input(image, input_size: int) -> np.ndarray:
    """The evaluation geometry alone: `image` (PIL RGB or uint8 HxWx3) resized and centre-cropped to
    `input_size`, as a uint8 HxWx3 array. `batch_tensor` gives the same numbers for it as for `image`
    (its resize and crop have nothing left to do), so the app resizes on its preparation threads and
    leaves only stacking and normalising to the model's thread."""
    return _resized(_check_image(image, 0), input_size).permute(1, 2, 0).numpy()


def batch_tensor(
    images: Sequence, input_size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD
) -> torch.Tensor:
    """List of PIL RGB images or uint8 HxWx3 arrays → normalised float32 NCHW tensor (eval transform).

    The same numbers as `eval_transform` per image, but scaling and normalising run once on the stacked
    uint8 batch: a third less CPU per image than per-image tensor ops (what the app's tagging pays).
    """
    if len(images) == 0:
        return torch.empty(0, 3, input_size, input_size)
    batch = torch.stack([_resized(_check_image(img, i), input_size) for i, img in enumerate(images)])
    return v2.Compose(_to_float_normalized(mean, std))(batch)
