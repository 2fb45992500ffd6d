"""Model size, MACs (paper and full conventions) and latency of OSTrack trackers (``ostrack-eval profile``).

``macs``: parameter and MAC counts; ``timing``: forward and tracking-step latency; ``environment``: what a
timing ran on; ``report``: the combined profile as JSON or Markdown.
"""

# Timing defaults, here so the command line can show them without importing torch.
DEFAULT_ITERS = 50
DEFAULT_WARMUP = 10
