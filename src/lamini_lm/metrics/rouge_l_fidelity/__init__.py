"""An `evaluate` module folder: load it with `lamini_lm.metrics.load` or `evaluate.load(<this folder>)`."""
