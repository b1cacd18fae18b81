"""docs/metrics.md's example runs as written."""

from __future__ import annotations

import re


def test_the_metrics_doc_example_runs(project_root, monkeypatch):
    text = (project_root / "docs" / "metrics.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "docs/metrics.md: no python example"
    monkeypatch.chdir(project_root)
    for block in blocks:
        exec(compile(block, "docs/metrics.md", "exec"), {})  # the doc's own example; its asserts check it
