#!/usr/bin/env python3
# PyTorch's CPU training speed on the same FCN-8s as `edgeseg bench --training` (VGG16 at a width
# multiplier, fc6 7x7 / fc7 1x1 as convolutions with dropout, the paper head with transposed
# convolutions, softmax cross-entropy, Adam 1e-4), for the ratio in docs/training.md.
# Usage: python3 scripts/pytorch-train-bench.py [--width 0.25] [--size 96x288] [--batch 4] [--steps 3]
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

VGG16 = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


class Fcn8s(nn.Module):
    def __init__(self, width, classes):
        super().__init__()
        ch = lambda c: max(1, round(c * width))
        self.blocks = nn.ModuleList()
        inc = 3
        for block in VGG16:
            layers = []
            for c in block:
                layers.append(nn.Conv2d(inc, ch(c), 3, padding=1))
                inc = ch(c)
            self.blocks.append(nn.ModuleList(layers))
        self.fc6 = nn.Conv2d(inc, ch(4096), 7, padding=3)
        self.fc7 = nn.Conv2d(ch(4096), ch(4096), 1)
        self.score_fr = nn.Conv2d(ch(4096), classes, 1)
        self.score_pool4 = nn.Conv2d(ch(512), classes, 1)
        self.score_pool3 = nn.Conv2d(ch(256), classes, 1)
        # stride 2, 2, 8 with kernels 4, 4, 16 and "same" output sizes, as the tfjs model
        self.up2 = nn.ConvTranspose2d(classes, classes, 4, stride=2, padding=1)
        self.up_pool4 = nn.ConvTranspose2d(classes, classes, 4, stride=2, padding=1)
        self.up8 = nn.ConvTranspose2d(classes, classes, 16, stride=8, padding=4)

    def forward(self, x):
        pools = []
        for block in self.blocks:
            for conv in block:
                x = F.relu(conv(x))
            x = F.max_pool2d(x, 2)
            pools.append(x)
        x = F.dropout(F.relu(self.fc6(x)), 0.5, self.training)
        x = F.dropout(F.relu(self.fc7(x)), 0.5, self.training)
        x = self.up2(self.score_fr(x)) + self.score_pool4(pools[3] * 0.01)
        x = self.up_pool4(x) + self.score_pool3(pools[2] * 0.0001)
        return self.up8(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--width', type=float, default=0.25)
    parser.add_argument('--size', default='96x288')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    height, width = (int(v) for v in args.size.split('x'))
    classes = 6
    model = Fcn8s(args.width, classes).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    images = torch.rand(args.batch, 3, height, width) * 255
    labels = torch.randint(0, classes, (args.batch, height, width))

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    step()  # warm-up, as benchTraining does
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - started
    print(f'pytorch {torch.__version__} threads {args.threads}: {args.steps * args.batch / seconds:.2f} images/s '
          f'({seconds / args.steps:.2f} s/step) width {args.width} {height}x{width} batch {args.batch}')


if __name__ == '__main__':
    main()
