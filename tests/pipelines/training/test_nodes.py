"""Nodes on tiny inputs, including every bad input the issue names (errors name model and key)."""

from __future__ import annotations

import pytest
from conf_params import conf_block

from lamini_lm.herd import Hyperparameters, ModelSpec
from lamini_lm.pipelines.training import nodes


def test_split_uses_the_split_column_when_present(lamini_rows, training):
    frame = lamini_rows.head(10).assign(split=["validation"] * 3 + ["train"] * 7)
    train, validation = nodes.split_dataset(frame, training, name="m")
    assert len(train) == 7 and len(validation) == 3
    assert set(validation["instruction"]) == set(frame["instruction"].head(3))


def test_split_without_column_is_seeded_and_disjoint(lamini_rows, training):
    training = training.model_copy(update={"max_train_rows": None, "max_validation_rows": None})
    train, validation = nodes.split_dataset(lamini_rows, training, name="m")
    again_train, again_validation = nodes.split_dataset(lamini_rows, training, name="m")
    assert len(validation) == 30 and len(train) == 270
    assert validation["instruction"].tolist() == again_validation["instruction"].tolist()
    assert lamini_rows["instruction"].is_unique
    assert not set(train["instruction"]) & set(validation["instruction"])
    other, _ = nodes.split_dataset(lamini_rows, training.model_copy(update={"seed": 8}), name="m")
    assert other["instruction"].tolist() != train["instruction"].tolist()


def test_split_caps_rows(lamini_rows, training):
    train, validation = nodes.split_dataset(lamini_rows, training, name="m")
    assert (len(train), len(validation)) == (240, 24)


def test_missing_column_names_model_and_column(lamini_rows, training):
    with pytest.raises(ValueError, match=r"Model 'tiny_t5'.*lamini_dataset.*\['response'\]"):
        nodes.split_dataset(lamini_rows.drop(columns="response"), training, name="tiny_t5")


def test_empty_dataset_names_model(lamini_rows, training):
    with pytest.raises(ValueError, match=r"Model 'tiny_t5'.*lamini_dataset.*empty"):
        nodes.split_dataset(lamini_rows.head(0), training, name="tiny_t5")


def test_blank_response_names_the_row(lamini_rows, training):
    frame = lamini_rows.head(5).copy()
    frame.loc[3, "response"] = "  "
    with pytest.raises(ValueError, match=r"empty 'response' \(first: row 3\)"):
        nodes.split_dataset(frame, training, name="m")


def test_evaluation_data_is_refused(lamini_rows, training):
    frame = lamini_rows.head(5).copy()
    frame.loc[2, "instruction_source"] = "user_oriented_instructions"
    with pytest.raises(ValueError, match=r"row 2 comes from evaluation data"):
        nodes.split_dataset(frame, training, name="m")


def test_missing_checkpoint_path_names_model_key_and_path(lamini_rows, tmp_path):
    entry = ModelSpec(family="causal", size_class="tiny", checkpoint=str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"Model 'mine'.*nowhere.*'models.mine.checkpoint'.*does not exist"):
        nodes.build_tokenizer(lamini_rows, entry, name="mine")


def test_unloadable_hub_id_names_model_and_key(lamini_rows):
    entry = ModelSpec(family="causal", size_class="tiny", checkpoint="no-such-org/no-such-model")
    with pytest.raises(OSError, match=r"Model 'mine'.*no-such-org/no-such-model.*'models.mine.checkpoint'"):
        nodes.build_tokenizer(lamini_rows, entry, name="mine")


def test_unknown_size_class_and_overrides(models, size_classes):
    with pytest.raises(ValueError, match=r"Model 'tiny_t5'.*'huge'.*'models.tiny_t5.size_class'"):
        size_classes.for_model("tiny_t5", models["tiny_t5"].model_copy(update={"size_class": "huge"}))
    spec = ModelSpec.model_validate({**models["tiny_t5"].model_dump(), "overrides": {"learning_rate": 1.0}})
    resolved = size_classes.for_model("tiny_t5", spec)
    assert resolved.learning_rate == 1.0 and resolved.max_length == 96
    assert size_classes.for_model("tiny_t5", models["tiny_t5"]).learning_rate == 5e-3


def test_gradient_accumulation_reaches_the_effective_batch():
    hp = Hyperparameters.model_validate(
        conf_block("size_classes.tiny", per_device_batch_size=128, effective_batch_size=512)
    )
    assert hp.gradient_accumulation(1) == 4
    assert hp.gradient_accumulation(2) == 2
    assert hp.gradient_accumulation(8) == 1


def test_training_refuses_data_tokenised_with_another_tokenizer(lamini_rows, models, hyperparameters, training):
    train, validation = nodes.split_dataset(lamini_rows, training, name="tiny_gpt2")
    tokenizer = nodes.build_tokenizer(train, models["tiny_gpt2"], name="tiny_gpt2")
    tokenized_train, tokenized_validation = nodes.tokenize_dataset(
        train, validation, tokenizer, models["tiny_gpt2"], hyperparameters, name="tiny_gpt2"
    )
    other = nodes.build_tokenizer(train.head(50), models["tiny_gpt2"], name="tiny_gpt2")
    student = nodes.initialise_student(other, models["tiny_gpt2"], training, name="tiny_gpt2")
    with pytest.raises(
        ValueError, match=r"Model 'tiny_gpt2'.*'tiny_gpt2.tokenized_train' was tokenised with tokenizer"
    ):
        nodes.train_student(
            student,
            tokenized_train,
            tokenized_validation,
            train,
            models["tiny_gpt2"],
            hyperparameters,
            training,
            None,
            name="tiny_gpt2",
        )


def test_max_length_beyond_model_positions_is_refused(lamini_rows, models, hyperparameters, training):
    models["tiny_gpt2"].config["n_positions"] = 64
    train, validation = nodes.split_dataset(lamini_rows.head(40), training, name="tiny_gpt2")
    tokenizer = nodes.build_tokenizer(train, models["tiny_gpt2"], name="tiny_gpt2")
    tables = nodes.tokenize_dataset(
        train, validation, tokenizer, models["tiny_gpt2"], hyperparameters, name="tiny_gpt2"
    )
    student = nodes.initialise_student(tokenizer, models["tiny_gpt2"], training, name="tiny_gpt2")
    with pytest.raises(ValueError, match=r"Model 'tiny_gpt2': max_length 96 exceeds the model's 64 positions"):
        nodes.train_student(
            student, *tables, train, models["tiny_gpt2"], hyperparameters, training, None, name="tiny_gpt2"
        )


def test_initialised_student_is_seeded(lamini_rows, models, training):
    tokenizer = nodes.build_tokenizer(lamini_rows, models["tiny_t5"], name="tiny_t5")
    first = nodes.initialise_student(tokenizer, models["tiny_t5"], training, name="tiny_t5")
    second = nodes.initialise_student(tokenizer, models["tiny_t5"], training, name="tiny_t5")
    assert first.name == "tiny_t5" and first.family == "seq2seq"
    assert first.model.config.vocab_size == len(tokenizer) == 400
    weights = first.model.state_dict()
    assert all((weights[k] == v).all() for k, v in second.model.state_dict().items())
