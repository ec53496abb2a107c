#!/usr/bin/python3
"""Write a small ResNet-style QDQ model, its input and the expected output, and optionally check lowp on it.

usage: /usr/bin/python3 tests/models/make_qdq_models.py OUT_DIR [--lowp BUILD/lowp]

The model is written in ONNX Runtime's QDQ layout (what `quantize_static(..., quant_format=QDQ)` produces):
uint8 activations with zero points (asymmetric, calibrated by min/max on a calibration batch), int8 symmetric
weights with one scale per output channel, int32 biases with scale x_scale * w_scale and zero point 0, and a
QuantizeLinear -> DequantizeLinear pair on every activation a quantized op reads:

    input -> Q/DQ -> Conv+Relu (stem) -> Q/DQ -> MaxPool -> Q/DQ
          -> block 1: Conv+Relu -> Q/DQ -> Conv -> Q/DQ -> Add(., block input) -> Relu -> Q/DQ
          -> block 2: Conv(stride 2)+Relu -> Q/DQ -> Conv -> Q/DQ -> Add(., 1x1 Conv(stride 2) -> Q/DQ) -> Relu
             -> Q/DQ
          -> GlobalAveragePool -> Q/DQ -> Flatten -> Q/DQ -> Gemm(transB) -> Q/DQ -> output

It writes OUT_DIR/qdq_resnet/ in the layout of the ONNX backend test data:

    model.onnx                                 opset 13, input "input" [2,3,32,32], output "output" [2,10]
    test_data_set_0/input_0.{pb,npy}           standard normal, seeded
    test_data_set_0/output_0.{pb,npy}          expected output

The expected output comes from a NumPy implementation of the float graph with every Q/DQ's rounding (round
half to even, saturation, float32 arithmetic as the ONNX reference does), written here independently of lowp
and of ONNX Runtime. All weights are random and seeded; the files are the same every run.

With --lowp, runs `lowp run --onnx model.onnx --input input=input_0.npy --save-outputs DIR` and compares
its output with the expected one in units of the output's quantization step: lowp fuses the Q/DQ pattern
into integer layers, which rescale exact integer sums once (where the float graph first rounds a float sum)
and, in the residual blocks, skip the rounding of the convolution's output to its Q's grid before the Add
(as TensorRT does), so single activation steps differ and a few output steps may. Exits 1 when the output
is further than MAX_STEPS steps from the expected one anywhere, or its relative L2 error exceeds MAX_REL_L2.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
BATCH = 8
INPUT_SHAPE = (BATCH, 3, 32, 32)
CLASSES = 10
# Tolerances of the --lowp check, in steps of the output's quantization scale.
MAX_STEPS = 2
MAX_REL_L2 = 0.02


# ---- NumPy semantics of the ops (float32 tensors, NCHW) ----

def quantize(x, scale, zero_point, dtype):
    """QuantizeLinear: x / scale in float32, rounded half to even, plus the zero point, saturated."""
    info = np.iinfo(dtype)
    q = np.rint(x.astype(np.float32) / np.float32(scale)) + zero_point
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q, scale, zero_point=0, axis=None):
    """DequantizeLinear: (q - zero_point) * scale, computed exactly and rounded once to float32."""
    scale = np.asarray(scale, dtype=np.float64)
    zero_point = np.asarray(zero_point, dtype=np.float64)
    if axis is not None and scale.ndim == 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zero_point = zero_point.reshape(shape) if zero_point.ndim == 1 else zero_point
    return ((q.astype(np.float64) - zero_point) * scale).astype(np.float32)


def conv2d(x, w, b, stride, pad):
    """ONNX Conv (group 1, square kernel, symmetric padding), accumulated in float64, rounded to float32."""
    n, c, h, wd = x.shape
    m, _, k, _ = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - k) // stride + 1
    ow = (wd + 2 * pad - k) // stride + 1
    cols = np.empty((n, c, k, k, oh, ow), dtype=np.float64)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    y = np.einsum("nckluv,mckl->nmuv", cols, w.astype(np.float64))
    if b is not None:
        y += b.astype(np.float64).reshape(1, m, 1, 1)
    return y.astype(np.float32)


def max_pool(x, kernel, stride, pad):
    """ONNX MaxPool: padding never wins."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    oh = (h + 2 * pad - kernel) // stride + 1
    ow = (w + 2 * pad - kernel) // stride + 1
    y = np.full((n, c, oh, ow), -np.inf, dtype=np.float32)
    for i in range(kernel):
        for j in range(kernel):
            y = np.maximum(y, xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride])
    return y


def relu(x):
    return np.maximum(x, np.float32(0))


# ---- The network: float weights, then calibration and quantization ----

class Layer:
    """A Conv or Gemm with float weights and bias; after quantize(), int8 weights and int32 bias."""

    def __init__(self, rng, name, shape, stride=1, pad=0):
        fan_in = int(np.prod(shape[1:]))
        self.name = name
        self.w = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        self.b = (rng.standard_normal(shape[0]) * 0.1).astype(np.float32)
        self.stride = stride
        self.pad = pad

    def quantize(self, x_scale):
        """Symmetric int8 per output channel; the bias on the grid x_scale * w_scale, as ONNX Runtime does."""
        amax = np.abs(self.w.reshape(self.w.shape[0], -1)).max(axis=1)
        self.w_scale = (np.maximum(amax, 1e-8) / 127).astype(np.float32)
        shape = (-1,) + (1,) * (self.w.ndim - 1)
        self.w_q = np.clip(np.rint(self.w / self.w_scale.reshape(shape)), -127, 127).astype(np.int8)
        self.b_scale = (np.float32(x_scale) * self.w_scale).astype(np.float32)
        self.b_q = np.rint(self.b.astype(np.float64) / self.b_scale).astype(np.int32)

    def weights(self, quantized):
        if not quantized:
            return self.w, self.b
        return dequantize(self.w_q, self.w_scale, axis=0), dequantize(self.b_q, self.b_scale, axis=0)


class Net:
    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.stem = Layer(rng, "stem", (16, 3, 3, 3), pad=1)
        self.b1a = Layer(rng, "block1_conv1", (16, 16, 3, 3), pad=1)
        self.b1b = Layer(rng, "block1_conv2", (16, 16, 3, 3), pad=1)
        self.b2a = Layer(rng, "block2_conv1", (32, 16, 3, 3), stride=2, pad=1)
        self.b2b = Layer(rng, "block2_conv2", (32, 32, 3, 3), pad=1)
        self.b2d = Layer(rng, "block2_downsample", (32, 16, 1, 1), stride=2)
        self.fc = Layer(rng, "fc", (CLASSES, 32))
        self.act = {}  # activation name -> (scale, zero point), uint8

    # Activation names, in the order forward() meets them, with the input whose parameters they share
    # (MaxPool and Flatten re-quantize with their input's parameters, as ONNX Runtime writes them).
    SHARED = {"pool": "stem_out", "flat": "gap"}

    def qdq(self, t, name, quantized, record):
        if record is not None:
            record[name] = t
        if not quantized:
            return t
        scale, zp = self.act[self.SHARED.get(name, name)]
        return dequantize(quantize(t, scale, zp, np.uint8), scale, zp)

    def conv(self, layer, x, quantized):
        w, b = layer.weights(quantized)
        return conv2d(x, w, b, layer.stride, layer.pad)

    def forward(self, x, quantized, record=None):
        q = lambda t, name: self.qdq(t, name, quantized, record)
        x = q(x, "input")
        x = q(relu(self.conv(self.stem, x, quantized)), "stem_out")
        x = q(max_pool(x, 3, 2, 1), "pool")
        # Block 1: identity shortcut.
        h = q(relu(self.conv(self.b1a, x, quantized)), "block1_mid")
        h = q(self.conv(self.b1b, h, quantized), "block1_conv2_out")
        x = q(relu(h + x), "block1_out")
        # Block 2: stride-2 convolutions, 1x1 downsample shortcut.
        h = q(relu(self.conv(self.b2a, x, quantized)), "block2_mid")
        h = q(self.conv(self.b2b, h, quantized), "block2_conv2_out")
        s = q(self.conv(self.b2d, x, quantized), "block2_shortcut")
        x = q(relu(h + s), "block2_out")
        g = q(x.mean(axis=(2, 3), keepdims=True, dtype=np.float64).astype(np.float32), "gap")
        f = q(g.reshape(g.shape[0], -1), "flat")
        w, b = self.fc.weights(quantized)
        y = (f.astype(np.float64) @ w.astype(np.float64).T + b).astype(np.float32)
        return q(y, "output")

    def calibrate(self, x):
        """uint8 min/max calibration of every activation on a float run; then the weights."""
        record = {}
        self.forward(x, quantized=False, record=record)
        for name, t in record.items():
            lo = min(float(t.min()), 0.0)
            hi = max(float(t.max()), 0.0)
            scale = np.float32((hi - lo) / 255 if hi > lo else 1.0)
            zp = int(np.clip(np.rint(-lo / scale), 0, 255))
            self.act[name] = (scale, zp)
        inputs = {self.stem: "input", self.b1a: "pool", self.b1b: "block1_mid", self.b2a: "block1_out",
                  self.b2b: "block2_mid", self.b2d: "block1_out", self.fc: "flat"}
        for layer, source in inputs.items():
            layer.quantize(self.act[self.SHARED.get(source, source)][0])


# ---- The ONNX graph ----

class GraphWriter:
    def __init__(self, net):
        self.net = net
        self.nodes = []
        self.inits = []

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def qdq(self, t, name, out=None):
        """t -> QuantizeLinear -> DequantizeLinear with `name`'s parameters; returns the DQ's output."""
        out = out or name + "_dequantized"
        scale, zp = self.net.act[self.net.SHARED.get(name, name)]
        s = self.const(name + "_scale", np.float32(scale))
        z = self.const(name + "_zero_point", np.uint8(zp))
        self.nodes.append(helper.make_node("QuantizeLinear", [t, s, z], [name + "_quantized"],
                                           name=name + "_QuantizeLinear"))
        self.nodes.append(helper.make_node("DequantizeLinear", [name + "_quantized", s, z], [out],
                                           name=name + "_DequantizeLinear"))
        return out

    def weights(self, layer):
        """The DQ of the int8 weights and of the int32 bias (per output channel, axis 0)."""
        n = layer.name
        w = self.const(n + "_W_quantized", layer.w_q)
        ws = self.const(n + "_W_scale", layer.w_scale)
        wz = self.const(n + "_W_zero_point", np.zeros(layer.w_q.shape[0], np.int8))
        self.nodes.append(helper.make_node("DequantizeLinear", [w, ws, wz], [n + "_W"], axis=0,
                                           name=n + "_W_DequantizeLinear"))
        b = self.const(n + "_B_quantized", layer.b_q)
        bs = self.const(n + "_B_scale", layer.b_scale)
        bz = self.const(n + "_B_zero_point", np.zeros(layer.b_q.shape[0], np.int32))
        self.nodes.append(helper.make_node("DequantizeLinear", [b, bs, bz], [n + "_B"], axis=0,
                                           name=n + "_B_DequantizeLinear"))
        return n + "_W", n + "_B"

    def conv(self, layer, x, relu_after):
        w, b = self.weights(layer)
        k = layer.w.shape[2]
        out = layer.name + "_conv"
        self.nodes.append(helper.make_node("Conv", [x, w, b], [out], name=layer.name, kernel_shape=[k, k],
                                           strides=[layer.stride] * 2, pads=[layer.pad] * 4))
        if relu_after:
            self.nodes.append(helper.make_node("Relu", [out], [layer.name + "_relu"], name=layer.name + "_Relu"))
            out = layer.name + "_relu"
        return out

    def build(self):
        net = self.net
        x = self.qdq("input", "input")
        x = self.qdq(self.conv(net.stem, x, True), "stem_out")
        self.nodes.append(helper.make_node("MaxPool", [x], ["pool_out"], name="pool", kernel_shape=[3, 3],
                                           strides=[2, 2], pads=[1, 1, 1, 1]))
        x = self.qdq("pool_out", "pool")
        h = self.qdq(self.conv(net.b1a, x, True), "block1_mid")
        h = self.qdq(self.conv(net.b1b, h, False), "block1_conv2_out")
        self.nodes.append(helper.make_node("Add", [h, x], ["block1_sum"], name="block1_Add"))
        self.nodes.append(helper.make_node("Relu", ["block1_sum"], ["block1_relu"], name="block1_Relu"))
        x = self.qdq("block1_relu", "block1_out")
        h = self.qdq(self.conv(net.b2a, x, True), "block2_mid")
        h = self.qdq(self.conv(net.b2b, h, False), "block2_conv2_out")
        s = self.qdq(self.conv(net.b2d, x, False), "block2_shortcut")
        self.nodes.append(helper.make_node("Add", [h, s], ["block2_sum"], name="block2_Add"))
        self.nodes.append(helper.make_node("Relu", ["block2_sum"], ["block2_relu"], name="block2_Relu"))
        x = self.qdq("block2_relu", "block2_out")
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap_out"], name="gap"))
        g = self.qdq("gap_out", "gap")
        self.nodes.append(helper.make_node("Flatten", [g], ["flat_out"], name="flatten", axis=1))
        f = self.qdq("flat_out", "flat")
        w, b = self.weights(net.fc)
        self.nodes.append(helper.make_node("Gemm", [f, w, b], ["fc_out"], name="fc", transB=1))
        self.qdq("fc_out", "output", out="output")
        graph = helper.make_graph(
            self.nodes, "qdq_resnet",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(INPUT_SHAPE))],
            [helper.make_tensor_value_info("output", TensorProto.FLOAT, [BATCH, CLASSES])], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="lowp make_qdq_models.py")
        onnx.checker.check_model(model, full_check=True)
        return model


def save_tensor(path_base, name, array):
    np.save(path_base + ".npy", array)
    with open(path_base + ".pb", "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())


def write(out_dir):
    net = Net(seed=0)
    calibration = np.random.default_rng(1).standard_normal((8,) + INPUT_SHAPE[1:]).astype(np.float32)
    net.calibrate(calibration)
    x = np.random.default_rng(2).standard_normal(INPUT_SHAPE).astype(np.float32)
    expected = net.forward(x, quantized=True)
    float_out = net.forward(x, quantized=False)
    model_dir = os.path.join(out_dir, "qdq_resnet")
    data_dir = os.path.join(model_dir, "test_data_set_0")
    os.makedirs(data_dir, exist_ok=True)
    onnx.save(GraphWriter(net).build(), os.path.join(model_dir, "model.onnx"))
    save_tensor(os.path.join(data_dir, "input_0"), "input", x)
    save_tensor(os.path.join(data_dir, "output_0"), "output", expected)
    step = net.act["output"][0]
    print(f"wrote {model_dir}: output step {step:.4g}; the Q/DQ graph is "
          f"{np.abs(expected - float_out).max() / step:.1f} steps from the float graph at most")
    return model_dir, step


def check(lowp, model_dir, step):
    data_dir = os.path.join(model_dir, "test_data_set_0")
    expected = np.load(os.path.join(data_dir, "output_0.npy"))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [lowp, "run", "--onnx", os.path.join(model_dir, "model.onnx"),
               "--input", "input=" + os.path.join(data_dir, "input_0.npy"), "--save-outputs", tmp]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            print(" ".join(cmd) + "\n" + run.stdout + run.stderr, file=sys.stderr)
            return False
        got = np.load(os.path.join(tmp, "output.npy"))
    if got.shape != expected.shape:
        print(f"output shape {got.shape}, expected {expected.shape}", file=sys.stderr)
        return False
    steps = np.abs(got.astype(np.float64) - expected) / step
    rel_l2 = np.linalg.norm(got - expected) / np.linalg.norm(expected)
    same = float(np.mean(steps < 0.5))
    ok = steps.max() <= MAX_STEPS and rel_l2 <= MAX_REL_L2
    print(f"{'ok' if ok else 'FAIL'}: lowp vs expected: max {steps.max():.0f} steps (limit {MAX_STEPS}), "
          f"{same:.1%} of outputs equal, relative L2 {rel_l2:.2e} (limit {MAX_REL_L2}), "
          f"top-1 agrees on {np.mean(got.argmax(1) == expected.argmax(1)):.0%} of the batch")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--lowp", help="the lowp command line to check on the model")
    args = parser.parse_args()
    model_dir, step = write(args.out_dir)
    if args.lowp and not check(args.lowp, model_dir, step):
        sys.exit(1)


if __name__ == "__main__":
    main()
