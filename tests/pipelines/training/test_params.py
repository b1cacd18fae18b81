"""Typed training parameters: both environments validate; a typo or a wrong type names the key;
conf/ is where save_steps, validation_fraction and warmup_ratio come from, and they reach the Trainer."""

from __future__ import annotations

import pytest
from conf_params import conf_block, merge
from pydantic import ValidationError

from lamini_lm.herd import HERD_KEYS, Herd, Hyperparameters, ModelSpec, SizeClasses
from lamini_lm.parameters import load_parameters
from lamini_lm.pipelines.training import nodes
from lamini_lm.pipelines.training.params import TrainingParams
from lamini_lm.pipelines.training.trainer import TrainingJob, training_arguments


def herd_params(env: str = "base", **overrides) -> dict:
    """The herd's keys (``models``, ``herd``, ``size_classes``, the variants) of ``env``, overrides deep-merged on top."""
    parameters = load_parameters(env)
    return merge({key: parameters[key] for key in HERD_KEYS}, overrides)


@pytest.mark.parametrize("env", ["base", "paper"])
def test_both_environments_validate(env):
    parameters = load_parameters(env)
    herd = Herd.from_parameters(parameters)
    TrainingParams.model_validate(parameters["training"])
    for name in herd.herd:
        resolved = herd.size_classes.for_model(name, herd.models[name])
        assert isinstance(resolved, Hyperparameters)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"models": {"tiny_t5": {"famly": "seq2seq"}}}, r"models\.tiny_t5\.famly"),
        ({"models": {"tiny_t5": {"family": "encoder-only"}}}, r"models\.tiny_t5\.family"),
        ({"models": {"tiny_t5": {"checkpoint": "t5-small"}}}, r"models\.tiny_t5\n.*exactly one of 'checkpoint'"),
        ({"models": {"tiny_t5": {"tokenizer": {"vocab_size": "big"}}}}, r"models\.tiny_t5\.tokenizer\.vocab_size"),
        (
            {"models": {"tiny_t5": {"overrides": {"learnin_rate": 1.0}}}},
            r"(?s)models\.tiny_t5\.overrides.*learnin_rate",
        ),
        ({"models": {"tiny_t5": {"overrides": {"epochs": 0}}}}, r"(?s)models\.tiny_t5\.overrides.*'overrides\.epochs'"),
        ({"size_classes": {"tiny": {"learnin_rate": 1.0}}}, r"size_classes\.tiny\.learnin_rate"),
        ({"size_classes": {"tiny": {"learning_rate": -1.0}}}, r"size_classes\.tiny\.learning_rate"),
        ({"size_classes": {"tiny": {"per_device_batch_size": 0}}}, r"size_classes\.tiny\.per_device_batch_size"),
        ({"size_classes": {"tiny": {"effective_batch_size": -4}}}, r"size_classes\.tiny\.effective_batch_size"),
        ({"size_classes": {"tiny": {"max_length": "256"}}}, r"size_classes\.tiny\.max_length"),
        ({"size_classes": {"tiny": {"per_device_batch_size": 16.5}}}, r"size_classes\.tiny\.per_device_batch_size"),
        ({"size_classes": {"tiny": {"effective_batch_size": True}}}, r"size_classes\.tiny\.effective_batch_size"),
        ({"size_classes": {"tiny": {"warmup_ratio": 1.0}}}, r"size_classes\.tiny\.warmup_ratio"),
        ({"size_classes": {"tiny": {"max_steps": 0}}}, r"size_classes\.tiny\.max_steps"),
    ],
)
def test_a_typo_or_wrong_type_in_the_herd_names_the_key(overrides, key):
    with pytest.raises(ValidationError, match=key):
        Herd.from_parameters(herd_params(**overrides))


def test_a_size_class_missing_a_key_names_it():
    params = herd_params()
    del params["size_classes"]["tiny"]["adam_epsilon"]
    with pytest.raises(ValidationError, match=r"size_classes\.tiny\.adam_epsilon\n\s+Field required"):
        Herd.from_parameters(params)


def test_herd_members_and_size_classes_are_checked_together():
    with pytest.raises(ValidationError, match=r"herd member\(s\) \['ghost'\] \(key 'herd'\)"):
        Herd.from_parameters(herd_params(herd=["tiny_t5", "ghost"]))
    with pytest.raises(ValidationError, match=r"'herd' lists \['tiny_t5'\] more than once"):
        Herd.from_parameters(herd_params(herd=["tiny_t5", "tiny_gpt2", "tiny_t5"]))
    with pytest.raises(ValidationError, match=r"Model 'tiny_gpt2'.*'huge'.*'models\.tiny_gpt2\.size_class'"):
        Herd.from_parameters(herd_params(models={"tiny_gpt2": {"size_class": "huge"}}))


def test_a_model_entry_alone_validates_as_kedro_does_for_params_models():
    entry = conf_block("models.tiny_gpt2")
    assert ModelSpec.model_validate(entry).tokenizer.vocab_size == entry["tokenizer"]["vocab_size"]
    with pytest.raises(ValidationError, match=r"needs 'tokenizer"):
        ModelSpec.model_validate({**entry, "tokenizer": None})
    with pytest.raises(ValidationError, match=r"'tokenizer' is for models built from 'config'"):
        ModelSpec.model_validate({**entry, "config": None, "checkpoint": "gpt2"})


@pytest.mark.parametrize(
    ("key", "value"),
    [("save_step", 50), ("validation_fraction", 1.5), ("launcher", "mpirun"), ("save_steps", 0), ("seed", "42")],
)
def test_a_typo_or_wrong_value_in_training_names_the_key(key, value):
    with pytest.raises(ValidationError, match=key):
        TrainingParams.model_validate(conf_block("training", **{key: value}))


def test_launcher_args_are_command_line_words():
    training = TrainingParams.model_validate(conf_block("training", launcher_args=["--nnodes", 2]))
    assert training.launcher_args == ["--nnodes", "2"]


def test_save_steps_and_validation_fraction_come_from_conf(lamini_rows, tmp_path):
    training = TrainingParams.model_validate(conf_block("training", max_train_rows=None, max_validation_rows=None))
    assert (training.save_steps, training.validation_fraction) == (50, 0.02)  # conf/base, no second default
    train, validation = nodes.split_dataset(lamini_rows, training, name="m")
    assert len(validation) == round(0.02 * len(lamini_rows))

    hyperparameters = SizeClasses.model_validate(conf_block("size_classes")).for_model(
        "tiny_gpt2", ModelSpec.model_validate(conf_block("models.tiny_gpt2"))
    )
    job = TrainingJob(
        name="m",
        family="causal",
        model=None,
        tokenizer=None,
        train=train,
        validation=validation,
        hyperparameters=hyperparameters,
        settings=training,
        work_dir=tmp_path,
    )
    args = training_arguments(job, world_size=1, use_cpu=True)
    assert (args.save_steps, args.save_total_limit, args.logging_steps) == (50, 2, 10)


def test_warmup_ratio_reaches_the_trainer_as_a_fraction_of_all_steps(tmp_path):
    """transformers 5 has no ``warmup_ratio`` argument: ``warmup_steps`` below 1 is the fraction."""
    size_classes = SizeClasses.model_validate(conf_block("size_classes"))
    spec = ModelSpec.model_validate(conf_block("models.tiny_t5"))
    hyperparameters = size_classes.for_model("tiny_t5", spec)
    assert hyperparameters.warmup_ratio == 0.05  # conf/base's tiny size class
    job = TrainingJob(
        name="m",
        family="seq2seq",
        model=None,
        tokenizer=None,
        train=None,
        validation=None,
        hyperparameters=hyperparameters,
        settings=TrainingParams.model_validate(conf_block("training")),
        work_dir=tmp_path,
    )
    args = training_arguments(job, world_size=1, use_cpu=True)
    assert args.warmup_steps == 0.05
    assert args.get_warmup_steps(200) == 10 and args.get_warmup_steps(1000) == 50  # a ratio, not 0 steps
    assert (args.adam_beta1, args.adam_beta2, args.adam_epsilon) == (0.9, 0.999, 1e-8)
    assert (args.learning_rate, args.lr_scheduler_type.value, args.max_steps) == (3e-3, "linear", -1)


def test_launcher_settings_reach_the_command_line(tmp_path):
    from lamini_lm.pipelines.training.launch import launch_command

    training = TrainingParams.model_validate(
        conf_block("training", launcher="torchrun", nproc_per_node=2, launcher_args=["--nnodes", 2])
    )
    command = launch_command(tmp_path, training)
    assert command[2:7] == ["torch.distributed.run", "--nproc_per_node", "2", "--nnodes", "2"]  # no --standalone
    accelerate = training.model_copy(
        update={"launcher": "accelerate", "accelerate_config": "conf/base/accelerate/ddp.yaml"}
    )
    assert launch_command(tmp_path, accelerate)[2:5] == [
        "accelerate.commands.launch",
        "--config_file",
        "conf/base/accelerate/ddp.yaml",
    ]
