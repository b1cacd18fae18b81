"""Imported first by the benchmark scripts: the offline, single-thread defaults they run under.

Set before torch, transformers or datasets are imported (they read these once): one torch thread
(NOTES.md: the default threading makes small loops 10-40x slower here), no Hugging Face hub look-ups,
no telemetry, a non-interactive matplotlib. A value already in the environment wins.
"""

import os

DEFAULTS = {
    "OMP_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "KEDRO_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "MPLBACKEND": "Agg",
}

for _key, _value in DEFAULTS.items():
    os.environ.setdefault(_key, _value)
