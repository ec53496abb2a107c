"""Exports the demo's bundled default model: a MobileNetV2 at half width with 100 classes and random weights
(seed 0), small enough to keep in the repository.

usage: /usr/bin/python3 models/demo/make_demo_model.py models/demo/mobilenet_v2_tiny.onnx
"""
import sys

import torch
import torchvision


def main():
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(weights=None, width_mult=0.5, num_classes=100).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(model, x, sys.argv[1], opset_version=17, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, do_constant_folding=True)


if __name__ == "__main__":
    main()
