"""The BlazeFace front-camera network (Bazarevsky et al. 2019) in plain torch, shaped by its weights.

Written from the state dict's key names and shapes and the paper, not from any other implementation:
a 5x5 stride-2 stem conv, then "single" BlazeBlocks (a 3x3 depthwise conv and a 1x1 conv, no activation
between them, a residual that max-pools and zero-pads channels where the block shrinks the map or widens
it, ReLU after the sum). `backbone1` ends on a 16x16 map (88 channels), `backbone2` on an 8x8 one (96);
each map feeds a 1x1 classifier (one logit per anchor) and a 1x1 regressor (16 numbers per anchor: box
centre and size, then 6 keypoints, in input pixels relative to the anchor).

The weights were converted from TFLite, whose stride-2 convs pad "SAME": the extra pixel goes to the
bottom and right, never the top and left. Padding symmetrically instead shifts every feature by half a
pixel and costs detections, so the padding here is TF's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SIDE = 128
REGRESSION_VALUES = 16  # box (cx, cy, w, h) + 6 keypoints (x, y)

# (in, out) channels of backbone1.2 ... backbone1.12 and backbone2.0 ... backbone2.4, read off the
# pointwise convs' shapes. Which blocks have stride 2 is not in the weights: 128 -> 64 (stem) -> 16 needs
# two in backbone1 and 16 -> 8 one in backbone2. All 275 placements were tried on 80 LFW frames, clean and
# at severity 4 of noisy, blurred, lowlight and resized: this one (the 28->32, 42->48 and 88->96 blocks)
# was the only one to find all 79 readable faces under every condition with the steadiest landmarks (the
# eyes, nose and mouth of those aligned frames spread 2.0-2.2 px at 128 px; the runner-up 2.2-2.8 px,
# most others 3-10 px). With symmetric instead of TF padding the landmarks move 9 px down and right.
_BACKBONE1 = ((24, 24), (24, 28), (28, 32), (32, 36), (36, 42), (42, 48), (48, 56), (56, 64), (64, 72),
              (72, 80), (80, 88))
_BACKBONE2 = ((88, 96), (96, 96), (96, 96), (96, 96), (96, 96))
STRIDES1 = (1, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1)
STRIDES2 = (2, 1, 1, 1, 1)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF "SAME" padding (before, after) for one axis: the output is ceil(size / stride), odd extra after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    top, bottom = same_padding(x.shape[-2], kernel, stride)
    left, right = same_padding(x.shape[-1], kernel, stride)
    return F.pad(x, (left, right, top, bottom))


class BlazeBlock(nn.Module):
    """Depthwise 3x3 + pointwise 1x1 with a residual; `convs.0` / `convs.1` match the weights' keys."""

    def __init__(self, channels_in: int, channels_out: int, stride: int = 1):
        super().__init__()
        self.channels_in = channels_in
        self.stride = stride
        # A stride-1 3x3 conv pads 1 on each side under TF's rule too, so the conv pads it (no copy).
        self.convs = nn.Sequential(
            nn.Conv2d(channels_in, channels_in, 3, stride=stride, padding=1 if stride == 1 else 0, groups=channels_in),
            nn.Conv2d(channels_in, channels_out, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            out, skip = self.convs(x), x
        else:
            out, skip = self.convs(_pad_same(x, 3, self.stride)), F.max_pool2d(x, self.stride, ceil_mode=True)
        # In place where no gradient needs `out` (the detector always): the same numbers, 10 % less CPU.
        # A wider block's extra channels have no input to skip: adding to the first channels only is the
        # paper's zero-padding of the residual without building the padded tensor.
        out = out.clone() if torch.is_grad_enabled() else out
        out[:, : self.channels_in] += skip
        return out.relu_()


class BlazeFaceNet(nn.Module):
    """Input N x 3 x S x S RGB in [-1, 1] (S = 128 for the trained framing; any multiple of 16 runs).

    Returns (scores, regressions): N x A logits and N x A x 16, A = (S/8)^2 * 2 + (S/16)^2 * 6 anchors in
    the order of `training.detectors.ssd.make_anchors` (896 at 128 px): row by row, anchor within cell.
    """

    def __init__(self):
        super().__init__()
        blocks1 = [BlazeBlock(i, o, s) for (i, o), s in zip(_BACKBONE1, STRIDES1)]
        self.backbone1 = nn.Sequential(_StemConv(), nn.ReLU(), *blocks1)
        self.backbone2 = nn.Sequential(*[BlazeBlock(i, o, s) for (i, o), s in zip(_BACKBONE2, STRIDES2)])
        self.classifier_8 = nn.Conv2d(88, 2, 1)
        self.classifier_16 = nn.Conv2d(96, 6, 1)
        self.regressor_8 = nn.Conv2d(88, 2 * REGRESSION_VALUES, 1)
        self.regressor_16 = nn.Conv2d(96, 6 * REGRESSION_VALUES, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fine = self.backbone1(x)
        coarse = self.backbone2(fine)
        scores = torch.cat([_per_anchor(self.classifier_8(fine), 1), _per_anchor(self.classifier_16(coarse), 1)], 1)
        boxes = torch.cat([_per_anchor(self.regressor_8(fine), REGRESSION_VALUES),
                           _per_anchor(self.regressor_16(coarse), REGRESSION_VALUES)], 1)
        return scores.squeeze(-1), boxes


class _StemConv(nn.Conv2d):
    """The stem as a bare Conv2d (so its weights load as `backbone1.0.*`) that pads like TF."""

    def __init__(self):
        super().__init__(3, 24, 5, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(_pad_same(x, 5, 2))


def _per_anchor(head: torch.Tensor, values: int) -> torch.Tensor:
    """N x (A*values) x H x W -> N x (H*W*A) x values: cells row by row, the anchors of a cell together."""
    n = head.shape[0]
    return head.permute(0, 2, 3, 1).reshape(n, -1, values)


def load_network(path, strides: tuple[tuple[int, ...], tuple[int, ...]] | None = None) -> BlazeFaceNet:
    """The network with the weights at `path` (a plain state dict, read with weights_only=True), in eval mode.

    `strides` overrides (STRIDES1, STRIDES2); it exists only to search for them (see STRIDES1)."""
    net = BlazeFaceNet()
    if strides is not None:
        for block, stride in zip(list(net.backbone1)[2:] + list(net.backbone2), strides[0] + strides[1]):
            block.stride = stride
            block.convs[0].stride = (stride, stride)
            block.convs[0].padding = (1, 1) if stride == 1 else (0, 0)
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    # Channels-last lets oneDNN run the depthwise convs: about 25 % less CPU time a pass than NCHW.
    return net.to(memory_format=torch.channels_last).eval()
