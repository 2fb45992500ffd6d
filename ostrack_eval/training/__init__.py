"""Training the small demo OSTrack (``ostrack-tiny``) on generated sequences: pairs, losses, loop."""
