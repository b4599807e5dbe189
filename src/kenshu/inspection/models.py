"""The three inspection programs as torch modules that score images, and the exported wrapper.

Every scorer maps a float tensor (N, 1, S, S) in [0, 1] to one score per
image, higher meaning more likely 不良品:

- :class:`FeatureLinearScorer`: hand-made features and a logistic regression
  fitted by scikit-learn, its weights copied in (score = probability).
- :class:`SmallCNN`: a small convolutional network trained in torch
  (score = probability).
- :class:`PatchNearestNeighbourScorer`: 異常検知 from good parts only; every
  patch is compared with the nearest patch of the good training images and
  the image score is the largest such distance.

:class:`InspectionModel` adds the threshold and input handling, and is what
``model.pt`` holds as TorchScript.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kenshu.inspection.features import ImageFeatures, PatchFeatures

KIND_FEATURES = "features"
KIND_CNN = "cnn"
KIND_ANOMALY = "anomaly"
KINDS = (KIND_FEATURES, KIND_CNN, KIND_ANOMALY)


class FeatureLinearScorer(nn.Module):
    """Image features, standardisation and a linear classifier, in one module.

    Parameters
    ----------
    image_size : int
        Side of the square input images.
    mean, scale : Tensor of shape (n_features,)
        Standardisation from the training set (``StandardScaler``).
    coefficients : Tensor of shape (n_features,)
    intercept : float
        The fitted ``LogisticRegression`` weights.
    """

    def __init__(self, image_size: int, mean: torch.Tensor, scale: torch.Tensor, coefficients: torch.Tensor, intercept: float) -> None:
        super().__init__()
        self.features = ImageFeatures(image_size)
        self.register_buffer("mean", mean.float())
        self.register_buffer("scale", scale.float())
        self.register_buffer("coefficients", coefficients.float())
        self.intercept = float(intercept)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        standardised = (self.features(x) - self.mean) / self.scale
        return torch.sigmoid(standardised @ self.coefficients + self.intercept)


def _block(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """A four-stage convolutional network with global max and mean pooling.

    Each image is standardised to zero mean and unit variance first, so a
    brighter or darker photo gives the same input. Global max pooling lets a
    defect of a few pixels decide the score wherever it is.

    Parameters
    ----------
    width : int, default=16
        Channels of the first stage; doubled in the second and third stages.
    dropout : float, default=0.2
        Dropout before the last layer, while training.
    """

    def __init__(self, *, width: int = 16, dropout: float = 0.2) -> None:
        super().__init__()
        self.stages = nn.Sequential(
            _block(1, width),
            nn.MaxPool2d(2),
            _block(width, 2 * width),
            nn.MaxPool2d(2),
            _block(2 * width, 4 * width),
            nn.MaxPool2d(2),
            _block(4 * width, 4 * width),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(8 * width, 1)

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last stage's feature maps (N, C, S/8, S/8) for standardised *x*."""
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True)
        return self.stages((x - mean) / (std + 1e-3))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logit of 不良品 per image (used by the training loss)."""
        maps = self.feature_maps(x)
        pooled = torch.cat([maps.amax(dim=(2, 3)), maps.mean(dim=(2, 3))], dim=1)
        return self.head(self.dropout(pooled)).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


class PatchNearestNeighbourScorer(nn.Module):
    """Distance of each patch to the nearest good training patch; the image score is the largest.

    Parameters
    ----------
    image_size : int
        Side of the square input images.
    mean, scale : Tensor of shape (n_features,)
        Standardisation of patch features, from the good training patches.
    memory : Tensor of shape (n_memory, n_features)
        Standardised features of the good training patches kept (a coreset).
    patch_size : int, optional
        See :class:`PatchFeatures`.
    """

    def __init__(
        self,
        image_size: int,
        mean: torch.Tensor,
        scale: torch.Tensor,
        memory: torch.Tensor,
        *,
        patch_size: int | None = None,
    ) -> None:
        super().__init__()
        self.features = PatchFeatures(image_size, patch_size=patch_size)
        self.register_buffer("mean", mean.float())
        self.register_buffer("scale", scale.float())
        self.register_buffer("memory", memory.float())

    def anomaly_map(self, x: torch.Tensor) -> torch.Tensor:
        """Return the nearest-neighbour distance of every patch, (N, h, w)."""
        maps = self.features(x)
        n = maps.shape[0]
        height = maps.shape[2]
        width = maps.shape[3]
        patches = maps.permute(0, 2, 3, 1).reshape(n, height * width, -1)
        patches = (patches - self.mean) / self.scale
        distances: list[torch.Tensor] = []

        # One image at a time keeps the distance matrix at (patches x memory).
        for index in range(n):
            nearest = torch.cdist(patches[index], self.memory).amin(dim=1)
            distances.append(nearest.view(height, width))
        return torch.stack(distances)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.anomaly_map(x).amax(dim=(1, 2))


class InspectionModel(nn.Module):
    """A scorer with its threshold, as exported to ``model.pt``.

    ``forward`` takes a batch of gray images as float (N, 1, S, S) or
    (N, S, S) in [0, 1], or uint8 in 0..255, and returns one score per
    image. Images of another size are resized by bilinear interpolation, but
    the best match with training is to resize them beforehand as the JSON
    beside the model describes. ``verdicts`` returns True for 不良品 (score
    at or above ``threshold``).
    """

    def __init__(self, scorer: nn.Module, *, threshold: float, image_size: int, kind: str) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.scorer = scorer
        self.threshold = float(threshold)
        self.image_size = int(image_size)
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = x.to(torch.float32) / 255.0
        else:
            x = x.to(torch.float32)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=[self.image_size, self.image_size], mode="bilinear", align_corners=False, antialias=True)
        return self.scorer(x)

    @torch.jit.export
    def verdicts(self, x: torch.Tensor) -> torch.Tensor:
        """Return True per image judged 不良品."""
        return self.forward(x) >= self.threshold
