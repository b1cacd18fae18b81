"""The loss curve of one student's training (``data/08_reporting/training/<model>_loss_curve.png``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def loss_curve_figure(metrics: Mapping[str, Any]) -> Any:
    """Training loss and learning rate per optimiser step, with the validation loss before and after.

    ``metrics`` is the training node's metrics (``loss_curve`` and ``learning_rate_curve`` are
    ``[step, value]`` pairs; ``validation_loss_before`` / ``_after``). A run too short to log a
    step says so in the title instead of showing empty axes.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), layout="constrained")
    loss_axes = figure.add_subplot()
    curve = metrics.get("loss_curve") or []
    rates = metrics.get("learning_rate_curve") or []
    last_step = int(metrics.get("global_step") or (curve[-1][0] if curve else 0))
    before, after = metrics.get("validation_loss_before"), metrics.get("validation_loss_after")
    if curve:
        steps, losses = zip(*curve)
        loss_axes.plot(steps, losses, color="tab:blue", label="training loss")
    if before is not None:
        loss_axes.scatter([0], [before], color="tab:orange", marker="o", zorder=3, label="validation loss")
    if after is not None:
        loss_axes.scatter([last_step], [after], color="tab:orange", marker="o", zorder=3)
    loss_axes.set_xlabel("optimiser step")
    loss_axes.set_ylabel("loss")
    if rates:
        rate_axes = loss_axes.twinx()
        steps, values = zip(*rates)
        rate_axes.plot(steps, values, color="tab:gray", linestyle="--", label="learning rate")
        rate_axes.set_ylabel("learning rate")
        rate_axes.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        handles = loss_axes.get_legend_handles_labels()[0] + rate_axes.get_legend_handles_labels()[0]
        loss_axes.legend(handles=handles, loc="upper right", fontsize="small")
    elif curve or before is not None:
        loss_axes.legend(loc="upper right", fontsize="small")
    name = metrics.get("model", "student")
    if curve:
        title = f"{name}: training loss over {last_step} steps"
        if before is not None and after is not None:
            title += f" (validation {before:.3f} → {after:.3f})"
    else:
        title = f"{name}: no training step was logged (fewer steps than training.logging_steps)"
    loss_axes.set_title(title, fontsize="medium")
    return figure
