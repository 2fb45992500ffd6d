"""Pictures of what the one-stream model sees: boxes, candidate elimination stages, template→search attention."""
