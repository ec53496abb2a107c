"""Writes the small ONNX models the command-line tests use, good and deliberately broken ones.

usage: /usr/bin/python3 tests/cli/make_fixtures.py OUT_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(model, out_dir, name):
    path = os.path.join(out_dir, name)
    onnx.save(model, path)
    return path


def add_model(dynamic=True):
    """y = relu(x + bias), x: [batch, 4] float."""
    batch = "batch" if dynamic else 2
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 4])
    bias = numpy_helper.from_array(np.arange(4, dtype=np.float32) - 1.5, "bias")
    nodes = [helper.make_node("Add", ["x", "bias"], ["sum"], name="add"),
             helper.make_node("Relu", ["sum"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "add_relu", [x], [y], [bias])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def conv_model():
    """y = Gemm(Flatten(MaxPool(Relu(Conv(x))))), x: [batch, 3, 8, 8]: layers with INT8 forms."""
    rng = np.random.default_rng(3)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5])
    inits = [numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.3, "w"),
             numpy_helper.from_array(rng.standard_normal(8).astype(np.float32) * 0.1, "b"),
             numpy_helper.from_array(rng.standard_normal((5, 128)).astype(np.float32) * 0.1, "fc_w"),
             numpy_helper.from_array(rng.standard_normal(5).astype(np.float32) * 0.1, "fc_b")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "conv_net", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def resize_by_input_model():
    """y = Resize(x, scales), nearest, with the scales a graph input: a build must be given their values."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])
    scales = helper.make_tensor_value_info("scales", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="resize", mode="nearest")]
    graph = helper.make_graph(nodes, "resize_by_input", [x, scales], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    model = add_model()
    path = save(model, out, "add_relu.onnx")
    data = open(path, "rb").read()
    with open(os.path.join(out, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(out, "garbage.onnx"), "wb") as f:
        f.write(bytes(range(256)) * 4)
    open(os.path.join(out, "empty.onnx"), "wb").close()

    save(resize_by_input_model(), out, "resize_by_input.onnx")
    np.save(os.path.join(out, "scales_2x.npy"), np.array([1, 1, 2, 2], np.float32))

    unknown = add_model()
    unknown.graph.node[1].op_type = "FrobnicateRelu"
    save(unknown, out, "unknown_op.onnx")

    bad_attr = add_model()
    bad_attr.graph.node[1].attribute.append(helper.make_attribute("gain", 2.0))
    save(bad_attr, out, "unknown_attribute.onnx")

    mismatch = add_model()
    mismatch.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.ones(3, np.float32), "bias"))
    save(mismatch, out, "inconsistent_shapes.onnx")

    undefined = add_model()
    undefined.graph.node[1].input[0] = "nowhere"
    save(undefined, out, "undefined_input.onnx")

    # External data: a valid file, one whose location escapes the model folder, one past the file's end.
    ext_dir = os.path.join(out, "external")
    os.makedirs(ext_dir, exist_ok=True)
    np.arange(4, dtype=np.float32).tofile(os.path.join(ext_dir, "bias.bin"))
    for name, location, offset in [("external_ok.onnx", "bias.bin", 0),
                                   ("external_escape.onnx", "../add_relu.onnx", 0),
                                   ("external_past_end.onnx", "bias.bin", 8)]:
        m = add_model()
        t = m.graph.initializer[0]
        t.ClearField("raw_data")
        t.ClearField("float_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in [("location", location), ("offset", str(offset)), ("length", "16")]:
            e = t.external_data.add()
            e.key, e.value = k, v
        save(m, ext_dir, name)

    # A model whose Expand asks for 2^50 elements: must be refused, not crash or exhaust memory.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    shape = numpy_helper.from_array(np.array([1 << 20, 1 << 20, 1 << 10], np.int64), "shape")
    graph = helper.make_graph([helper.make_node("Expand", ["x", "shape"], ["y"], name="expand")], "huge", [x], [y],
                              [shape])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), out, "huge_expand.onnx")

    # DynamicQuantizeLinear: ONNX defines it for fp32 input only, so no fp16 implementation can exist.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])
    outs = [helper.make_tensor_value_info("q", TensorProto.UINT8, [2, 4]),
            helper.make_tensor_value_info("scale", TensorProto.FLOAT, []),
            helper.make_tensor_value_info("zero", TensorProto.UINT8, [])]
    graph = helper.make_graph([helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "scale", "zero"], name="dql")],
                              "dql", [x], outs)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), out, "dynamic_quantize.onnx")

    save(conv_model(), out, "conv_net.onnx")
    calib = os.path.join(out, "calib")
    os.makedirs(calib, exist_ok=True)
    rng = np.random.default_rng(5)
    for i in range(3):
        np.save(os.path.join(calib, f"batch_{i}.npy"), rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
    with open(os.path.join(out, "corrupt.cache"), "w") as f:
        f.write("TRT-8601-EntropyCalibration2\nx: zzzz\n")

    np.save(os.path.join(out, "x_2x4.npy"), np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4))
    np.save(os.path.join(out, "x_2x5.npy"), np.zeros((2, 5), np.float32))
    np.save(os.path.join(out, "x_f64.npy"), np.zeros((2, 4), np.float64))
    with open(os.path.join(out, "corrupt.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00garbage")


if __name__ == "__main__":
    main()
