"""Trains the digits classifier on OpenCV's handwritten digits sample and exports it with its data files.

The model is a small CNN (convolutions with BatchNorm and ReLU, a residual Add, max pooling, then Gemm
layers), made to measure what INT8 costs in accuracy on real labelled data. Everything is seeded and runs on
the CPU with a fixed thread count, so the same seed, thread count and machine write byte-identical files
(another thread count or CPU may round differently and give other bytes).

Writes into --out-dir (default: this folder):
  digits.onnx                  opset 13; input `input` float32 [N, 1, 20, 20]; output `logits` float32 [N, 10]
  test_images.npy              float32 [1000, 1, 20, 20], preprocessed as the model expects
  test_labels.npy              int64 [1000]
  calibration/batch_NNN.npy    float32 [32, 1, 20, 20] each, from the training split only

Preprocessing: pixel / 255 (values in [0, 1], background 0), one channel, no resizing or centring.

usage: /usr/bin/python3 models/digits/train_digits.py [--seed 0] [--data-dir build/data] [--out-dir DIR]
"""
import argparse
import hashlib
import os
import subprocess
import sys
import time

# Threads that wait for each other sleep instead of spinning: on a CPU shared with other work, spinning
# OpenMP workers slow training several times over. Must be set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

# digits.png: 50 rows of 100 digits, each 20x20 pixels; class k fills rows 5k .. 5k+4.
CELL = 20
GRID_ROWS, GRID_COLS = 50, 100
ROWS_PER_CLASS = 5
NUM_CLASSES = 10
TEST_PER_CLASS = 100  # 100 of each class's 500 go to the test split: 4000 train / 1000 test.
CALIBRATION_BATCHES, CALIBRATION_BATCH_SIZE = 8, 32
MAX_SHIFT = 2  # training augmentation: random translation by up to this many pixels each way


def load_digits(png_path):
    """Returns (images uint8 [5000, 20, 20], labels int64 [5000]) in grid order (row by row)."""
    grid = np.asarray(Image.open(png_path).convert("L"))
    if grid.shape != (GRID_ROWS * CELL, GRID_COLS * CELL):
        sys.exit(f"train_digits: {png_path} is {grid.shape[1]}x{grid.shape[0]} pixels, expected "
                 f"{GRID_COLS * CELL}x{GRID_ROWS * CELL}")
    images = grid.reshape(GRID_ROWS, CELL, GRID_COLS, CELL).transpose(0, 2, 1, 3).reshape(-1, CELL, CELL)
    labels = np.repeat(np.arange(GRID_ROWS) // ROWS_PER_CLASS, GRID_COLS).astype(np.int64)
    return images, labels


def preprocess(images_u8):
    """uint8 [N, 20, 20] -> float32 [N, 1, 20, 20] in [0, 1]: the model's input convention."""
    return (images_u8.astype(np.float32) / np.float32(255.0))[:, None, :, :]


def stratified_split(labels, seed):
    """Per class, a seeded permutation: the first TEST_PER_CLASS indices are test, the rest train.
    Each split is then shuffled (seeded) so that batches mix classes."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for k in range(NUM_CLASSES):
        idx = rng.permutation(np.flatnonzero(labels == k))
        test.append(idx[:TEST_PER_CLASS])
        train.append(idx[TEST_PER_CLASS:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


class ConvBnRelu(nn.Module):
    """relu(bn(conv3x3(x))), same spatial size."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class ResidualBlock(nn.Module):
    """relu(x + bn(conv3x3(relu(bn(conv3x3(x))))))."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = ConvBnRelu(channels, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(x + self.bn2(self.conv2(self.conv1(x))))


class DigitsNet(nn.Module):
    """[N, 1, 20, 20] -> [N, 10] logits: five 3x3 convolutions (two in a residual block), two 2x2 max pools,
    two Gemm layers. Module names become the ONNX node names (/conv1/conv/Conv, /block/Add, /fc1/Gemm)."""

    def __init__(self):
        super().__init__()
        self.conv1 = ConvBnRelu(1, 16)  # 16 x 20 x 20
        self.pool1 = nn.MaxPool2d(2)  # 16 x 10 x 10
        self.conv2 = ConvBnRelu(16, 32)  # 32 x 10 x 10
        self.block = ResidualBlock(32)  # 32 x 10 x 10
        self.pool2 = nn.MaxPool2d(2)  # 32 x 5 x 5
        self.conv3 = ConvBnRelu(32, 32)  # 32 x 5 x 5
        self.flatten = nn.Flatten()  # 800
        self.fc1 = nn.Linear(32 * 5 * 5, 64)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(0.2)  # training only; absent from the export
        self.fc2 = nn.Linear(64, NUM_CLASSES)

    def forward(self, x):
        x = self.conv3(self.pool2(self.block(self.conv2(self.pool1(self.conv1(x))))))
        return self.fc2(self.dropout(self.relu(self.fc1(self.flatten(x)))))


def random_shift(x, generator):
    """Translates each image by a random integer offset in [-MAX_SHIFT, MAX_SHIFT]^2, filling with 0."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (MAX_SHIFT,) * 4)
    offsets = torch.randint(0, 2 * MAX_SHIFT + 1, (n, 2), generator=generator)
    return torch.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offsets.tolist())])


def accuracy(model, x, y, batch_size=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            correct += (model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
    return correct / len(x)


def train(model, x, y, epochs, batch_size, seed):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps_per_epoch = (len(x) + batch_size - 1) // batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, epochs=epochs,
                                                   steps_per_epoch=steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model(random_shift(x[idx], generator)), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1:2d}/{epochs}: loss {total / len(x):.4f}", flush=True)


def export_onnx(model, path):
    model.eval()
    # PRESERVE on a model in eval mode keeps BatchNormalization nodes (inference form) instead of folding
    # them into the convolutions, so that importers' own folding is exercised. Nothing else would fold.
    torch.onnx.export(model, torch.zeros(1, 1, CELL, CELL), path, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    onnx.checker.check_model(onnx.load(path))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="seeds the split, initialisation and training")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="torch threads; results depend on it")
    parser.add_argument("--data-dir", default=os.path.join(REPO_ROOT, "build", "data"),
                        help="cache folder for digits.png, filled by scripts/fetch_digits.sh")
    parser.add_argument("--out-dir", default=HERE)
    parser.add_argument("--min-accuracy", type=float, default=0.97,
                        help="fail (exit 1, writing nothing) when the PyTorch test accuracy is below this")
    args = parser.parse_args()

    fetch = subprocess.run([os.path.join(REPO_ROOT, "scripts", "fetch_digits.sh"), args.data_dir],
                           stdout=subprocess.PIPE, text=True)
    if fetch.returncode != 0:
        sys.exit("train_digits: scripts/fetch_digits.sh failed; see its message above")
    png_path = fetch.stdout.strip().splitlines()[-1]

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)

    images, labels = load_digits(png_path)
    train_idx, test_idx = stratified_split(labels, args.seed)
    x_train, y_train = torch.from_numpy(preprocess(images[train_idx])), torch.from_numpy(labels[train_idx])
    x_test, y_test = torch.from_numpy(preprocess(images[test_idx])), torch.from_numpy(labels[test_idx])

    model = DigitsNet()
    start = time.perf_counter()
    train(model, x_train, y_train, args.epochs, args.batch_size, args.seed)
    seconds = time.perf_counter() - start
    train_acc, test_acc = accuracy(model, x_train, y_train), accuracy(model, x_test, y_test)
    print(f"trained in {seconds:.1f} s on {args.threads} threads; top-1 train {train_acc:.4f}, "
          f"test {test_acc:.4f} ({round(test_acc * len(x_test))}/{len(x_test)})")
    # Checked before writing, so that a failed run leaves the files of the last good one in place.
    if test_acc < args.min_accuracy:
        sys.exit(f"train_digits: test accuracy {test_acc:.4f} is below --min-accuracy {args.min_accuracy}")

    os.makedirs(args.out_dir, exist_ok=True)
    onnx_path = os.path.join(args.out_dir, "digits.onnx")
    export_onnx(model, onnx_path)
    np.save(os.path.join(args.out_dir, "test_images.npy"), x_test.numpy())
    np.save(os.path.join(args.out_dir, "test_labels.npy"), y_test.numpy())
    # Calibration draws from the training split only, the first images of its (already seeded) shuffle.
    calib_dir = os.path.join(args.out_dir, "calibration")
    os.makedirs(calib_dir, exist_ok=True)
    for name in os.listdir(calib_dir):
        if name.endswith(".npy"):
            os.remove(os.path.join(calib_dir, name))
    for b in range(CALIBRATION_BATCHES):
        batch = x_train[b * CALIBRATION_BATCH_SIZE:(b + 1) * CALIBRATION_BATCH_SIZE]
        np.save(os.path.join(calib_dir, f"batch_{b:03d}.npy"), batch.numpy())
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes, sha256 {sha256(onnx_path)}), test set and "
          f"{CALIBRATION_BATCHES} calibration batches of {CALIBRATION_BATCH_SIZE}")


if __name__ == "__main__":
    main()
