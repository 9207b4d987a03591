"""Write a tiny Qwen2-architecture GGUF whose behaviour is set by hand, for llama-server tests.

    python scripts/llama/tiny_model.py OUT.gguf

No weights are downloaded or trained. The model is one layer, 64 wide, over a byte-level
vocabulary (every byte is a token, plus the Qwen2.5 special tokens), and carries a
Qwen2.5-style chat template, so llama-server applies its real tool-call machinery to it.

How it behaves (greedy or sampled alike: the winning logit leads by a wide margin):

- The residual stream is mostly a one-hot "class" of the current token, and the output
  matrix maps classes to next tokens: a bigram table. Chains of distinct characters spell
  fixed replies and end in `<|im_end|>`.
- One attention head, queried only from a newline (the last token of the generation prompt
  `<|im_start|>assistant\\n`), looks for `<tool_call>` and `<tool_response>` tokens earlier in
  the prompt. `<tool_response>` scores higher, so it wins whenever present. Its value lands
  in two flag dimensions of the residual.
- Flag "tools offered" (the template's tool instructions contain `<tool_call>`) makes the
  first token `<tool_call>` (then a newline, which llama-server's lazy grammar waits for); the
  grammar then forces a valid JSON call to one of the offered tools, and weak constant
  preferences pick the tool (a name starting with "r" if any, else the sampler's choice) and
  close strings and objects quickly.
- Flag "a tool answered" makes the reply `DONE!`; with neither flag the reply is `Jumpy fox.`
- A free-form string argument comes out as `Jumpy fox.`: the opening quote starts that chain.

Query and key sit on the last rotary pair, which at this frequency base barely rotates over
the context, so the match is by content, not position.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import gguf
import numpy as np

D_MODEL = 64
HEAD_DIM = 64
N_FF = 64
CONTEXT = 32768

# Residual-stream layout.
CONST, F_CALL, F_RESP = 0, 1, 2
FIRST_CLASS = 3
QK_DIM = HEAD_DIM // 2 - 1  # NEOX rotary pairs (i, i + d/2); this pair turns slowest

SPECIALS: list[tuple[str, gguf.TokenType]] = [
    ("<|endoftext|>", gguf.TokenType.CONTROL),
    ("<|im_start|>", gguf.TokenType.CONTROL),
    ("<|im_end|>", gguf.TokenType.CONTROL),
    # Qwen2.5 ships these four as ordinary added tokens, so grammars can match them as text.
    ("<tool_call>", gguf.TokenType.USER_DEFINED),
    ("</tool_call>", gguf.TokenType.USER_DEFINED),
    ("<tool_response>", gguf.TokenType.USER_DEFINED),
    ("</tool_response>", gguf.TokenType.USER_DEFINED),
]

NO_TOOL_REPLY = "Jumpy fox."
AFTER_TOOL_REPLY = "DONE!"

# A Qwen2.5-style chat template (chat_template.jinja): the same markup (im_start/im_end turns, a <tools> block in
# the system turn, <tool_call> JSON in assistant turns, <tool_response> in user turns), so
# llama-server's template analysis finds the tool-call format.
CHAT_TEMPLATE = (Path(__file__).parent / "chat_template.jinja").read_text()


def byte_tokens() -> list[str]:
    """GPT-2's byte-to-unicode map: each byte as a printable character, as BPE vocabularies
    spell their byte tokens (a space is 'Ġ', a newline 'Ċ')."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping: dict[int, str] = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return [mapping[b] for b in range(256)]


class Vocab:
    def __init__(self) -> None:
        self.tokens = byte_tokens()
        self.types = [gguf.TokenType.NORMAL] * 256
        # llama.cpp requires a merges list; one merge (two spaces) keeps tokenization byte-level.
        self.tokens.append(self.tokens[ord(" ")] * 2)
        self.types.append(gguf.TokenType.NORMAL)
        self.merges = [f"{self.tokens[ord(' ')]} {self.tokens[ord(' ')]}"]
        for text, kind in SPECIALS:
            self.tokens.append(text)
            self.types.append(kind)

    def id(self, text: str) -> int:
        """The id of a special token or of a one-byte character."""
        if len(text.encode()) == 1:
            return text.encode()[0]
        return self.tokens.index(text)

    def __len__(self) -> int:
        return len(self.tokens)


def chain(reply: str, vocab: Vocab) -> list[tuple[int, int]]:
    """(current, next) pairs spelling `reply` then `<|im_end|>`; characters must not repeat."""
    ids = [vocab.id(c) for c in reply]
    if len(set(ids)) != len(ids):
        raise ValueError(f"reply {reply!r} repeats a character; a bigram chain cannot spell it")
    ids.append(vocab.id("<|im_end|>"))
    return list(itertools.pairwise(ids))


def build(vocab: Vocab) -> dict[str, np.ndarray]:
    nl, quote = vocab.id("\n"), vocab.id('"')
    tool_call, tool_resp = vocab.id("<tool_call>"), vocab.id("<tool_response>")
    transitions = [
        # llama-server's tool-call grammar waits for `<tool_call>` and a newline before it starts.
        (tool_call, nl),
        (nl, vocab.id(NO_TOOL_REPLY[0])),
        (quote, vocab.id(NO_TOOL_REPLY[0])),
        *chain(NO_TOOL_REPLY, vocab),
        *chain(AFTER_TOOL_REPLY, vocab),
    ]
    sources = sorted({nl, quote, tool_call, tool_resp, *(src for src, _ in transitions)})
    klass = {tok: FIRST_CLASS + 1 + i for i, tok in enumerate(sources)}  # FIRST_CLASS: all others
    if max(klass.values()) >= D_MODEL:
        raise ValueError("too many chain tokens for the model width")

    n_vocab = len(vocab)
    embd = np.zeros((n_vocab, D_MODEL), np.float32)
    embd[:, CONST] = 1.0
    for tok in range(n_vocab):
        embd[tok, klass.get(tok, FIRST_CLASS)] = 1.0
    # RMS-normalised, a (const, class) embedding reads sqrt(D/2) on each of its two dims.
    unit = float(np.sqrt(D_MODEL / 2))

    # Attention: query only from a newline; keys on the two markers; <tool_response> outscores
    # <tool_call> by e^20, which outscores every ordinary token by e^20 (scale 1/sqrt(head_dim)).
    wq = np.zeros((HEAD_DIM, D_MODEL), np.float32)
    wk = np.zeros((HEAD_DIM, D_MODEL), np.float32)
    wv = np.zeros((HEAD_DIM, D_MODEL), np.float32)
    wo = np.zeros((D_MODEL, HEAD_DIM), np.float32)
    q_level = float(np.sqrt(HEAD_DIM))
    wq[QK_DIM, klass[nl]] = q_level / unit
    wk[QK_DIM, klass[tool_call]] = 20.0 / unit
    wk[QK_DIM, klass[tool_resp]] = 40.0 / unit
    wv[0, klass[tool_call]] = 1.0 / unit
    wv[1, klass[tool_resp]] = 1.0 / unit
    wo[F_CALL, 0] = 1.0
    wo[F_RESP, 1] = 1.0

    # Output: logits = out @ rmsnorm(residual). After normalisation a set dim reads ~4.6-5.7.
    out = np.zeros((n_vocab, D_MODEL), np.float32)
    for src, nxt in transitions:
        out[nxt, klass[src]] = 12.0
    out[tool_call, F_CALL] = 24.0
    out[vocab.id(AFTER_TOOL_REPLY[0]), F_RESP] = 36.0
    # Weak preferences for whenever no chain applies (inside a grammar, after an unknown token):
    # end the turn, close a string, close an object, open one, close the tool call, separate a
    # key (so optional whitespace is never chosen). The quote must outrank `</tool_call>`,
    # whose text a JSON string may legally contain.
    # Among several tools it starts a name with "r" where it can (skipjack's `read`), so which
    # tool it calls does not depend on how the sampler breaks ties.
    prefer = (
        ("<|im_end|>", 8.0),
        ('"', 7.0),
        ("}", 6.0),
        ("{", 5.0),
        ("</tool_call>", 4.0),
        (":", 3.0),
        ("r", 2.0),
    )
    for text, weight in prefer:
        out[vocab.id(text), CONST] = weight

    zeros_ff = np.zeros((N_FF, D_MODEL), np.float32)
    return {
        "token_embd.weight": embd,
        "blk.0.attn_norm.weight": np.ones(D_MODEL, np.float32),
        "blk.0.attn_q.weight": wq,
        "blk.0.attn_q.bias": np.zeros(HEAD_DIM, np.float32),
        "blk.0.attn_k.weight": wk,
        "blk.0.attn_k.bias": np.zeros(HEAD_DIM, np.float32),
        "blk.0.attn_v.weight": wv,
        "blk.0.attn_v.bias": np.zeros(HEAD_DIM, np.float32),
        "blk.0.attn_output.weight": wo,
        "blk.0.ffn_norm.weight": np.ones(D_MODEL, np.float32),
        # A zero feed-forward block: the layer is attention only.
        "blk.0.ffn_gate.weight": zeros_ff,
        "blk.0.ffn_up.weight": zeros_ff.copy(),
        "blk.0.ffn_down.weight": np.zeros((D_MODEL, N_FF), np.float32),
        "output_norm.weight": np.ones(D_MODEL, np.float32),
        "output.weight": out,
    }


def write(path: Path) -> None:
    vocab = Vocab()
    tensors = build(vocab)
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_name("skipjack-tiny-qwen2")
    w.add_context_length(CONTEXT)
    w.add_embedding_length(D_MODEL)
    w.add_block_count(1)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(D_MODEL // HEAD_DIM)
    w.add_head_count_kv(D_MODEL // HEAD_DIM)
    w.add_rope_freq_base(1_000_000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(vocab.tokens)
    w.add_token_types([int(t) for t in vocab.types])
    w.add_token_merges(vocab.merges)
    w.add_bos_token_id(vocab.id("<|endoftext|>"))
    w.add_eos_token_id(vocab.id("<|im_end|>"))
    w.add_eot_token_id(vocab.id("<|im_end|>"))
    w.add_pad_token_id(vocab.id("<|endoftext|>"))
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)
    for name, array in tensors.items():
        w.add_tensor(name, array)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    write(tmp)
    tmp.replace(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
