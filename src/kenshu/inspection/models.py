"""The three inspection programs as torch modules that score images, and the exported wrapper.

Every scorer maps a float tensor (N, 1, S, S) in [0, 1] to one score per
image, higher meaning more likely 不良品:

- :class:`FeatureLinearScorer`: hand-made features (with, for parts that
  can be aligned, their deviations from the good parts) and a logistic
  regression fitted by scikit-learn, its weights copied in (score = probability).
- :class:`SmallCNN`: a small convolutional network trained in torch
  (score = probability).
- :class:`MeanLogitEnsemble`: the two above combined, the mean of their
  logits (score = probability).
- 異常検知 from good parts only: :class:`AlignedDeviationScorer` (aligned
  parts compared pixel by pixel with the good ones),
  :class:`FeatureGaussianScorer` (Mahalanobis distance of the image features
  from those of the good images) and :class:`PatchNearestNeighbourScorer`
  (every patch compared with the nearest good patch).

:class:`InspectionModel` adds the threshold and input handling, and is what
``model.pt`` holds as TorchScript.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kenshu.inspection.features import N_REFERENCE_CHANNELS, GoodReference, ImageFeatures, PartAligner, PatchFeatures

KIND_FEATURES = "features"
KIND_CNN = "cnn"
KIND_ANOMALY = "anomaly"
KIND_ENSEMBLE = "ensemble"
KINDS = (KIND_FEATURES, KIND_CNN, KIND_ANOMALY, KIND_ENSEMBLE)


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
    reference : GoodReference, optional
        When given, the summary of the image's deviations from the good parts
        (:meth:`GoodReference.deviation_features`) follows the image features.
    """

    def __init__(
        self,
        image_size: int,
        mean: torch.Tensor,
        scale: torch.Tensor,
        coefficients: torch.Tensor,
        intercept: float,
        *,
        reference: GoodReference | None = None,
    ) -> None:
        super().__init__()
        self.features = ImageFeatures(image_size)
        self.register_buffer("mean", mean.float())
        self.register_buffer("scale", scale.float())
        self.register_buffer("coefficients", coefficients.float())
        self.intercept = float(intercept)
        self.uses_reference = reference is not None
        # TorchScript needs a module here either way; an unused one is a one-pixel placeholder.
        self.reference = reference if reference is not None else _placeholder_reference()

    def describe(self, x: torch.Tensor) -> torch.Tensor:
        """Return the feature vector of every image, before standardisation."""
        features = self.features(x)
        if self.uses_reference:
            features = torch.cat([features, self.reference.deviation_features(self.reference(x))], dim=1)
        return features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        standardised = (self.describe(x) - self.mean) / self.scale
        return torch.sigmoid(standardised @ self.coefficients + self.intercept)


def _placeholder_reference() -> GoodReference:
    return GoodReference(8, PartAligner(), torch.zeros(N_REFERENCE_CHANNELS, 1, 1), torch.ones(N_REFERENCE_CHANNELS, 1, 1))


def _block(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """A five-layer convolutional network with global max and mean pooling.

    Each image is standardised to zero mean and unit variance first, so a
    brighter or darker photo gives the same input. Global max pooling lets a
    defect of a few pixels decide the score wherever it is. One convolution
    per stage keeps it small: at width 8 a 128 px photo takes about 15
    million multiply-adds with the photo as input (counted from the layer
    sizes), about 21 million with the six aligned channels.

    Parameters
    ----------
    width : int, default=8
        Channels of the first stage; doubled in the second and again in the
        third and later stages.
    dropout : float, default=0.2
        Dropout before the last layer, while training.
    reference : GoodReference, optional
        When given, the network receives the aligned part and its five z-score
        maps against the good parts (clipped to ±8) instead of the photo.
    """

    def __init__(self, *, width: int = 8, dropout: float = 0.2, reference: GoodReference | None = None) -> None:
        super().__init__()
        self.uses_reference = reference is not None
        self.reference = reference if reference is not None else _placeholder_reference()
        channels_in = 1 + N_REFERENCE_CHANNELS if self.uses_reference else 1
        self.stages = nn.Sequential(
            _block(channels_in, width),
            nn.MaxPool2d(2),
            _block(width, 2 * width),
            nn.MaxPool2d(2),
            _block(2 * width, 4 * width),
            nn.MaxPool2d(2),
            _block(4 * width, 4 * width),
            _block(4 * width, 4 * width),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(8 * width, 1)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Return what the convolutions see: the standardised photo, or the aligned part and its z-scores."""
        if self.uses_reference:
            channels = self.reference.channels(x)
            z = (channels - self.reference.mean) / self.reference.std
            return torch.cat([channels[:, 0:1], torch.clamp(z, -8.0, 8.0) / 4.0], dim=1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True)
        return (x - mean) / (std + 1e-3)

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last stage's feature maps (N, C, S/8, S/8) for images *x*."""
        return self.stages(self.inputs(x))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logit of 不良品 per image (used by the training loss)."""
        maps = self.feature_maps(x)
        pooled = torch.cat([maps.amax(dim=(2, 3)), maps.mean(dim=(2, 3))], dim=1)
        return self.head(self.dropout(pooled)).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


class MeanLogitEnsemble(nn.Module):
    """Several probability scorers combined: the sigmoid of the mean of their logits.

    Averaging logits rather than probabilities keeps a confident verdict of
    one member from being diluted to the middle by an unsure other.

    Parameters
    ----------
    members : list of nn.Module
        Scorers that return a probability of 不良品 per image.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for member in self.members:
            probability = torch.clamp(member(x), 1e-6, 1.0 - 1e-6)
            total = total + torch.log(probability) - torch.log1p(-probability)
        return torch.sigmoid(total / len(self.members))


class AlignedDeviationScorer(nn.Module):
    """異常検知 for parts that can be aligned: the largest local deviation from the good parts.

    Every pixel's z-scores (:class:`GoodReference`) are made absolute, the
    largest of the five channels is kept and averaged over 3 x 3 pixels, and
    the image score is the largest value of that map.

    Parameters
    ----------
    reference : GoodReference
        Fitted on the good training images.
    """

    def __init__(self, reference: GoodReference) -> None:
        super().__init__()
        self.reference = reference

    def anomaly_map(self, x: torch.Tensor) -> torch.Tensor:
        """Return the smoothed largest absolute z-score of every pixel, (N, S, S), in the aligned pose."""
        deviation = self.reference(x).abs().amax(dim=1, keepdim=True)
        return F.avg_pool2d(deviation, 3, stride=1, padding=1, count_include_pad=False).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.anomaly_map(x).amax(dim=(1, 2))


class FeatureGaussianScorer(nn.Module):
    """異常検知 for a surface that fills the frame: how far the image features lie from the good images'.

    The score is the Mahalanobis distance of the standardised
    :class:`ImageFeatures` vector from the mean of the good training images,
    with a shrunk covariance (Ledoit-Wolf) so that it stays invertible with
    fewer images than features.

    Parameters
    ----------
    image_size : int
    mean, scale : Tensor of shape (n_features,)
        Standardisation from the good training images.
    location : Tensor of shape (n_features,)
    precision : Tensor of shape (n_features, n_features)
        Mean and inverse covariance of the standardised good features.
    """

    def __init__(self, image_size: int, mean: torch.Tensor, scale: torch.Tensor, location: torch.Tensor, precision: torch.Tensor) -> None:
        super().__init__()
        self.features = ImageFeatures(image_size)
        self.register_buffer("mean", mean.float())
        self.register_buffer("scale", scale.float())
        self.register_buffer("location", location.float())
        self.register_buffer("precision", precision.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centred = (self.features(x) - self.mean) / self.scale - self.location
        squared = ((centred @ self.precision) * centred).sum(dim=1)
        return torch.sqrt(torch.clamp(squared, min=0.0))


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
