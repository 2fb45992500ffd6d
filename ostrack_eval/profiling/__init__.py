"""Model size, MACs (paper and full conventions) and latency of OSTrack trackers (``ostrack-eval profile``).

``macs``: parameter and MAC counts; ``timing``: forward and tracking-step latency; ``environment``: what a
timing ran on; ``report``: the combined profile as JSON or Markdown.
"""
