# Exports one of torchvision's light segmentation networks with random weights (no download) as a
# bring-your-own ONNX model for the encoder speed table (scripts/bench-encoders.sh): speed only.
#   fcn-resnet18   torchvision's FCN (FCNHead: 3x3 conv 512->128, BN, ReLU, 1x1 conv) on ResNet18's
#                  layer4 (stride 32; BasicBlock has no dilation), bilinear upsampling to the input:
#                  the network jetson-inference's segNet runs as FCN-ResNet18.
#   lraspp         torchvision's lraspp_mobilenet_v3_large (dilated last stage, output stride 16).
# usage: python3 torchvision-seg.py fcn-resnet18|lraspp CLASSES HEIGHT WIDTH OUT.onnx
import sys

import torch
import torchvision
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.segmentation.fcn import FCN, FCNHead

name, classes, height, width, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.manual_seed(7)
if name == "fcn-resnet18":
    backbone = IntermediateLayerGetter(torchvision.models.resnet18(weights=None), {"layer4": "out"})
    model = FCN(backbone, FCNHead(512, classes), None)
elif name == "lraspp":
    model = torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=classes
    )
else:
    sys.exit(f"unknown network {name}: use fcn-resnet18 or lraspp")
model.eval()


class OutOnly(torch.nn.Module):
    """torchvision returns {'out': ...}; ONNX needs plain tensors."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


with torch.no_grad():
    torch.onnx.export(
        OutOnly(model),
        torch.zeros(1, 3, height, width),
        out,
        input_names=["input"],
        output_names=["out"],
        opset_version=17,
    )
