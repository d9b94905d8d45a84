"""Train a tiny face-embedding network for one epoch on a maskforge run's output (CPU is fine).

    python examples/train_tiny.py demo-out [--epochs 1] [--batch-size 32] [--workers 2] [--limit N]

It reads the shards with maskforge.torch.ShardIterableDataset (split "train" when the run has
splits), trains a small CNN with a softmax classifier over the identity labels, and prints the loss
per epoch and the images/s. This is the shape of real training code, not a good model.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from maskforge.torch import ShardIterableDataset


class TinyEmbedder(nn.Module):
    """4 conv blocks -> global pooling -> a 64-d L2-normalised embedding."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__()
        chans = [3, 16, 32, 64, 64]
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(chans):
            layers += [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(chans[-1], dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.head(self.features(x)), dim=1)


def resize(size: int):  # noqa: ANN201
    import numpy as np

    def transform(image):  # noqa: ANN001, ANN202 - PIL image
        arr = np.asarray(image.resize((size, size)), dtype=np.float32) / 255.0
        return torch.from_numpy(arr).permute(2, 0, 1).sub_(0.5).div_(0.5)

    return transform


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="output folder of `maskforge run`")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--limit", type=int, default=None, help="stop each epoch after this many batches")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-labels", type=Path, default=None, help="write the label mapping (CSV) here")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    has_splits = bool(json.loads((args.out / "manifest.json").read_text())["recipe"].get("split"))
    # labels="split": the train identities numbered 0..K'-1 (no dead classes in the head)
    data = ShardIterableDataset(args.out, split="train" if has_splits else None, transform=resize(args.size),
                                shuffle=True, seed=args.seed, labels="split" if has_splits else "global")
    if args.save_labels:
        data.write_labels(args.save_labels)  # identity,label,global_label: keep it with the model
    # persistent workers keep their state between epochs; set_epoch still reaches them
    loader = DataLoader(data, batch_size=args.batch_size, num_workers=args.workers,
                        persistent_workers=args.workers > 0)
    model = TinyEmbedder()
    classifier = nn.Linear(64, data.num_classes, bias=False)  # one output per train identity
    opt = torch.optim.SGD(list(model.parameters()) + list(classifier.parameters()), lr=0.1, momentum=0.9)
    per_epoch = len(loader) if args.limit is None else min(args.limit, len(loader))  # len(): rows per epoch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, args.epochs * per_epoch))
    scale = 16.0  # cosine-softmax temperature
    history = []
    for epoch in range(args.epochs):
        data.set_epoch(epoch)
        seen, total_loss, batches, t0 = 0, 0.0, 0, time.perf_counter()
        for images, target in itertools.islice(loader, args.limit):
            emb = model(images)
            logits = scale * emb @ nn.functional.normalize(classifier.weight, dim=1).T
            loss = nn.functional.cross_entropy(logits, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            seen += len(images)
            total_loss += float(loss.detach()) * len(images)
            batches += 1
        rate = seen / (time.perf_counter() - t0)
        mean = total_loss / max(seen, 1)
        history.append({"epoch": epoch, "images": seen, "loss": mean, "images_per_s": rate})
        print(f"epoch {epoch}: {seen} images, loss {mean:.3f}, {rate:.1f} images/s")
    return {"history": history}


if __name__ == "__main__":
    main()
