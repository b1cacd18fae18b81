"""Training throughput: the project's batching vs the trainers a user would pick instead.

Same tokenised LaMini rows, same seeded initialisation, same optimiser steps, one process, runners
interleaved (rep 1: every runner, rep 2: every runner, ...), median and spread over ``--reps``:

- ``ours``: the project's entry point (``launch.train``): length-grouped order + dynamic padding
  (``collate.py``); for seq2seq with ``training.packing: auto`` resolved by
  :func:`~lamini_lm.pipelines.training.collate.choose_packing`, and the two fixed choices
  ``ours-packed`` / ``ours-unpacked`` beside it.
- ``hf``: the common default, HF ``Trainer`` (causal) or ``Seq2SeqTrainer`` (seq2seq) with
  ``train_sampling_strategy="group_by_length"`` (transformers 5's ``group_by_length``) and
  ``DataCollatorForSeq2Seq``.
- causal only, TRL ``SFTTrainer`` (pre-tokenised ``input_ids`` + ``labels``, ``max_length`` 512):
  ``trl-bfd`` (packing, best-fit decreasing: padding-free rows), ``trl-wrapped`` (packing,
  wrapped), ``trl-padding-free`` (no packing, each batch flattened into one row). TRL has no
  encoder-decoder SFT.
- ``max_length`` (opt-in): the naive baseline, random order, every batch padded to 512.

Useful tokens are non-pad tokens fed to the model (seq2seq: encoder + decoder); loss tokens are
labels that are not -100. Both per second of ``train_runtime`` (the Trainer's own clock: TRL's
packing of the dataset happens before it, in the trainer's constructor, and is not counted).
A runner that fails is reported with its error. ``--shapes real`` trains GPT-2-124M-, T5-small- and
T5-base-shaped students (random initialisation from the published configs, no download).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_throughput.py                    # tiny students, all peers
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_throughput.py --shapes real --models t5-small --steps 8
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from common.training_students import (  # noqa: E402  (sets the offline/thread environment first)
    MAX_LENGTH,
    REAL,
    TINY,
    build_model,
    hyperparameters,
    lengths,
    load_rows,
    prepare,
    train_ours,
    training_settings,
)

from lamini_lm.pipelines.training.collate import choose_packing, packing_cost  # noqa: E402
from lamini_lm.pipelines.training.tokenize import IGNORE_INDEX, as_records  # noqa: E402
from lamini_lm.pipelines.training.trainer import training_order  # noqa: E402

RUNNERS = {
    "causal": ["ours", "hf", "trl-bfd", "trl-wrapped", "trl-padding-free"],
    "seq2seq": ["ours-packed", "ours-unpacked", "hf"],  # "ours" is the one of the two that `auto` picks
}
# --shapes real: ours vs the HF default (TRL's padding-free paths take minutes per step on CPU at these shapes);
# ours-full-logits is ours with training.loss_on_labels_only off (the LM head on every position, as the model's own).
REAL_RUNNERS = {"causal": ["ours", "hf", "ours-full-logits"], "seq2seq": ["ours-packed", "ours-unpacked", "hf"]}
SLOW_PEERS = {"trl-bfd", "trl-padding-free"}  # attention over a whole flattened batch: minutes per step on CPU


class Counting:
    """Counts useful and loss tokens of every training batch (a mix-in for the peers' trainers)."""

    useful = loss = 0

    def compute_loss(self, model, inputs, *args, **kwargs):
        labels = inputs["labels"]
        self.loss += int((labels != IGNORE_INDEX).sum())
        mask = inputs.get("attention_mask")
        self.useful += int(mask.sum()) if mask is not None and mask.dim() == 2 else inputs["input_ids"].numel()
        if "decoder_input_ids" in inputs or model.config.is_encoder_decoder:
            self.useful += int((labels != IGNORE_INDEX).sum())
        return super().compute_loss(model, inputs, *args, **kwargs)


def run_ours(label, family, model, tokenizer, train_rows, validation, hp, work: Path) -> dict:
    """``ours`` (conf/base's training block: packing auto, loss on labels only) and its variants."""
    update = {"work_dir": str(work)}
    if label in ("ours-packed", "ours-unpacked"):
        update["packing"] = label == "ours-packed"
    if label == "ours-full-logits":
        update["loss_on_labels_only"] = False
    _, metrics, loss_tokens = train_ours(
        label, family, model, tokenizer, train_rows, validation, hp, training_settings(**update)
    )
    return {
        "runtime": metrics["train_runtime_s"],
        "useful": metrics["train_tokens"],
        "loss": loss_tokens,
        "padding": metrics["padding_fraction"],
        "note": "packed" if metrics["packing"] else "",
    }


def run_peer(label, family, model, tokenizer, train_rows, hp, work: Path) -> dict:
    import datasets
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments, Trainer

    data = datasets.Dataset.from_dict(
        {"input_ids": as_records(train_rows)["input_ids"], "labels": as_records(train_rows)["labels"]}
    )
    common = dict(
        output_dir=str(work),
        per_device_train_batch_size=hp.per_device_batch_size,
        max_steps=hp.max_steps,
        learning_rate=hp.learning_rate,
        warmup_steps=0,
        lr_scheduler_type=hp.lr_scheduler_type,
        seed=42,
        data_seed=42,
        save_strategy="no",
        logging_steps=10_000,
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    if label == "hf":
        collator = DataCollatorForSeq2Seq(
            tokenizer, model=model if family == "seq2seq" else None, label_pad_token_id=IGNORE_INDEX
        )
        if family == "causal":
            base, args = Trainer, dict(common, train_sampling_strategy="group_by_length")
            from transformers import TrainingArguments as Arguments
        else:
            base, args, Arguments = Seq2SeqTrainer, dict(common, train_sampling_strategy="group_by_length"), None
            Arguments = Seq2SeqTrainingArguments
        trainer_class = type("CountingHF", (Counting, base), {})
        trainer = trainer_class(
            model=model, args=Arguments(**args), train_dataset=data, data_collator=collator, processing_class=tokenizer
        )
    else:
        from trl import SFTConfig, SFTTrainer

        options = {
            "trl-bfd": dict(packing=True, packing_strategy="bfd", max_length=MAX_LENGTH),
            "trl-wrapped": dict(packing=True, packing_strategy="wrapped", max_length=MAX_LENGTH),
            "trl-padding-free": dict(padding_free=True, max_length=None),  # rows are already truncated to 512
        }[label]
        trainer_class = type("CountingSFT", (Counting, SFTTrainer), {})
        trainer = trainer_class(
            model=model, args=SFTConfig(**common, **options), train_dataset=data, processing_class=tokenizer
        )
    result = trainer.train()
    runtime = float(result.metrics["train_runtime"])
    return {"runtime": runtime, "useful": trainer.useful, "loss": trainer.loss, "padding": None, "note": ""}


def measure(label, family, config, real, tokenizer, train_rows, validation, hp, tmp: Path) -> dict:
    model = build_model(family, config, tokenizer, real)
    work = tmp / f"{label}_{time.monotonic_ns()}"
    try:
        if label.startswith("ours"):
            return run_ours(label, family, model, tokenizer, train_rows, validation, hp, work)
        if label == "max_length":
            settings = training_settings(work_dir=str(work), batching="max_length", packing=False)
            _, m, _ = train_ours(label, family, model, tokenizer, train_rows, validation, hp, settings)
            return {
                "runtime": m["train_runtime_s"],
                "useful": m["train_tokens"],
                "loss": float("nan"),
                "padding": m["padding_fraction"],
                "note": "",
            }
        return run_peer(label, family, model, tokenizer, train_rows, hp, work)
    except Exception as error:  # a peer that fails is reported, not skipped
        traceback.print_exc(limit=3)
        return {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"}


def probe_packing(name: str, shapes: dict, rows, args, hp) -> None:
    """Packed vs unpacked on the same batches: forward + backward timed in alternation (A B, B A, ...).

    Isolates the layout from the rest of training (and alternation from the machine's load), and sets the
    measured ratio beside :func:`packing_cost`'s estimate: the check of ``training.packing: auto``.
    """
    from lamini_lm.pipelines.training.collate import DynamicPaddingCollator, layout_cost, pack_rows
    from lamini_lm.pipelines.training.trainer import packed_model_inputs

    family, config = shapes[name]
    tokenizer, train_rows, _ = prepare(family, rows, args.vocab, hp)
    model = build_model(family, config, tokenizer, args.shapes == "real").train()
    records = as_records(train_rows)
    batches = training_order(records, family, hp.per_device_batch_size, 42).batches()[: args.probe_batches]
    features = [[{"input_ids": records["input_ids"][i], "labels": records["labels"][i]} for i in b] for b in batches]
    collate = {
        pack: DynamicPaddingCollator(
            pad_token_id=tokenizer.pad_token_id,
            family=family,
            pack=pack,
            pack_length=hp.max_length,
            decoder_start_token_id=model.config.decoder_start_token_id,
        )
        for pack in (False, True)
    }
    estimate = {False: 0.0, True: 0.0}
    for f in features:
        src, tgt = [len(x["input_ids"]) for x in f], [len(x["labels"]) for x in f]
        estimate[False] += layout_cost(model.config, len(f), max(src), max(tgt))
        packed_rows = pack_rows(src, tgt, hp.max_length)
        widths = [(sum(src[i] for i in r), sum(tgt[i] for i in r)) for r in packed_rows]
        estimate[True] += layout_cost(
            model.config, len(packed_rows), max(w[0] for w in widths), max(w[1] for w in widths)
        )

    def step(pack: bool, f) -> float:
        batch = collate[pack](f)
        started = time.perf_counter()
        inputs = packed_model_inputs(model, batch) if pack else batch
        model(**inputs).loss.backward()
        model.zero_grad(set_to_none=True)
        return time.perf_counter() - started

    step(False, features[0])  # warm-up
    ratios = []
    for rep in range(args.reps):
        spent = {False: 0.0, True: 0.0}
        for k, f in enumerate(features):
            for pack in (False, True) if (rep + k) % 2 == 0 else (True, False):
                spent[pack] += step(pack, f)
        ratios.append(spent[True] / spent[False])
        print(
            f"  rep {rep + 1} {name}: packed/unpacked time {ratios[-1]:.2f} (load {os.getloadavg()[0]:.1f})", flush=True
        )
    padding = {p: c.stats.padding_fraction for p, c in collate.items()}
    print(
        f"{name}: packed/unpacked time, median {statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}] "
        f"over {len(features)} batches of {hp.per_device_batch_size}; estimated {estimate[True] / estimate[False]:.2f}; "
        f"padding {padding[True]:.1%} packed vs {padding[False]:.1%}; auto packs: "
        f"{choose_packing('auto', family, 'grouped', model.config, *lengths(train_rows, hp))}"
    )


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):9.0f} [{min(values):.0f}-{max(values):.0f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", choices=["tiny", "real"], default="tiny")
    parser.add_argument("--models", default=None, help="comma-separated model names (default: all of --shapes)")
    parser.add_argument("--runners", default=None, help="comma-separated runners (default: every runner of the family)")
    parser.add_argument("--rows", type=int, default=2000, help="rows tokenised (the epoch the batches are drawn from)")
    parser.add_argument("--steps", type=int, default=20, help="optimiser steps per run")
    parser.add_argument("--batch", type=int, default=16, help="examples (or, for TRL packing, packed rows) per step")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (runners interleaved within each)")
    parser.add_argument(
        "--slow-peer-steps", type=int, default=3, help=f"steps for {sorted(SLOW_PEERS)} (a rate: fewer steps suffice)"
    )
    parser.add_argument("--slow-peer-reps", type=int, default=3, help="repetitions of the slow peers")
    parser.add_argument(
        "--probe-batches", type=int, default=0, help="instead of training: time N batches packed vs unpacked (seq2seq)"
    )
    parser.add_argument("--vocab", type=int, default=8192, help="BPE tokenizer vocabulary trained on the rows")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    import transformers
    import trl

    shapes = REAL if args.shapes == "real" else TINY
    models = args.models.split(",") if args.models else list(shapes)
    rows = load_rows(args.rows)
    hp = hyperparameters(args.batch, args.steps)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} torch {torch.__version__} transformers "
        f"{transformers.__version__} trl {trl.__version__} threads={torch.get_num_threads()} load={os.getloadavg()[0]:.1f} "
        f"rows={args.rows} steps={args.steps} batch={args.batch} max_length={MAX_LENGTH} reps={args.reps}"
    )
    if args.probe_batches:
        for name in models:
            probe_packing(name, shapes, rows, args, hp)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in models:
            family, config = shapes[name]
            tokenizer, train_rows, validation = prepare(family, rows, args.vocab, hp)
            runners = (
                args.runners.split(",")
                if args.runners
                else (REAL_RUNNERS if args.shapes == "real" else RUNNERS)[family]
            )
            model = build_model(family, config, tokenizer, args.shapes == "real")
            millions = sum(p.numel() for p in model.parameters()) / 1e6
            decision = choose_packing("auto", family, "grouped", model.config, *lengths(train_rows, hp))
            if family == "seq2seq":
                packed, unpacked = packing_cost(model.config, *lengths(train_rows, hp))
                print(f"{name}: packing auto -> {decision} (estimated cost packed/unpacked {packed / unpacked:.2f})")
            del model
            results: dict[str, list[dict]] = {r: [] for r in runners}
            slow_hp = hp.model_copy(update={"max_steps": min(args.steps, args.slow_peer_steps)})
            # A discarded 1-step run first: the process's first training pays one-off costs (allocator, kernels'
            # first calls) that would otherwise land on whichever runner comes first.
            warm = hp.model_copy(update={"max_steps": 1})
            measure(
                runners[0], family, config, args.shapes == "real", tokenizer, train_rows, validation, warm, Path(tmp)
            )
            for rep in range(args.reps):
                # rotate the order each repetition: no runner is always first or always last
                for runner in runners[rep % len(runners) :] + runners[: rep % len(runners)]:
                    if runner in SLOW_PEERS and rep >= args.slow_peer_reps:
                        continue
                    run_hp = slow_hp if runner in SLOW_PEERS else hp
                    result = measure(
                        runner,
                        family,
                        config,
                        args.shapes == "real",
                        tokenizer,
                        train_rows,
                        validation,
                        run_hp,
                        Path(tmp),
                    )
                    results[runner].append(result)
                    shown = result.get("error") or f"{result['useful'] / result['runtime']:.0f} useful tok/s"
                    print(f"  rep {rep + 1} {name} {runner}: {shown} (load {os.getloadavg()[0]:.1f})", flush=True)
            print(f"\n{name} ({family}, {millions:.1f}M parameters, {len(train_rows)} rows)")
            print(
                f"{'runner':18} {'useful tok/s median [range]':>30} {'loss tok/s median [range]':>28} {'padding':>8} {'ours/x':>7}"
            )
            if family == "seq2seq" and "ours" not in results:
                chosen = "ours-packed" if decision else "ours-unpacked"
                if chosen in results:
                    results = {f"ours (={chosen})": results[chosen], **results}
            ok = {r: v for r, v in results.items() if all("error" not in x for x in v)}
            ours = next((r for r in ok if r == "ours" or r.startswith("ours (")), None)
            base = [x["useful"] / x["runtime"] for x in ok[ours]] if ours else None
            for runner, values in results.items():
                if runner not in ok:
                    print(f"{runner:18} FAILED: {next(x['error'] for x in values if 'error' in x)}")
                    continue
                useful = [x["useful"] / x["runtime"] for x in values]
                loss = [x["loss"] / x["runtime"] for x in values]
                padding = values[0]["padding"]
                ratio = statistics.median(base) / statistics.median(useful) if base else float("nan")
                shown_padding = "" if padding is None else f"{padding:.1%}"
                print(f"{runner:18} {spread(useful):>30} {spread(loss):>28} {shown_padding:>8} {ratio:7.2f}")
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
