"""The CPU fast path's GEMM backends (ostrack_eval.trackers.gemm: MKL packs, oneDNN) and the head laid out as
GEMMs on them."""

import copy

import pytest
import torch
import torch.nn.functional as F

from conftest import SMALL_CKPT, SMALL_YAML
from ostrack_eval.trackers.ostrack_tracker import build_ostrack_tracker
from ostrack_eval.trackers.fast import head_decode_fast, head_decode_tokens
from ostrack_eval.trackers.gemm import (PACK_MAX_ROWS, GemmCache, backend_available, default_backend,
                                        mkl_packing_available)
from ostrack_eval.trackers.registry import TrackerSpec

needs_mkl = pytest.mark.skipif(not mkl_packing_available(), reason="torch built without MKL")
BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(not backend_available(b), reason=f"torch built without {b}"))
            for b in ("mkl", "onednn")]


class Spy:
    """Counts the calls of a GemmCache backend method."""

    def __init__(self, monkeypatch, name):
        self.calls = 0
        inner = getattr(GemmCache, name)

        def spy(*args):
            self.calls += 1
            return inner(*args)
        monkeypatch.setattr(GemmCache, name, staticmethod(spy) if name == "_onednn" else spy)


def backend_spy(monkeypatch, backend):
    return Spy(monkeypatch, "_onednn" if backend == "onednn" else "_mkl")


def test_auto_backend_is_mkl_on_intel_and_onednn_elsewhere():
    if backend_available("mkl") and backend_available("onednn"):
        assert default_backend("GenuineIntel") == "mkl"
        assert default_backend("AuthenticAMD") == "onednn"
        assert default_backend("") == "onednn"
    assert GemmCache().backend == default_backend()
    assert GemmCache(backend="aten").backend == "aten"
    with pytest.raises(ValueError, match="GEMM backend"):
        GemmCache(backend="blas")


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_equal_f_linear_for_any_leading_dims_and_rows(backend, monkeypatch):
    torch.manual_seed(0)
    w, b = torch.randn(96, 64), torch.randn(96)
    cache = GemmCache(min_elements=0, backend=backend)
    spy = backend_spy(monkeypatch, backend)
    with torch.no_grad():
        for x in (torch.randn(5, 64), torch.randn(2, 3, 64), torch.randn(64, 7).t()):  # last: not contiguous
            out = cache.linear(x, w, b)
            assert out.shape == (*x.shape[:-1], 96)
            torch.testing.assert_close(out, F.linear(x, w, b), rtol=1e-6, atol=1e-5)
        x = torch.randn(4, 64)
        torch.testing.assert_close(cache.linear(x, w), F.linear(x, w), rtol=1e-6, atol=1e-5)  # no bias
        assert cache.linear(torch.randn(0, 64), w, b).shape == (0, 96)  # no rows: F.linear
    assert spy.calls == 4
    # a copy or an unpickled cache resolves its backend again, from what was asked for
    assert copy.deepcopy(GemmCache()).backend == default_backend()
    assert copy.deepcopy(cache).backend == backend


@needs_mkl
def test_linear_packs_per_row_count_keeps_a_few_and_skips_large_batches():
    torch.manual_seed(0)
    w, b = torch.randn(96, 64), torch.randn(96)
    cache = GemmCache(per_weight=2, min_elements=0, backend="mkl")
    with torch.no_grad():
        for rows in (5, 7, 9):
            x = torch.randn(rows, 64)
            torch.testing.assert_close(cache.linear(x, w, b), F.linear(x, w, b), rtol=1e-6, atol=1e-5)
        assert len(cache) == 2  # least recently used row count dropped
        x = torch.randn(2, 3, 64)  # leading dims: 6 rows
        assert cache.linear(x, w, b).shape == (2, 3, 96)
        big = torch.randn(PACK_MAX_ROWS + 1, 64)
        before = len(cache)
        assert torch.equal(cache.linear(big, w, b), F.linear(big, w, b))
        assert len(cache) == before
    # where it does not apply, plain F.linear and nothing packed
    x = torch.randn(4, 64)
    assert torch.equal(cache.linear(x, w, b), F.linear(x, w, b))  # autograd on
    with torch.no_grad():
        assert torch.equal(cache.linear(x.double(), w.double(), b.double()), F.linear(x.double(), w.double(),
                                                                                        b.double()))
        off = GemmCache(enabled=False, backend="mkl")
        small = GemmCache(backend="mkl")  # default threshold: a 96×64 weight is not worth a pack
        assert torch.equal(small.linear(x, w, b), F.linear(x, w, b)) and len(small) == 0
        assert torch.equal(off.linear(x, w, b), F.linear(x, w, b)) and len(off) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_layout_is_the_convolution(backend):
    """Rows of 3×3 neighbourhoods in (ky, kx, c) order times the "conv" layout = conv2d with padding 1."""
    torch.manual_seed(0)
    x = torch.randn(2, 8, 5, 5)
    w1, w2, b = torch.randn(6, 8, 3, 3), torch.randn(4, 8, 3, 3), torch.randn(10)
    grid = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 1, 1, 1))
    rows = grid.unfold(1, 3, 1).unfold(2, 3, 1).permute(0, 1, 2, 4, 5, 3).reshape(2, 25, 72)
    with torch.no_grad():
        out = GemmCache(min_elements=0, backend=backend).linear(rows, (w1, w2), b, layout="conv")
    expected = F.conv2d(x, torch.cat([w1, w2]), b, padding=1).flatten(2).transpose(1, 2)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_head_on_gemms_equals_full_head_at_corners_edges_and_inside(backend, monkeypatch):
    torch.manual_seed(0)
    tr = build_ostrack_tracker(TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT)), "cpu")
    head = tr.model.box_head
    cells = [(0, 0), (0, 15), (15, 0), (15, 15), (1, 2), (3, 3), (8, 12), (15, 7), (2, 13)]
    tokens = torch.randn(len(cells), 256, 64)
    window = torch.full((len(cells), 1, 16, 16), 1e-3)
    for i, (y, x) in enumerate(cells):
        window[i, 0, y, x] = 1.0
    gemm = GemmCache(min_elements=0, backend=backend)
    spy = backend_spy(monkeypatch, backend)
    with torch.no_grad():
        bbox, response = head_decode_tokens(head, tokens, window, gemm)
        # score conv1 from the taps, size and offset conv1 on the window; MKL leaves the taps' 9·256 rows
        # (above PACK_MAX_ROWS) to F.linear
        assert spy.calls == (2 if backend == "onednn" else 1)
        feat = tokens.transpose(1, 2).reshape(len(cells), 64, 16, 16)
        score, size, offset = head.get_score_map(feat)
        expected, index = head.cal_bbox(window * score, size, offset, return_index=True)
        plain_bbox, _ = head_decode_fast(head, feat, window)
    assert torch.equal(response.flatten(1).argmax(1), index)
    torch.testing.assert_close(response, window * score, rtol=0, atol=1e-5)
    torch.testing.assert_close(bbox, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(bbox, plain_bbox, rtol=0, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_head_from_kept_tokens_equals_full_head_on_the_sparse_map(backend):
    """The score branch's conv1 from CE's kept tokens only (products added into the cells they feed) equals
    the convolution of the map with eliminated tokens zero, whatever order the kept tokens come in."""
    torch.manual_seed(1)
    tr = build_ostrack_tracker(TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT)), "cpu")
    head = tr.model.box_head
    b, n = 4, 88
    index = torch.stack([torch.randperm(256)[:n] for _ in range(b)])
    corners = torch.tensor([0, 15, 240, 255])  # taps reaching into the padding
    rest = torch.tensor([i for i in torch.randperm(256).tolist() if i not in corners.tolist()])
    index[0] = torch.cat([corners, rest])[:n][torch.randperm(n)]
    kept = torch.randn(b, n, 64)
    tokens = torch.zeros(b, 256, 64).scatter_(1, index[:, :, None].expand(-1, -1, 64), kept)
    window = torch.rand(b, 1, 16, 16)
    gemm = GemmCache(min_elements=0, backend=backend)
    with torch.no_grad():
        bbox, response = head_decode_tokens(head, tokens, window, gemm, kept, index)
        feat = tokens.transpose(1, 2).reshape(b, 64, 16, 16)
        score, size, offset = head.get_score_map(feat)
        expected, argmax = head.cal_bbox(window * score, size, offset, return_index=True)
    assert torch.equal(response.flatten(1).argmax(1), argmax)
    torch.testing.assert_close(response, window * score, rtol=0, atol=1e-5)
    torch.testing.assert_close(bbox, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_weights_cast_once_give_autocasts_values(dtype):
    """Under inference autocast the linear weights are cast once per version, bit-identical to autocast's
    own per-call casts; with autograd on they are left to autocast (gradients must reach the fp32 weights)."""
    torch.manual_seed(0)
    w, b, x = torch.randn(96, 64), torch.randn(96), torch.randn(5, 64)
    cache = GemmCache()
    with torch.autocast("cpu", dtype=dtype):
        with torch.no_grad():
            out = cache.linear(x, w, b)
            assert out.dtype == dtype and torch.equal(out, F.linear(x, w, b))
            assert len(cache._layouts) == 2  # weight and bias copies
            w.mul_(2)  # in place: the copy is remade
            assert torch.equal(cache.linear(x, w, b), F.linear(x, w, b))
        wg = w.clone().requires_grad_()
        cache.linear(x, wg, b).float().sum().backward()
        assert wg.grad is not None


def test_bf16_step_with_weights_cast_once_equals_plain_autocast():
    from test_model_forward import INPUTS
    from ostrack_eval.trackers.ce import template_mask
    from ostrack_eval.trackers.fast import TemplateState

    tr = build_ostrack_tracker(TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT)), "cpu")
    m = tr.model
    z, x = torch.from_numpy(INPUTS["template"]), torch.from_numpy(INPUTS["search"])
    with torch.no_grad():
        state = TemplateState.from_mask(m.backbone.embed_template(z), template_mask("CTR_POINT", 128, 16, 3))
    outs = []
    for enabled in (False, True):
        m.backbone.gemm.enabled = enabled
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            outs.append(m.track_step(x, state.tokens, tr.window, state.rank_rows))
    assert len(m.backbone.gemm._layouts) > 0
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
