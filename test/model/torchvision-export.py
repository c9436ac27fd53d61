# Exports a torchvision ResNet18 or MobileNetV3-Large with random weights (no download) to ONNX, as a
# user would with ImageNet weights, plus a second file whose outputs are the encoder features an
# FCN-8s reads at stride 8, 16 and 32. BatchNorm statistics and affines are randomised first, so the
# BatchNorm that torch.onnx.export folds into each convolution is not the identity.
# usage: python3 torchvision-export.py resnet18|mobilenet_v3_large OUT_DIR HEIGHT WIDTH
import sys

import torch
import torchvision

name, out_dir, height, width = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(5)
model = getattr(torchvision.models, name)(weights=None)
for module in model.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
        module.running_mean.uniform_(-0.5, 0.5)
        module.running_var.uniform_(0.5, 2.0)
        module.weight.data.uniform_(0.5, 1.5)
        module.bias.data.uniform_(-0.2, 0.2)
model.eval()


class Features(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        if name == "resnet18":
            m = self.model
            x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
            layer2 = m.layer2(m.layer1(x))
            layer3 = m.layer3(layer2)
            return layer2, layer3, m.layer4(layer3)
        features = self.model.features
        stride8 = features[:7](x)
        stride16 = features[7:13](stride8)
        return stride8, stride16, features[13:](stride16)


with torch.no_grad():
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), f"{out_dir}/{name}.onnx", opset_version=17)
    torch.onnx.export(
        Features(model),
        torch.zeros(1, 3, height, width),
        f"{out_dir}/{name}-features.onnx",
        opset_version=17,
        input_names=["image"],
        output_names=["pool3", "pool4", "conv7"],
    )
