"""OSTrack's CenterPredictor box head (key names match the official checkpoints)."""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=True), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _branch(cin: int, c: int, cout: int) -> list[nn.Module]:
    return [_conv_bn_relu(cin, c), _conv_bn_relu(c, c // 2), _conv_bn_relu(c // 2, c // 4),
            _conv_bn_relu(c // 4, c // 8), nn.Conv2d(c // 8, cout, 1)]


def _sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x.sigmoid(), min=1e-4, max=1 - 1e-4)


class CenterPredictor(nn.Module):
    def __init__(self, inplanes: int, channel: int, feat_sz: int):
        super().__init__()
        self.feat_sz = feat_sz
        for name, cout in (("ctr", 1), ("offset", 2), ("size", 2)):
            for i, layer in enumerate(_branch(inplanes, channel, cout), start=1):
                self.add_module(f"conv{i}_{name}", layer)

    def _run(self, name: str, x: torch.Tensor) -> torch.Tensor:
        for i in range(1, 6):
            x = getattr(self, f"conv{i}_{name}")(x)
        return x

    def get_score_map(self, x: torch.Tensor):
        return _sigmoid(self._run("ctr", x)), _sigmoid(self._run("size", x)), self._run("offset", x)

    def cal_bbox(self, score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor,
                 return_index: bool = False):
        """Decode at the flat argmax: ``(cx, cy, w, h)`` normalised to the search crop."""
        _, idx = torch.max(score_map.flatten(1), dim=1, keepdim=True)
        idx_y = torch.div(idx, self.feat_sz, rounding_mode="floor")
        idx_x = idx % self.feat_sz
        gather = idx.unsqueeze(1).expand(idx.shape[0], 2, 1)
        size = size_map.flatten(2).gather(dim=2, index=gather)
        offset = offset_map.flatten(2).gather(dim=2, index=gather).squeeze(-1)
        bbox = torch.cat([(idx_x.to(torch.float) + offset[:, :1]) / self.feat_sz,
                          (idx_y.to(torch.float) + offset[:, 1:]) / self.feat_sz,
                          size.squeeze(-1)], dim=1)
        return (bbox, idx.squeeze(1)) if return_index else bbox

    def forward(self, x: torch.Tensor):
        score_map, size_map, offset_map = self.get_score_map(x)
        return score_map, self.cal_bbox(score_map, size_map, offset_map), size_map, offset_map
