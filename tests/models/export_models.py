#!/usr/bin/python3
"""Export the end-to-end test models for lowp and their reference outputs.

usage: /usr/bin/python3 tests/models/export_models.py OUT_DIR

For every model M and opset N in OPSETS this writes

    OUT_DIR/M_opsetN/model.onnx
    OUT_DIR/M_opsetN/test_data_set_0/{input_0,output_0}.{pb,npy}   (batch 1)
    OUT_DIR/M_opsetN/test_data_set_1/{input_0,output_0}.{pb,npy}   (batch 4)

in the layout of the ONNX backend test data: each .pb is a serialized
onnx.TensorProto whose `name` is the graph input/output name; the .npy files
hold the same arrays for tools that prefer numpy.

All weights are random (torch.manual_seed(0)); nothing is downloaded.  The
reference outputs are computed by PyTorch itself on fixed inputs drawn from
numpy's standard normal with a fixed seed, so they do not depend on the
exporter being right.  Only torch, torchvision, numpy and onnx are needed.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torchvision

MODELS = ("resnet18", "resnet50", "mobilenet_v2", "encoder")
OPSETS = (13, 17)
# (data set index, batch size); test_data_set_0 is batch 1, test_data_set_1 batch 4.
DATA_SETS = ((0, 1), (1, 4))
# Batch size of the example input used for tracing.  Deliberately not 1, so the
# tracer cannot specialise a batch dimension of 1 into the graph (e.g. as a
# Squeeze or a constant Reshape); the exported graph is checked against batch 1
# and 4 data anyway.
TRACE_BATCH = 2

INPUT_NAME = "input"
OUTPUT_NAME = "output"

# Encoder hyper-parameters.
ENC_LAYERS = 4
ENC_D_MODEL = 256
ENC_HEADS = 8
ENC_FF = 1024
ENC_SEQ = 128


class Encoder(nn.Module):
    """A plain post-norm (norm_first=False) transformer encoder stack.

    Built from nn.TransformerEncoder.  In eval mode nn.TransformerEncoderLayer
    takes a fused "fast path" (torch._transformer_encoder_layer_fwd, which has
    no ONNX symbolic) whenever no parameter needs a gradient, so export() runs
    with grad mode on, which keeps the exporter on the plain, decomposed path.
    enable_nested_tensor=False keeps NestedTensor out of the picture too.
    """

    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            d_model=ENC_D_MODEL,
            nhead=ENC_HEADS,
            dim_feedforward=ENC_FF,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=False,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers=ENC_LAYERS, enable_nested_tensor=False)
        # nn.TransformerEncoder deep-copies `layer`, so all layers would start
        # with identical weights (and the exporter would then share one set of
        # initializers between them).  Re-draw each layer's weights.
        for m in self.encoder.modules():
            if isinstance(m, nn.MultiheadAttention):
                m._reset_parameters()  # xavier weights, but zero biases:
                with torch.no_grad():
                    m.in_proj_bias.normal_(0.0, 0.1)
            elif isinstance(m, nn.Linear):
                m.reset_parameters()

    def forward(self, x):
        return self.encoder(x)


def randomise_batchnorm(model: nn.Module) -> None:
    """Give every BatchNorm non-trivial statistics and affine parameters.

    Freshly initialised BatchNorms have mean 0, var 1, weight 1, bias 0, i.e.
    they are (almost) the identity, and a BN-folding bug would go unnoticed.
    """
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)   # U(0.5, 1.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)        # U(0.5, 1.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)


def randomise_layernorm(model: nn.Module) -> None:
    """Same idea for LayerNorm: non-trivial gamma/beta."""
    g = torch.Generator().manual_seed(2)
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def build(name: str) -> tuple:
    """Return (model in eval mode, per-sample input shape)."""
    torch.manual_seed(0)
    if name == "encoder":
        model = Encoder()
        shape = (ENC_SEQ, ENC_D_MODEL)
    else:
        model = getattr(torchvision.models, name)(weights=None)
        shape = (3, 224, 224)
    randomise_batchnorm(model)
    randomise_layernorm(model)
    model.eval()
    return model, shape


def make_input(model_index: int, data_set: int, batch: int, shape: tuple) -> np.ndarray:
    """Fixed standard-normal float32 input; identical for every opset."""
    rng = np.random.default_rng(1000 * model_index + data_set)
    return rng.standard_normal((batch,) + shape, dtype=np.float32)


def export(model: nn.Module, shape: tuple, opset: int, path: str) -> None:
    example = torch.from_numpy(make_input(0, 99, TRACE_BATCH, shape))
    # Grad mode stays on and parameters keep requires_grad=True during export:
    # that is what keeps nn.TransformerEncoderLayer off its fused fast path.
    assert torch.is_grad_enabled()
    with warnings.catch_warnings():
        # The exporter warns about things that are fine here (e.g. constant
        # folding notes, shape-inference notes); keep the output to one line
        # per model.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            path,
            opset_version=opset,
            do_constant_folding=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            # The default (TrainingMode.EVAL) runs an "eval peephole" pass that
            # folds every BatchNorm into the preceding Conv, so the graph would
            # hold no BatchNormalization at all and lowp's own BN handling
            # would go untested.  PRESERVE exports the modules in the mode they
            # are in (eval: BatchNormalization in inference form, dropout
            # dropped) and skips that fusion.
            training=torch.onnx.TrainingMode.PRESERVE,
        )


def save_tensor(array: np.ndarray, name: str, directory: str, stem: str) -> None:
    tensor = onnx.numpy_helper.from_array(array, name)
    with open(os.path.join(directory, stem + ".pb"), "wb") as f:
        f.write(tensor.SerializeToString())
    np.save(os.path.join(directory, stem + ".npy"), array)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", metavar="OUT_DIR")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated subset of " + ",".join(MODELS))
    args = parser.parse_args()
    wanted = args.models.split(",")
    unknown = sorted(set(wanted) - set(MODELS))
    if unknown:
        parser.error("unknown model(s): " + ",".join(unknown))

    for model_index, name in enumerate(MODELS):
        if name not in wanted:
            continue
        model, shape = build(name)

        # Reference outputs, computed once per model and shared by all opsets.
        # Under no_grad the encoder layers do take PyTorch's fused fast path
        # here; it is an independent implementation of the same maths as the
        # exported (unfused) graph and agrees with it to ~4e-6 absolute.
        data = []
        with torch.no_grad():
            for data_set, batch in DATA_SETS:
                # Inputs differ per model and data set, but not per opset.
                x = make_input(model_index, data_set, batch, shape)
                y = model(torch.from_numpy(x)).numpy()
                data.append((data_set, x, np.ascontiguousarray(y)))

        for opset in OPSETS:
            start = time.time()
            folder = os.path.join(args.out_dir, f"{name}_opset{opset}")
            os.makedirs(folder, exist_ok=True)
            model_path = os.path.join(folder, "model.onnx")
            export(model, shape, opset, model_path)
            for data_set, x, y in data:
                d = os.path.join(folder, f"test_data_set_{data_set}")
                os.makedirs(d, exist_ok=True)
                save_tensor(x, INPUT_NAME, d, "input_0")
                save_tensor(y, OUTPUT_NAME, d, "output_0")
            size_mb = os.path.getsize(model_path) / 1e6
            print(f"{folder}: {size_mb:.1f} MB, output {list(data[-1][2].shape)}, "
                  f"{time.time() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
