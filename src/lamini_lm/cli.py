"""The project's ``kedro run``: Kedro's own, plus a clean stop for a teacher dry run.

Kedro loads ``<package>.cli`` and lets its ``run`` replace the built-in one (``kedro run``,
``python -m lamini_lm`` and the ``lamini-lm`` command all use it). Every option is Kedro's. With
``teacher.dry_run: true`` the teacher hook stops the run after the first teacher step
(:class:`~lamini_lm.teacher.TeacherDryRun`); this command reports that as a finished dry run — the
message and exit status 0 — instead of a failed run.
"""

from __future__ import annotations

from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

from lamini_lm.teacher.run import TeacherDryRun


@click.group(name="lamini_lm")
def cli() -> None:
    """The project's commands (they replace Kedro's of the same name)."""


@cli.command(name="run", params=list(kedro_run.params), help=kedro_run.help, short_help=kedro_run.short_help)
@click.pass_context
def run(ctx: click.Context, **options: Any) -> Any:
    try:
        return ctx.invoke(kedro_run.callback, **options)
    except TeacherDryRun as stop:
        click.secho(str(stop), fg="yellow")
        ctx.exit(0)
