"""Project hooks (the teacher's are in :mod:`lamini_lm.teacher.hooks`).

The environment's herd is recorded by :class:`lamini_lm.context.ProjectContext`, not by a hook:
kedro-viz runs without project hooks unless ``--include-hooks`` is given.
"""
