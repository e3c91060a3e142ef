"""tokenfilter's files for Python: token shards, per-token side files, masked training batches
and the model, with numpy only (PyTorch optional).

What is here (one file on purpose: copy it next to your training script):

* ``read_shard`` / ``read_shard_header``: llm.c token shards (256 x int32 header, then uint16
  tokens under magic 20240520 version 1, or uint32 tokens under llm.c's magic 20240801 version 7
  or tokenfilter's older magic 20240520 version 2), checked as strictly as tokenfilter's
  TypeScript reader; ``write_shard`` (version 1 or 7).
* ``read_side_file`` / ``read_side_file_header``: per-token side files (loss mask, labels,
  scores), same header layout with their own magic.
* ``tokenizer_contract_from_json``: the tokenizer contract (vocabulary size, special ids, hash)
  tokenfilter records for a ``tokenizer.json``, to pass as ``expect_tokenizer``.
* ``BatchSampler``: the random (inputs, targets, loss_mask) windows of tokenfilter's
  ``BatchSampler``: the same seed gives the same windows, in the same order, as the TypeScript
  sampler. ``sequential_batches``: every target once, in order, as ``sequentialBatches``.
* ``read_safetensors`` / ``write_safetensors``: a strict safetensors parser and writer.
* ``load_model`` and ``NumpyGPT``: the model's parameters and a numpy forward pass whose logits
  match ``Transformer.logits``. ``read_model_tokenizer`` / ``read_model_contract``: the
  ``tokenizer.json`` a model or checkpoint embeds and the tokenizer contract it records.
* ``cosine_lr`` and ``TRAIN_DEFAULTS``: trainMasked's schedule and settings.
* With PyTorch installed: ``TokenfilterGPT`` (an ``nn.Module`` with ``load_safetensors``,
  ``save_safetensors``, ``loss`` and ``optimizer_groups``), ``MaskedWindows`` (an
  ``IterableDataset`` of batches as torch tensors) and ``load_adamw_state`` (resume a
  tokenfilter training checkpoint in ``torch.optim.AdamW``).

The loss-mask alignment: ``loss_mask[b, t]`` belongs to ``targets[b, t]`` (the token at
position start + t + 1 of the shard); a 0 removes that target from the loss, while the token
still serves as input context. docs/model.md and docs/python.md describe the rest.

Errors raised on purpose are ``TokenfilterError`` with a stable ``code`` (the codes of
tokenfilter's TypeScript API: E_FILE_FORMAT, E_TOKENIZER_MISMATCH, E_MISMATCH, E_OPTION,
E_NOT_FINITE, E_IO).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import struct
import sys
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

try:  # PyTorch is optional: the numpy parts work without it
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

if sys.byteorder != "little":  # pragma: no cover
    raise ImportError("tokenfilter file formats need a little-endian host")

# ---------------------------------------------------------------------------------------------
# errors

class TokenfilterError(Exception):
    """A deliberate failure with a stable ``code`` (branch on the code, never on the text)."""

    def __init__(self, code: str, message: str, path: Optional[str] = None):
        super().__init__(message)
        self.code = code
        self.path = path


def _fail(code: str, path: Optional[str], message: str):
    raise TokenfilterError(code, f"{path}: {message}" if path else message, path)


# ---------------------------------------------------------------------------------------------
# the 256-word header and the tokenizer contract

HEADER_WORDS = 256
HEADER_BYTES = HEADER_WORDS * 4
SHARD_MAGIC = 20240520
LLMC_UINT32_MAGIC = 20240801  # llm.c's uint32 shards (version 7)
SIDE_FILE_MAGIC = 20261122
CONTRACT_WORD = 8


@dataclass(frozen=True)
class TokenizerContract:
    """What a file records of its tokenizer (header words 8..14); vocab_size 0 = none recorded."""

    vocab_size: int
    eot_id: int
    hidden_id: int
    hash_prefix: str  # 32 lowercase hex digits ('' when nothing is recorded)

    @staticmethod
    def from_hash(vocab_size: int, eot_id: int, hidden_id: int, tokenizer_hash: str) -> "TokenizerContract":
        """The contract a file records for a tokenizer with this hash (``Tokenizer.hash``)."""
        return TokenizerContract(vocab_size, eot_id, hidden_id, tokenizer_hash_prefix(tokenizer_hash))

    def describe(self) -> str:
        if self.vocab_size == 0:
            return "no tokenizer recorded (a plain llm.c/nanoGPT file)"
        return f"vocab {self.vocab_size}, eot {self.eot_id}, hidden {self.hidden_id}, hash {self.hash_prefix}"


def tokenizer_hash_prefix(tokenizer_hash: str) -> str:
    """The 32 hex digits a file records for a hash: its first 32 digits when it is hexadecimal
    with at least 32 digits, else the first 16 bytes of SHA-256 of the string."""
    if not isinstance(tokenizer_hash, str) or not tokenizer_hash:
        _fail("E_OPTION", None, "tokenizer hash must be a non-empty string")
    if re.fullmatch(r"[0-9a-fA-F]{32,}", tokenizer_hash):
        return tokenizer_hash[:32].lower()
    return hashlib.sha256(tokenizer_hash.encode("utf-8")).digest()[:16].hex()


def _read_header(path: str) -> Tuple[np.ndarray, int]:
    try:
        size = os.path.getsize(path)
        if size < HEADER_BYTES:
            _fail("E_FILE_FORMAT", path, f"truncated header: the file has {size} bytes, a header needs {HEADER_BYTES}")
        with open(path, "rb") as f:
            words = np.frombuffer(f.read(HEADER_BYTES), dtype="<i4").copy()
    except OSError as error:
        raise TokenfilterError("E_IO", f"{path}: {error.strerror or error}", path) from error
    return words, size


def _read_contract(words: np.ndarray, path: str) -> TokenizerContract:
    vocab, eot, hidden = (int(w) for w in words[CONTRACT_WORD:CONTRACT_WORD + 3])
    if vocab < 0:
        _fail("E_FILE_FORMAT", path, f"header records a negative vocabulary size ({vocab})")
    if vocab == 0:
        return TokenizerContract(0, 0, 0, "")
    for what, value in (("end-of-text id", eot), ("hidden id", hidden)):
        if value < 0 or value >= vocab:
            _fail("E_FILE_FORMAT", path, f"header records {what} {value} outside the vocabulary of {vocab}")
    prefix = words[CONTRACT_WORD + 3:CONTRACT_WORD + 7].astype("<i4").tobytes().hex()
    return TokenizerContract(vocab, eot, hidden, prefix)


def check_contract(recorded: TokenizerContract, expected: TokenizerContract, path: str) -> None:
    """Refuses a file whose recorded tokenizer differs from ``expected`` (E_TOKENIZER_MISMATCH)."""
    if recorded != expected:
        _fail("E_TOKENIZER_MISMATCH", path, f"tokenizer mismatch: the file was written with {recorded.describe()}, "
              f"but the expected tokenizer is {expected.describe()}")


def _contract_words(contract: Optional[TokenizerContract]) -> List[int]:
    if contract is None or contract.vocab_size == 0:
        return [0] * 7
    prefix = bytes.fromhex(contract.hash_prefix)
    return [contract.vocab_size, contract.eot_id, contract.hidden_id, *struct.unpack("<4i", prefix)]


# ---------------------------------------------------------------------------------------------
# the tokenizer contract of a tokenizer.json (the hash of lib/data/tokenizer.ts)

EOT_TOKEN, HIDDEN_TOKEN = "<|endoftext|>", "<|hidden|>"
# the split regexes tokenfilter recognises in a Split pre-tokenizer (lib/data/tokenizer_json.ts)
_CL100K_PATTERNS = (
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
)
_GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"


def _byte_level_table() -> Dict[str, int]:
    """GPT-2's printable character for each byte, inverted: character -> byte."""
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[chr(b)] = b
        else:
            table[chr(256 + extra)] = b
            extra += 1
    return table


def _pretokenizer_name(p, path: str) -> str:
    if isinstance(p, dict) and p.get("type") == "ByteLevel" and p.get("use_regex") is not False:
        return "gpt2"
    parts = p.get("pretokenizers") if isinstance(p, dict) and p.get("type") == "Sequence" else None
    if isinstance(parts, list) and len(parts) == 2 and isinstance(parts[0], dict) and parts[0].get("type") == "Split":
        pattern = (parts[0].get("pattern") or {}).get("Regex")
        if pattern in _CL100K_PATTERNS:
            return "cl100k"
        if pattern == _GPT2_PATTERN:
            return "gpt2"
    _fail("E_FILE_FORMAT", path, "unsupported pre_tokenizer (tokenfilter reads ByteLevel, or Split with the GPT-2 "
          "or cl100k regex then ByteLevel)")


def _json_tokens(config: dict, path: str) -> Tuple[Dict[int, Tuple[str, bytes]], Dict[str, int]]:
    """id -> (kind 'r' or 's', bytes) and the byte-level vocabulary string -> id of regular tokens."""
    table, tokens, ids = _byte_level_table(), {}, {}
    for text, i in (config.get("model") or {}).get("vocab", {}).items():
        if not isinstance(i, int) or i < 0 or i in tokens or not text or any(c not in table for c in text):
            _fail("E_FILE_FORMAT", path, f"model.vocab entry {json.dumps(text)} is not a byte-level token with a unique id")
        tokens[i], ids[text] = ("r", bytes(table[c] for c in text)), i
    for t in config.get("added_tokens") or []:
        i, content = t.get("id"), t.get("content")
        if not isinstance(i, int) or i < 0 or not isinstance(content, str) or not content:
            _fail("E_FILE_FORMAT", path, "added_tokens need a non-empty content and an integer id")
        if i in tokens:
            ids = {k: v for k, v in ids.items() if v != i}
        tokens[i] = ("s", content.encode("utf-8"))
    return tokens, ids


def tokenizer_contract_from_json(path: str) -> TokenizerContract:
    """The contract tokenfilter records for the tokenizer in a Hugging Face ``tokenizer.json``
    (byte-level BPE, as ``Tokenizer.save`` writes it): vocabulary size, the ``<|endoftext|>`` and
    ``<|hidden|>`` ids (appended at the next free ids when absent, as ``Tokenizer.load`` does)
    and the hash, computed as ``Tokenizer.hash``. Compare it with a shard's: ``read_shard(path,
    expect_tokenizer=tokenizer_contract_from_json("tokenizer.json"))``."""
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as error:
        raise TokenfilterError("E_FILE_FORMAT" if isinstance(error, ValueError) else "E_IO", f"{path}: {error}", path) from error
    return tokenizer_contract_from_config(config, path)


def tokenizer_contract_from_config(config: dict, path: Optional[str] = None) -> TokenizerContract:
    """``tokenizer_contract_from_json`` for a ``tokenizer.json`` already parsed (``path`` names it
    in errors)."""
    model = config.get("model") if isinstance(config, dict) else None
    if not isinstance(model, dict) or model.get("type") != "BPE" or config.get("normalizer") is not None:
        _fail("E_FILE_FORMAT", path, "not a byte-level BPE tokenizer.json (model.type BPE, no normalizer)")
    pre = _pretokenizer_name(config.get("pre_tokenizer"), path)
    tokens, ids = _json_tokens(config, path)
    specials = {b.decode("utf-8"): i for i, (kind, b) in tokens.items() if kind == "s"}
    for name in (EOT_TOKEN, HIDDEN_TOKEN):
        if name not in specials:
            specials[name] = max(tokens, default=-1) + 1
            tokens[specials[name]] = ("s", name.encode("utf-8"))
    size = max(tokens) + 1
    digest = hashlib.sha256(f"tokenfilter-bpe/1\npretokenizer {pre}\nwhole-piece-first "
                            f"{1 if model.get('ignore_merges') is True else 0}\nvocab {size}\n".encode())
    digest.update("".join(f"{i} {tokens[i][0]} {tokens[i][1].hex()}\n" for i in sorted(tokens)).encode())
    seen, lines = set(), []
    for m in model.get("merges", []):
        left, right = m.split(" ") if isinstance(m, str) else m
        if left not in ids or right not in ids:
            _fail("E_FILE_FORMAT", path, f"merge {json.dumps(m)} names a token that is not in model.vocab")
        pair = (ids[left], ids[right])
        if pair not in seen:  # a repeated merge: the first one counts
            seen.add(pair)
            lines.append(f"m {len(lines)} {pair[0]} {pair[1]}\n")
    digest.update("".join(lines).encode())
    return TokenizerContract.from_hash(size, specials[EOT_TOKEN], specials[HIDDEN_TOKEN], digest.hexdigest())


# ---------------------------------------------------------------------------------------------
# token shards

@dataclass(frozen=True)
class ShardHeader:
    version: int  # 1 = uint16 (llm.c), 7 = uint32 (llm.c, magic 20240801), 2 = uint32 (older tokenfilter files)
    token_count: int
    token_bytes: int
    tokenizer: TokenizerContract


def parse_shard_header(words: np.ndarray, file_bytes: int, path: str) -> ShardHeader:
    """Validates a shard header against the file size, as tokenfilter's ``parseShardHeader``."""
    magic, version, count = int(words[0]), int(words[1]), int(words[2])
    if magic == SHARD_MAGIC and version in (1, 2):
        width = 2 if version == 1 else 4
    elif magic == LLMC_UINT32_MAGIC and version == 7:
        width = 4
    elif magic in (SHARD_MAGIC, LLMC_UINT32_MAGIC):
        _fail("E_FILE_FORMAT", path, f"unsupported shard version {version} for magic {magic} (expected magic "
              f"{SHARD_MAGIC} with version 1 = uint16 or 2 = uint32, or magic {LLMC_UINT32_MAGIC} with version 7 = uint32)")
    else:
        _fail("E_FILE_FORMAT", path, f"not a token shard: magic {magic}, expected {SHARD_MAGIC} or {LLMC_UINT32_MAGIC}")
    if count < 0:
        _fail("E_FILE_FORMAT", path, f"header records a negative token count ({count})")
    expected = HEADER_BYTES + count * width
    if file_bytes != expected:
        what = "truncated" if file_bytes < expected else "oversized"
        _fail("E_FILE_FORMAT", path, f"{what} shard: the header records {count} tokens ({expected} bytes), "
              f"the file has {file_bytes} bytes")
    contract = _read_contract(words, path)
    if width == 2 and contract.vocab_size > 65536:
        _fail("E_FILE_FORMAT", path, f"version 1 (uint16) shard records a vocabulary of {contract.vocab_size} > 65536")
    return ShardHeader(version, count, width, contract)


def read_shard_header(path: str, expect_tokenizer: Optional[TokenizerContract] = None) -> ShardHeader:
    words, size = _read_header(path)
    header = parse_shard_header(words, size, path)
    if expect_tokenizer is not None:
        check_contract(header.tokenizer, expect_tokenizer, path)
    return header


def _memmap(path: str, dtype: str, offset: int, count: int) -> np.ndarray:
    if count == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(count,))


def read_shard(path: str, expect_tokenizer: Optional[TokenizerContract] = None,
               validate_ids: bool = True) -> Tuple[np.ndarray, ShardHeader]:
    """The tokens (a read-only memory map: uint16 for version 1, uint32 otherwise) and the header.
    Ids at or above the recorded vocabulary size are refused unless ``validate_ids`` is False."""
    header = read_shard_header(path, expect_tokenizer)
    tokens = _memmap(path, "<u2" if header.token_bytes == 2 else "<u4", HEADER_BYTES, header.token_count)
    vocab = header.tokenizer.vocab_size
    if validate_ids and vocab > 0 and tokens.size > 0 and int(tokens.max()) >= vocab:
        bad = int(np.argmax(tokens >= vocab))
        _fail("E_FILE_FORMAT", path, f"token {bad} has id {int(tokens[bad])}, outside the vocabulary of {vocab}")
    return tokens, header


def write_shard(path: str, tokens: np.ndarray, tokenizer: Optional[TokenizerContract], version: Optional[int] = None) -> None:
    """Writes a shard atomically: uint16 (magic 20240520, version 1) when the vocabulary fits,
    else uint32 in llm.c's layout (magic 20240801, version 7); ``version`` 1 or 7 forces one."""
    tokens = np.asarray(tokens)
    vocab = tokenizer.vocab_size if tokenizer is not None else 0
    version = version if version is not None else (1 if vocab <= 65536 else 7)
    if version not in (1, 7):
        _fail("E_OPTION", path, f"shard version must be 1 (uint16) or 7 (uint32, llm.c's layout), got {version}")
    if version == 1 and vocab > 65536:
        _fail("E_OPTION", path, f"version 1 (uint16) cannot hold a vocabulary of {vocab}")
    limit = vocab if vocab > 0 else (65536 if version == 1 else 2 ** 32)
    if tokens.size and (int(tokens.min()) < 0 or int(tokens.max()) >= limit):
        _fail("E_OPTION", path, f"token ids must lie in [0, {limit})")
    words = np.zeros(HEADER_WORDS, dtype="<i4")
    words[:3] = (SHARD_MAGIC if version == 1 else LLMC_UINT32_MAGIC, version, tokens.size)
    words[CONTRACT_WORD:CONTRACT_WORD + 7] = _contract_words(tokenizer)
    body = tokens.astype("<u2" if version == 1 else "<u4")
    _write_atomic(path, [words.tobytes(), body.tobytes()])


def _write_atomic(path: str, parts: Sequence[bytes]) -> None:
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "wb") as f:
        for part in parts:
            f.write(part)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


# ---------------------------------------------------------------------------------------------
# side files

SIDE_KINDS = {1: "mask", 2: "labels", 3: "scores8", 4: "scores16"}
LOSS_MASK, LABELS, SCORES_UINT8, SCORES_FLOAT16 = 1, 2, 3, 4


@dataclass(frozen=True)
class SideFileHeader:
    version: int
    token_count: int
    kind: int  # 1 loss mask, 2 labels, 3 uint8 scores, 4 float16 scores
    value_bytes: int
    tokenizer: TokenizerContract


def side_file_path_for(shard_path: str, kind: int) -> str:
    """``x.bin`` -> ``x.mask.side`` (labels, scores8, scores16 for the other kinds)."""
    base = shard_path[:-4] if shard_path.endswith(".bin") else shard_path
    return f"{base}.{SIDE_KINDS[kind]}.side"


def parse_side_file_header(words: np.ndarray, file_bytes: int, path: str) -> SideFileHeader:
    """Validates a side-file header against the file size, as ``parseSideFileHeader``."""
    if int(words[0]) != SIDE_FILE_MAGIC:
        _fail("E_FILE_FORMAT", path, f"not a side file: magic {int(words[0])}, expected {SIDE_FILE_MAGIC}")
    if int(words[1]) != 1:
        _fail("E_FILE_FORMAT", path, f"unsupported side-file version {int(words[1])} (expected 1)")
    count, kind = int(words[2]), int(words[3])
    if count < 0:
        _fail("E_FILE_FORMAT", path, f"header records a negative token count ({count})")
    if kind not in SIDE_KINDS:
        _fail("E_FILE_FORMAT", path, f"unknown side-file kind {kind} (expected 1 loss mask, 2 labels, "
              "3 uint8 scores, 4 float16 scores)")
    width = 2 if kind == SCORES_FLOAT16 else 1
    expected = HEADER_BYTES + count * width
    if file_bytes != expected:
        what = "truncated" if file_bytes < expected else "oversized"
        _fail("E_FILE_FORMAT", path, f"{what} side file: the header records {count} tokens ({expected} bytes), "
              f"the file has {file_bytes} bytes")
    return SideFileHeader(1, count, kind, width, _read_contract(words, path))


def read_side_file_header(path: str, expect_kind: Optional[int] = None, expect_tokens: Optional[int] = None,
                          expect_tokenizer: Optional[TokenizerContract] = None) -> SideFileHeader:
    words, size = _read_header(path)
    header = parse_side_file_header(words, size, path)
    if expect_kind is not None and header.kind != expect_kind:
        _fail("E_MISMATCH", path, f"side file holds {SIDE_KINDS[header.kind]} (kind {header.kind}), "
              f"expected {SIDE_KINDS.get(expect_kind, '?')} (kind {expect_kind})")
    if expect_tokens is not None and header.token_count != expect_tokens:
        _fail("E_MISMATCH", path, f"side file covers {header.token_count} tokens, its shard has {expect_tokens}")
    if expect_tokenizer is not None:
        check_contract(header.tokenizer, expect_tokenizer, path)
    return header


def read_side_file(path: str, expect_kind: Optional[int] = None, expect_tokens: Optional[int] = None,
                   expect_tokenizer: Optional[TokenizerContract] = None) -> Tuple[np.ndarray, SideFileHeader]:
    """The values (uint8, or float16 for kind 4; a read-only memory map) and the header. A loss
    mask holding anything but 0 and 1 is refused."""
    header = read_side_file_header(path, expect_kind, expect_tokens, expect_tokenizer)
    values = _memmap(path, "<f2" if header.kind == SCORES_FLOAT16 else "u1", HEADER_BYTES, header.token_count)
    if header.kind == LOSS_MASK and values.size and int(values.max()) > 1:
        bad = int(np.argmax(values > 1))
        _fail("E_FILE_FORMAT", path, f"loss mask value {int(values[bad])} at token {bad} (expected 0 or 1)")
    return values, header


def side_file_scores(values: np.ndarray, header: SideFileHeader) -> np.ndarray:
    """Scores as float32 probabilities: uint8 / 255 (kind 3) or the float16 values (kind 4)."""
    if header.kind == SCORES_UINT8:
        return (values.astype(np.float64) / 255).astype(np.float32)
    if header.kind == SCORES_FLOAT16:
        return values.astype(np.float32)
    _fail("E_MISMATCH", None, f"side file holds {SIDE_KINDS[header.kind]}, not scores")


# ---------------------------------------------------------------------------------------------
# deterministic randomness (bit-exact copies of lib/data/random.ts)

_M32 = 0xFFFFFFFF


def _mix32(x: int) -> int:
    h = x & _M32
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & _M32
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def _hash32(*parts: int) -> int:
    h = 0x9E3779B9
    for p in parts:
        h = _mix32(h ^ _mix32((p & _M32) + 0x7F4A7C15))
    return h


def _hash_unit(*parts: int) -> float:
    a = _hash32(*parts, 0x51ED270B)
    b = _hash32(*parts, 0x2C1B3C6D)
    return (a * 2.0 ** 21 + (b >> 11)) / 2.0 ** 53


class _Sfc32:
    def __init__(self, *seed: int):
        self.a, self.b, self.c, self.d = _hash32(*seed, 1), _hash32(*seed, 2), _hash32(*seed, 3), 1
        for _ in range(12):
            self.next_uint32()

    def next_uint32(self) -> int:
        a, b, c, d = self.a, self.b, self.c, self.d
        t = (a + b + d) & _M32
        self.d = (d + 1) & _M32
        self.a = b ^ (b >> 9)
        self.b = (c + (c << 3)) & _M32
        c = ((c << 21) | (c >> 11)) & _M32
        self.c = (c + t) & _M32
        return t

    def below(self, n: int) -> int:
        unit = (self.next_uint32() * 2.0 ** 21 + (self.next_uint32() >> 11)) / 2.0 ** 53
        return math.floor(unit * n)


def _permutation(n: int, rng: _Sfc32) -> np.ndarray:
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    return np.asarray(order, dtype=np.int64)


def _seed_words(seed: int) -> Tuple[int, int]:
    if not isinstance(seed, int) or seed < 0 or seed > 2 ** 53 - 1:
        _fail("E_OPTION", None, f"seed must be a non-negative safe integer, got {seed}")
    return seed & _M32, (seed >> 32) & _M32


# ---------------------------------------------------------------------------------------------
# windows and batches

@dataclass
class Batch:
    """B x T windows: ``inputs``/``targets`` uint32 [B, T], ``loss_mask`` uint8 [B, T]
    (1 = learn from ``targets[b, t]``)."""

    inputs: np.ndarray
    targets: np.ndarray
    loss_mask: np.ndarray
    rows: List[Tuple[str, int, int]] = field(default_factory=list)  # sequential: (shard, start, length)


class _ShardWindows:
    """A shard and its optional loss-mask side file, as lib/data/shard_windows.ts."""

    def __init__(self, path: str, expect_tokenizer: Optional[TokenizerContract], loss_mask: str):
        self.path = path
        # ids are checked per window, as the TypeScript reader does, not by a scan of every shard up front
        self.tokens, self.header = read_shard(path, expect_tokenizer, validate_ids=False)
        mask_path = side_file_path_for(path, LOSS_MASK)
        self.mask, self.mask_path = None, None
        if loss_mask == "required" and not os.path.exists(mask_path):
            _fail("E_IO", path, f"no loss-mask side file (expected {mask_path})")
        if loss_mask != "none" and os.path.exists(mask_path):
            mask_header = read_side_file_header(mask_path, LOSS_MASK, self.header.token_count, expect_tokenizer)
            self.mask_path, self.mask = mask_path, _memmap(mask_path, "u1", HEADER_BYTES, mask_header.token_count)
            if mask_header.tokenizer != self.header.tokenizer:
                _fail("E_TOKENIZER_MISMATCH", mask_path, f"tokenizer mismatch with its shard {path}: the mask records "
                      f"{mask_header.tokenizer.describe()}, the shard {self.header.tokenizer.describe()}")

    def __len__(self) -> int:
        return self.header.token_count

    def fill(self, start: int, count: int, batch: Batch, row: int) -> None:
        window = self.tokens[start:start + count + 1]
        vocab = self.header.tokenizer.vocab_size
        if vocab > 0 and int(window.max()) >= vocab:
            bad = start + int(np.argmax(window >= vocab))
            _fail("E_FILE_FORMAT", self.path, f"token {bad} has id {int(self.tokens[bad])}, outside the vocabulary of {vocab}")
        batch.inputs[row, :count] = window[:count]
        batch.targets[row, :count] = window[1:]
        if self.mask is None:
            batch.loss_mask[row, :count] = 1
            return
        mask = self.mask[start + 1:start + count + 1]
        if count and int(mask.max()) > 1:
            bad = int(np.argmax(mask > 1))
            _fail("E_FILE_FORMAT", self.mask_path, f"loss mask value {int(mask[bad])} at token {start + 1 + bad} (expected 0 or 1)")
        batch.loss_mask[row, :count] = mask


def _check_shape(batch: int, context: int, loss_mask: str) -> None:
    for name, value in (("batch", batch), ("context", context)):
        if not isinstance(value, int) or value < 1:
            _fail("E_OPTION", None, f"{name} must be a positive integer, got {value}")
    if loss_mask not in ("auto", "none", "required"):
        _fail("E_OPTION", None, f"loss_mask must be 'auto', 'none' or 'required', got {loss_mask!r}")


def _empty_batch(rows: int, context: int) -> Batch:
    return Batch(np.zeros((rows, context), np.uint32), np.zeros((rows, context), np.uint32),
                 np.zeros((rows, context), np.uint8))


class _Source:
    def __init__(self, name: str, weight: float, shards: List[_ShardWindows], context: int):
        self.name, self.weight, self.shards = name, weight, shards
        counts = [max(0, len(s) - 1) // context for s in shards]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.windows = int(self.offsets[-1])
        self.epoch, self.position, self.order = 0, 0, None


class BatchSampler:
    """Random batches identical to tokenfilter's ``BatchSampler`` for the same shards, options
    and seed (and the same ``state`` to resume from).

    Each shard of n tokens offers floor((n - 1) / T) windows at starts 0, T, 2T, ...; each source
    walks a seeded permutation of its windows per epoch; each row picks its source by weight
    from a hash of (seed, row). ``sources`` is a list of dicts ``{"shards": [...], "weight": w,
    "name": s}``; ``shards`` is the one-source shorthand.
    """

    def __init__(self, batch: int, context: int, shards: Optional[Sequence[str]] = None,
                 sources: Optional[Sequence[dict]] = None, seed: int = 0,
                 expect_tokenizer: Optional[TokenizerContract] = None, loss_mask: str = "auto",
                 state: Optional[dict] = None):
        _check_shape(batch, context, loss_mask)
        self.seed_lo, self.seed_hi = _seed_words(seed)
        if (shards is None) == (sources is None):
            _fail("E_OPTION", None, "give either shards or sources")
        specs = sources if sources is not None else [{"shards": list(shards)}]
        if not specs:
            _fail("E_OPTION", None, "sources must be a non-empty list")
        self.batch, self.context, self.seed, self.rows = batch, context, seed, 0
        self.sources: List[_Source] = []
        for s, spec in enumerate(specs):
            name, weight = spec.get("name", f"source{s}"), spec.get("weight", 1)
            if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight > 0):
                _fail("E_OPTION", None, f"sources[{s}].weight must be a finite number > 0, got {weight}")
            paths = list(spec.get("shards") or [])
            if not paths:
                _fail("E_OPTION", None, f"sources[{s}].shards must be a non-empty list of paths")
            source = _Source(name, float(weight), [_ShardWindows(p, expect_tokenizer, loss_mask) for p in paths], context)
            if source.windows == 0:
                _fail("E_OPTION", None, f"source '{name}' has no window of context + 1 = {context + 1} tokens "
                      f"in its {len(paths)} shard(s)")
            self.sources.append(source)
        total, running = sum(s.weight for s in self.sources), 0.0
        self.cumulative = []
        for s in self.sources:
            running += s.weight / total
            self.cumulative.append(running)
        if state is not None:
            self._restore(state)

    def state(self) -> dict:
        """The position as plain JSON, interchangeable with the TypeScript sampler's state."""
        return {"version": 1, "seed": self.seed, "batch": self.batch, "context": self.context, "rows": self.rows,
                "sources": [{"epoch": s.epoch, "position": s.position, "windows": s.windows} for s in self.sources]}

    def _restore(self, state: dict) -> None:
        def check(ok: bool, why: str) -> None:
            if not ok:
                _fail("E_OPTION", None, f"cannot resume the batch sampler: {why}")
        check(state.get("version") == 1, "state.version must be 1")
        check(state.get("seed") == self.seed, f"the state was saved with seed {state.get('seed')}, the sampler has {self.seed}")
        check(state.get("batch") == self.batch and state.get("context") == self.context, "batch × context differ")
        check(isinstance(state.get("rows"), int) and state["rows"] >= 0, "state.rows must be a non-negative integer")
        saved = state.get("sources") or []
        check(len(saved) == len(self.sources), f"the state has {len(saved)} sources, the sampler {len(self.sources)}")
        for s, (entry, source) in enumerate(zip(saved, self.sources)):
            check(entry.get("windows") == source.windows, f"source '{source.name}' had {entry.get('windows')} windows "
                  f"when saved and has {source.windows} now (different shards?)")
            check(isinstance(entry.get("epoch"), int) and entry["epoch"] >= 0, f"sources[{s}].epoch must be >= 0")
            check(isinstance(entry.get("position"), int) and 0 <= entry["position"] <= source.windows,
                  f"sources[{s}].position must be in [0, {source.windows}]")
            source.epoch, source.position, source.order = entry["epoch"], entry["position"], None
        self.rows = state["rows"]

    def _source_of(self, row: int) -> int:
        if len(self.sources) == 1:
            return 0
        u = _hash_unit(self.seed_lo, self.seed_hi, row % 2 ** 32, row // 2 ** 32)
        for s, c in enumerate(self.cumulative):
            if u < c:
                return s
        return len(self.sources) - 1

    def _next_window(self, s: int) -> Tuple[_ShardWindows, int]:
        source = self.sources[s]
        if source.position >= source.windows:
            source.epoch, source.position, source.order = source.epoch + 1, 0, None
        if source.order is None:
            source.order = _permutation(source.windows, _Sfc32(self.seed_lo, self.seed_hi, s, source.epoch))
        w = int(source.order[source.position])
        source.position += 1
        k = int(np.searchsorted(source.offsets, w, side="right")) - 1
        return source.shards[k], (w - int(source.offsets[k])) * self.context

    def next(self) -> Batch:
        out = _empty_batch(self.batch, self.context)
        for b in range(self.batch):
            shard, start = self._next_window(self._source_of(self.rows))
            shard.fill(start, self.context, out, b)
            self.rows += 1
        return out

    def __iter__(self) -> Iterator[Batch]:
        while True:
            yield self.next()


def _sequential_rows(shard: _ShardWindows, context: int) -> Iterator[Tuple[int, int, int]]:
    """(start, length, already covered) of each row covering every target of the shard once."""
    n, covered = len(shard), 0
    while n >= 2 and covered < n - 1:
        start, length = (min(covered, n - 1 - context), context) if n >= context + 1 else (0, n - 1)
        yield start, length, max(0, covered - start)
        covered = start + length


def sequential_batches(shards: Sequence[str], batch: int, context: int,
                       expect_tokenizer: Optional[TokenizerContract] = None,
                       loss_mask: str = "auto") -> Iterator[Batch]:
    """Every target of every shard exactly once, in order, as tokenfilter's ``sequentialBatches``:
    windows at 0, T, 2T, ..., then one last window ending at the shard's end whose
    already-covered targets are masked; a shard shorter than T + 1 gives one row padded with the
    end-of-text id (masked). The last batch may have fewer than ``batch`` rows."""
    _check_shape(batch, context, loss_mask)
    out, rows = _empty_batch(batch, context), []
    for path in shards:
        shard = _ShardWindows(path, expect_tokenizer, loss_mask)
        pad = shard.header.tokenizer.eot_id if shard.header.tokenizer.vocab_size > 0 else 0
        for start, length, already in _sequential_rows(shard, context):
            r = len(rows)
            if length < context:
                out.inputs[r, :] = pad
                out.targets[r, :] = pad
            shard.fill(start, length, out, r)
            out.loss_mask[r, :already] = 0
            out.loss_mask[r, length:] = 0
            rows.append((path, start, length))
            if len(rows) == batch:
                yield Batch(out.inputs, out.targets, out.loss_mask, rows)
                out, rows = _empty_batch(batch, context), []
    if rows:
        n = len(rows)
        yield Batch(out.inputs[:n], out.targets[:n], out.loss_mask[:n], rows)


# ---------------------------------------------------------------------------------------------
# safetensors

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "U32": "<u4",
           "I16": "<i2", "U16": "<u2", "I8": "i1", "U8": "u1", "BOOL": "u1"}
MAX_SAFETENSORS_HEADER = 100_000_000


def _parse_safetensors_header(raw: bytes, data_bytes: int, path: str) -> Tuple[dict, Dict[str, str]]:
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        _fail("E_FILE_FORMAT", path, f"header is not valid UTF-8 JSON ({error})")
    if not isinstance(header, dict):
        _fail("E_FILE_FORMAT", path, "header must be a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        _fail("E_FILE_FORMAT", path, "__metadata__ must be an object of strings")
    entries = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            _fail("E_FILE_FORMAT", path, f"tensor '{name}' must have exactly dtype, shape and data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _DTYPES:
            _fail("E_FILE_FORMAT", path, f"tensor '{name}' has unsupported dtype {json.dumps(dtype)}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            _fail("E_FILE_FORMAT", path, f"tensor '{name}' shape must be an array of non-negative integers")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)):
            _fail("E_FILE_FORMAT", path, f"tensor '{name}' data_offsets must be two non-negative integers")
        begin, end = offsets
        if begin > end or end > data_bytes:
            _fail("E_FILE_FORMAT", path, f"tensor '{name}' data_offsets [{begin}, {end}] out of range of the "
                  f"{data_bytes}-byte data section")
        need = math.prod(shape) * np.dtype(_DTYPES[dtype]).itemsize
        if end - begin != need:
            _fail("E_FILE_FORMAT", path, f"tensor '{name}' shape {shape} of {dtype} needs {need} bytes, "
                  f"data_offsets give {end - begin}")
        entries[name] = (dtype, shape, begin, end)
    covered = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda e: (e[1][2], e[1][3])):
        if begin != covered:
            _fail("E_FILE_FORMAT", path, f"tensor '{name}' data_offsets [{begin}, {end}] overlap another tensor"
                  if begin < covered else f"data bytes [{covered}, {begin}) belong to no tensor")
        covered = end
    if covered != data_bytes:
        _fail("E_FILE_FORMAT", path, f"data bytes [{covered}, {data_bytes}) belong to no tensor")
    return entries, metadata


def read_safetensors(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Tensors by name (file order; read-only memory maps; F16 as float16, BF16 as raw uint16
    bits) and the ``__metadata__`` strings. Every field is checked before a byte is trusted:
    header length, JSON, dtypes, shapes against byte ranges, overlaps, holes."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                _fail("E_FILE_FORMAT", path, f"file is {size} bytes, too short for the 8-byte header length")
            n = struct.unpack("<Q", prefix)[0]
            if n > MAX_SAFETENSORS_HEADER:
                _fail("E_FILE_FORMAT", path, f"header length {n} exceeds {MAX_SAFETENSORS_HEADER}")
            if 8 + n > size:
                _fail("E_FILE_FORMAT", path, f"header length {n} runs past the end of the file ({size} bytes): truncated?")
            raw = f.read(n)
    except OSError as error:
        raise TokenfilterError("E_IO", f"{path}: {error.strerror or error}", path) from error
    entries, metadata = _parse_safetensors_header(raw, size - 8 - n, path)
    tensors = {}
    for name, (dtype, shape, begin, end) in entries.items():
        count = math.prod(shape)
        flat = _memmap(path, _DTYPES[dtype], 8 + n + begin, count)
        tensors[name] = flat.reshape(shape)
    return tensors, metadata


def write_safetensors(path: str, tensors: Dict[str, np.ndarray], metadata: Optional[Dict[str, str]] = None) -> None:
    """Writes tensors (in dict order) and metadata strings, atomically (header padded to 8 bytes)."""
    codes = {np.dtype(v): k for k, v in _DTYPES.items() if k not in ("BF16", "BOOL")}
    header: dict = {}
    if metadata:
        if not all(isinstance(v, str) for v in metadata.values()):
            _fail("E_OPTION", path, "metadata values must be strings")
        header["__metadata__"] = dict(metadata)
    parts, offset = [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if name == "__metadata__" or np.dtype(dtype) not in codes:
            _fail("E_OPTION", path, f"tensor '{name}': bad name or unsupported dtype {array.dtype}")
        data = array.astype(dtype, copy=False).tobytes()
        header[name] = {"dtype": codes[np.dtype(dtype)], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        parts.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (len(text.encode("utf-8")) + 8) % 8) % 8)
    encoded = text.encode("utf-8")
    _write_atomic(path, [struct.pack("<Q", len(encoded)), encoded, *parts])


# ---------------------------------------------------------------------------------------------
# the model: config, tensor names, numpy forward

MODEL_FORMATS = ("tokenfilter.transformer", "tokenfilter.checkpoint")
MODEL_FORMAT_VERSION = "1"
# names written by tokenfilter today -> the `*.weight` names used here (both are read)
_ALIASES = {"wte": "wte.weight"}


def model_tensor_shapes(config: dict) -> Dict[str, Tuple[int, ...]]:
    """Every parameter's name and shape, in ``*.weight`` naming (docs/model.md)."""
    V, C, H, L = config["vocabSize"], config["dModel"], config["hidden"], config["layers"]
    shapes: Dict[str, Tuple[int, ...]] = {"wte.weight": (V, C)}
    for l in range(L):
        p = f"blocks.{l}."
        shapes.update({p + "attn_norm.weight": (C,), p + "attn.qkv.weight": (3 * C, C), p + "attn.proj.weight": (C, C),
                       p + "mlp_norm.weight": (C,), p + "mlp.fc.weight": (H, C), p + "mlp.proj.weight": (C, H)})
    shapes["final_norm.weight"] = (C,)
    if not config["tieEmbeddings"]:
        shapes["lm_head.weight"] = (V, C)
    return shapes


CONFIG_DEFAULTS = {"mlpRatio": 4, "tieEmbeddings": True, "seed": 0, "ropeBase": 10000, "normEps": 1e-5}


def resolve_config(options: dict, path: Optional[str] = None) -> dict:
    """A complete model config: tokenfilter's defaults applied (``CONFIG_DEFAULTS``, and
    ``hidden = mlpRatio * dModel``) and every field checked as ``resolveTransformerConfig`` does."""
    config = {**CONFIG_DEFAULTS, **options}
    code, where = ("E_FILE_FORMAT", "invalid config in metadata: ") if path else ("E_OPTION", "")
    hidden = config["mlpRatio"] * config.get("dModel", 0)
    config.setdefault("hidden", int(hidden) if float(hidden).is_integer() else hidden)
    for key in ("vocabSize", "dModel", "layers", "heads", "context", "hidden"):
        if not isinstance(config.get(key), int) or isinstance(config.get(key), bool) or config[key] < 1:
            _fail(code, path, f"{where}{key} must be a positive integer, got {config.get(key)}")
    if config["hidden"] != hidden:
        _fail(code, path, f"{where}hidden ({config['hidden']}) must equal mlpRatio × dModel = {hidden}")
    if config["dModel"] % config["heads"] or (config["dModel"] // config["heads"]) % 2:
        _fail(code, path, f"{where}dModel / heads must be an even integer (RoPE rotates pairs)")
    if not (config["ropeBase"] > 1 and config["normEps"] > 0 and isinstance(config["tieEmbeddings"], bool)):
        _fail(code, path, f"{where}ropeBase must be > 1, normEps > 0 and tieEmbeddings a boolean")
    return config


def _model_config(metadata: Dict[str, str], path: str) -> dict:
    if metadata.get("format") not in MODEL_FORMATS:
        _fail("E_FILE_FORMAT", path, f"not a tokenfilter model (metadata format = {json.dumps(metadata.get('format'))})")
    if metadata.get("format_version") != MODEL_FORMAT_VERSION:
        _fail("E_FILE_FORMAT", path, f"unsupported format_version {json.dumps(metadata.get('format_version'))} "
              f"(expected {MODEL_FORMAT_VERSION})")
    try:
        config = json.loads(metadata.get("config", ""))
    except ValueError:
        _fail("E_FILE_FORMAT", path, "metadata 'config' is not valid JSON")
    if not isinstance(config, dict):
        _fail("E_FILE_FORMAT", path, "metadata 'config' must be a JSON object")
    return resolve_config(config, path)


def load_model(path: str) -> Tuple[dict, Dict[str, np.ndarray]]:
    """The config and the parameters (float32 arrays, ``*.weight`` names) of a tokenfilter model
    or training checkpoint. Accepts today's ``wte`` and the ``wte.weight`` spelling; refuses a
    missing, duplicated, unexpected, misshapen, non-F32 or non-finite tensor."""
    tensors, metadata = read_safetensors(path)
    config = _model_config(metadata, path)
    shapes = model_tensor_shapes(config)
    params: Dict[str, np.ndarray] = {}
    for stored, array in tensors.items():
        if stored.startswith("optimizer."):
            continue
        name = _ALIASES.get(stored, stored)
        if name not in shapes:
            _fail("E_FILE_FORMAT", path, f"unexpected tensor '{stored}' for this config")
        if name in params:
            _fail("E_FILE_FORMAT", path, f"tensor '{name}' is stored twice (as '{name}' and an alias)")
        if array.dtype != np.dtype("<f4"):
            _fail("E_FILE_FORMAT", path, f"tensor '{stored}' has dtype {array.dtype}, expected F32")
        if tuple(array.shape) != shapes[name]:
            _fail("E_FILE_FORMAT", path, f"tensor '{stored}' has shape {list(array.shape)}, expected {list(shapes[name])}")
        if not np.isfinite(array).all():
            _fail("E_NOT_FINITE", path, f"tensor '{stored}' has a non-finite value")
        params[name] = np.array(array, dtype=np.float32)
    missing = [n for n in shapes if n not in params]
    if missing:
        _fail("E_FILE_FORMAT", path, f"tensor '{missing[0]}' is missing")
    return config, params


TOKENIZER_METADATA_KEY = "tokenizer"  # the contract: JSON {vocabSize, eotId, hiddenId, hashPrefix}
TOKENIZER_JSON_METADATA_KEY = "tokenizer_json"  # the whole tokenizer.json (unless the writer was told not to)


def read_model_contract(path: str) -> Optional[TokenizerContract]:
    """The tokenizer contract a tokenfilter model or checkpoint records (``__metadata__.tokenizer``),
    or None when it records none. Compare it with a shard's header: ``check_contract(
    read_shard_header(shard).tokenizer, read_model_contract(model), shard)``."""
    _, metadata = read_safetensors(path)
    return _contract_from_metadata(metadata, path)


def _contract_from_metadata(metadata: Dict[str, str], path: str) -> Optional[TokenizerContract]:
    text = metadata.get(TOKENIZER_METADATA_KEY)
    if text is None:
        return None
    try:
        c = json.loads(text)
        fields = [c["vocabSize"], c["eotId"], c["hiddenId"]]
        ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in fields)
        ok = ok and isinstance(c["hashPrefix"], str) and re.fullmatch(r"[0-9a-f]{32}", c["hashPrefix"]) is not None
    except (ValueError, TypeError, KeyError):
        ok = False
    if not ok:
        _fail("E_FILE_FORMAT", path, f"metadata '{TOKENIZER_METADATA_KEY}' is not a tokenizer contract")
    return TokenizerContract(c["vocabSize"], c["eotId"], c["hiddenId"], c["hashPrefix"])


def read_model_tokenizer(path: str) -> Optional[str]:
    """The ``tokenizer.json`` text a tokenfilter model or checkpoint embeds
    (``__metadata__.tokenizer_json``), checked against the contract and vocabulary the file
    records; None when it embeds none (saved with ``--no-embed-tokenizer``, or by an older
    version). With Hugging Face ``tokenizers``: ``Tokenizer.from_str(read_model_tokenizer(path))``
    encodes text with the ids the model was trained on (docs/tokenizer.md lists the known
    differences)."""
    _, metadata = read_safetensors(path)
    return _tokenizer_from_metadata(metadata, path)


def _tokenizer_from_metadata(metadata: Dict[str, str], path: str) -> Optional[str]:
    text = metadata.get(TOKENIZER_JSON_METADATA_KEY)
    if text is None:
        return None
    try:
        config = json.loads(text)
    except ValueError as error:
        raise TokenfilterError("E_FILE_FORMAT", f"{path}: metadata '{TOKENIZER_JSON_METADATA_KEY}' is not JSON ({error})", path)
    own = tokenizer_contract_from_config(config, path)
    recorded = _contract_from_metadata(metadata, path)
    if recorded is not None and recorded != own:
        _fail("E_FILE_FORMAT", path, f"the embedded tokenizer ({own.describe()}) is not the one the file's contract "
              f"names ({recorded.describe()})")
    vocab = _model_config(metadata, path)["vocabSize"] if "config" in metadata else own.vocab_size
    if vocab != own.vocab_size:
        _fail("E_FILE_FORMAT", path, f"the embedded tokenizer has {own.vocab_size} ids, the model {vocab}")
    return text


def model_tokenizer_metadata(tokenizer_json: str, path: Optional[str] = None) -> Dict[str, str]:
    """The ``__metadata__`` entries recording a tokenizer in a model file: the contract and the
    ``tokenizer.json`` text itself (what ``tokenfilter train`` writes)."""
    c = tokenizer_contract_from_config(json.loads(tokenizer_json), path)
    contract = {"vocabSize": c.vocab_size, "eotId": c.eot_id, "hiddenId": c.hidden_id, "hashPrefix": c.hash_prefix}
    return {TOKENIZER_METADATA_KEY: json.dumps(contract, separators=(",", ":")), TOKENIZER_JSON_METADATA_KEY: tokenizer_json}


def rope_tables(context: int, head_size: int, base: float) -> Tuple[np.ndarray, np.ndarray]:
    """cos, sin [T, hs/2] float32 of angle t * base^(-2d/hs) (computed in float64)."""
    d = np.arange(head_size // 2, dtype=np.float64)
    angle = np.arange(context, dtype=np.float64)[:, None] * np.power(float(base), -2.0 * d / head_size)[None, :]
    return np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)


def _rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    rstd = np.float32(1.0) / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + np.float32(eps))
    return x * rstd * weight


def _rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """x [B, NH, T, hs]: pairs (d, d + hs/2) rotated: (a, b) -> (a cos - b sin, a sin + b cos)."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)


class NumpyGPT:
    """The tokenfilter Transformer's forward pass in numpy (float32), for checking and inference."""

    def __init__(self, config: dict, params: Dict[str, np.ndarray]):
        self.config, self.params = config, params

    @staticmethod
    def from_safetensors(path: str) -> "NumpyGPT":
        return NumpyGPT(*load_model(path))

    def _attention(self, x: np.ndarray, l: int, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
        B, T, C = x.shape
        NH = self.config["heads"]
        hs = C // NH
        qkv = x @ self.params[f"blocks.{l}.attn.qkv.weight"].T  # [B, T, 3C]: q | k | v
        q, k, v = (qkv[..., i * C:(i + 1) * C].reshape(B, T, NH, hs).transpose(0, 2, 1, 3) for i in range(3))
        q, k = _rope(q, cos, sin), _rope(k, cos, sin)
        scores = (q @ k.transpose(0, 1, 3, 2)) * np.float32(1.0 / math.sqrt(hs))
        scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, np.float32(-np.inf))
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        att = (scores / scores.sum(axis=-1, keepdims=True)) @ v  # [B, NH, T, hs]
        return att.transpose(0, 2, 1, 3).reshape(B, T, C) @ self.params[f"blocks.{l}.attn.proj.weight"].T

    def hidden(self, tokens: np.ndarray) -> np.ndarray:
        """The final RMSNorm's output [B, T, C] for token ids [B, T]."""
        cfg, p = self.config, self.params
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.ndim != 2 or tokens.shape[1] > cfg["context"] or tokens.min() < 0 or tokens.max() >= cfg["vocabSize"]:
            _fail("E_OPTION", None, f"tokens must be ids [B, T <= {cfg['context']}] below {cfg['vocabSize']}")
        cos, sin = rope_tables(tokens.shape[1], cfg["dModel"] // cfg["heads"], cfg["ropeBase"])
        x = p["wte.weight"][tokens]
        for l in range(cfg["layers"]):
            x = x + self._attention(_rms_norm(x, p[f"blocks.{l}.attn_norm.weight"], cfg["normEps"]), l, cos, sin)
            h = _rms_norm(x, p[f"blocks.{l}.mlp_norm.weight"], cfg["normEps"]) @ p[f"blocks.{l}.mlp.fc.weight"].T
            x = x + np.square(np.maximum(h, np.float32(0))) @ p[f"blocks.{l}.mlp.proj.weight"].T
        return _rms_norm(x, p["final_norm.weight"], cfg["normEps"])

    def logits(self, tokens: np.ndarray) -> np.ndarray:
        """Logits [B, T, V] float32, as ``Transformer.logits``."""
        head = self.params["wte.weight" if self.config["tieEmbeddings"] else "lm_head.weight"]
        return self.hidden(tokens) @ head.T

    def loss(self, inputs: np.ndarray, targets: np.ndarray, loss_mask: np.ndarray) -> float:
        """Mean cross-entropy (nats) over targets whose mask is 1; 0 when all are masked."""
        logits = self.logits(inputs).astype(np.float64)
        top = logits.max(axis=-1, keepdims=True)
        lse = np.log(np.exp(logits - top).sum(axis=-1)) + top[..., 0]
        picked = np.take_along_axis(logits, np.asarray(targets, np.int64)[..., None], axis=-1)[..., 0]
        mask = np.asarray(loss_mask, dtype=np.float64)
        return float(((lse - picked) * mask).sum() / mask.sum()) if mask.sum() > 0 else 0.0


# ---------------------------------------------------------------------------------------------
# training settings of trainMasked

# trainMasked's defaults (lib/model/train.ts TRAIN_DEFAULTS): AdamW with decoupled weight decay on
# the linear layers' matrices only, global gradient-norm clipping, linear warm-up over
# warmup_fraction of the steps, then cosine decay to min_lr_ratio of the peak.
TRAIN_DEFAULTS = {"lr": 1e-3, "betas": (0.9, 0.95), "eps": 1e-7, "weight_decay": 0.1, "clip": 1.0,
                  "min_lr_ratio": 0.1, "warmup_fraction": 0.1}


def cosine_lr(step: int, peak: float, warmup_steps: int, total_steps: Optional[int], min_ratio: float = 0.1) -> float:
    """The learning rate of (0-based) ``step``, as tokenfilter's ``cosineSchedule``: ``peak * (step + 1) /
    warmup_steps`` during warm-up, then ``peak * (min_ratio + (1 - min_ratio) * (1 + cos(pi * p)) / 2)``
    with p the fraction of the post-warm-up steps done (the last step runs at ``min_ratio * peak``)."""
    if not (isinstance(warmup_steps, int) and warmup_steps >= 0 and 0 <= min_ratio <= 1 and peak >= 0):
        _fail("E_OPTION", None, "cosine_lr needs peak >= 0, an integer warmup_steps >= 0 and min_ratio in [0, 1]")
    if total_steps is not None and (not isinstance(total_steps, int) or total_steps < 1 or 0 < total_steps <= warmup_steps):
        _fail("E_OPTION", None, f"total_steps must be an integer above warmup_steps ({warmup_steps}), got {total_steps}")
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    if total_steps is None:
        return peak
    span = total_steps - 1 - warmup_steps
    p = 0.0 if span <= 0 else min(1.0, (step - warmup_steps) / span)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


# ---------------------------------------------------------------------------------------------
# PyTorch (optional)

_TORCH_NAMES = ("MaskedWindows", "TokenfilterGPT", "load_adamw_state")


def __getattr__(name: str):
    if name in _TORCH_NAMES and torch is None:
        raise ImportError(f"tokenfilter_io.{name} needs PyTorch (import torch failed)")
    raise AttributeError(f"module 'tokenfilter_io' has no attribute '{name}'")


def _require_torch() -> None:
    if torch is None:
        raise ImportError("this part of tokenfilter_io needs PyTorch (import torch failed)")


def batch_to_torch(batch: Batch, device=None):
    """(inputs int64 [B, T], targets int64 [B, T], loss_mask bool [B, T]) tensors."""
    _require_torch()
    return (torch.from_numpy(batch.inputs.astype(np.int64)).to(device),
            torch.from_numpy(batch.targets.astype(np.int64)).to(device),
            torch.from_numpy(batch.loss_mask.astype(bool)).to(device))


if torch is not None:

    class MaskedWindows(torch.utils.data.IterableDataset):
        """Batches of the tokenfilter ``BatchSampler`` (``order='random'``, endless) or of
        ``sequential_batches`` (``order='sequential'``, one pass) as torch tensors
        ``(inputs, targets, loss_mask)``. Use with ``DataLoader(ds, batch_size=None)``: the
        dataset batches itself. ``state()`` gives the random sampler's position to save; pass it
        back as ``state`` to resume on the same batches."""

        def __init__(self, shards: Sequence[str], batch: int, context: int, seed: int = 0, order: str = "random",
                     sources: Optional[Sequence[dict]] = None, expect_tokenizer: Optional[TokenizerContract] = None,
                     loss_mask: str = "auto", state: Optional[dict] = None):
            super().__init__()
            if order not in ("random", "sequential"):
                _fail("E_OPTION", None, f"order must be 'random' or 'sequential', got {order!r}")
            self.order, self.shards = order, list(shards)
            self.options = dict(batch=batch, context=context, expect_tokenizer=expect_tokenizer, loss_mask=loss_mask)
            self.sampler = None
            if order == "random":
                self.sampler = BatchSampler(shards=None if sources else self.shards, sources=sources, seed=seed,
                                            state=state, **self.options)

        def state(self) -> Optional[dict]:
            return self.sampler.state() if self.sampler is not None else None

        def __iter__(self):
            worker = torch.utils.data.get_worker_info()
            if worker is not None and worker.num_workers > 1:
                _fail("E_OPTION", None, f"MaskedWindows is one stream: use DataLoader(..., num_workers=0 or 1), "
                      f"not {worker.num_workers} workers that would each yield the same batches")
            batches = self.sampler if self.sampler is not None else sequential_batches(self.shards, **self.options)
            for batch in batches:
                yield batch_to_torch(batch)

    def load_adamw_state(model: "TokenfilterGPT", optimizer, path: str) -> dict:
        """Resumes from a tokenfilter training checkpoint (``trainMasked``'s ``checkpointPath``):
        the parameters into ``model``, the AdamW moments and step count into ``optimizer`` (a
        ``torch.optim.AdamW`` over exactly ``model``'s parameters). Returns ``{"step",
        "batches_consumed"}``: skip that many batches of the data to continue where it stopped."""
        tensors, metadata = read_safetensors(path)
        if metadata.get("format") != "tokenfilter.checkpoint":
            _fail("E_FILE_FORMAT", path, f"not a training checkpoint (metadata format = {json.dumps(metadata.get('format'))})")
        held = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if held != {id(p) for p in model.parameters()}:
            _fail("E_MISMATCH", path, "the optimizer must hold exactly the model's parameters")
        model.load_safetensors(path)
        try:
            step, consumed = int(metadata["step"]), int(metadata.get("batches_consumed", metadata["step"]))
        except (KeyError, ValueError):
            _fail("E_FILE_FORMAT", path, "metadata 'step' must be an integer")
        stored = {v: k for k, v in _ALIASES.items()}
        for name, p in model.named_parameters():
            state = {"step": torch.tensor(float(step))}
            for key, prefix in (("exp_avg", "optimizer.exp_avg."), ("exp_avg_sq", "optimizer.exp_avg_sq.")):
                found = [prefix + n for n in (name, stored.get(name)) if n and prefix + n in tensors]
                if len(found) != 1:
                    _fail("E_FILE_FORMAT", path, f"checkpoint needs exactly one '{prefix}{name}' tensor, found {len(found)}")
                moment = tensors[found[0]]
                if moment.dtype != np.dtype("<f4") or tuple(moment.shape) != tuple(p.shape):
                    _fail("E_FILE_FORMAT", path, f"tensor '{found[0]}' must be F32 of shape {list(p.shape)}")
                state[key] = torch.from_numpy(np.array(moment)).to(p.device)
            optimizer.state[p] = state
        return {"step": step, "batches_consumed": consumed}

    class _RMSNorm(nn.Module):
        def __init__(self, dim: int, eps: float):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    def _rope_torch(x, cos, sin):
        half = x.shape[-1] // 2
        a, b = x[..., :half], x[..., half:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)

    class _Attention(nn.Module):
        def __init__(self, dim: int, heads: int):
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(dim, 3 * dim, bias=False)
            self.proj = nn.Linear(dim, dim, bias=False)

        def forward(self, x, cos, sin):
            B, T, C = x.shape
            q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in self.qkv(x).split(C, dim=-1))
            q, k = _rope_torch(q, cos, sin), _rope_torch(k, cos, sin)
            if hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0; scale 1/sqrt(hs)
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                scores = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.heads)
                causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
                y = scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v
            return self.proj(y.transpose(1, 2).reshape(B, T, C))

    class _Mlp(nn.Module):
        def __init__(self, dim: int, hidden: int):
            super().__init__()
            self.fc = nn.Linear(dim, hidden, bias=False)
            self.proj = nn.Linear(hidden, dim, bias=False)

        def forward(self, x):
            return self.proj(F.relu(self.fc(x)).square())

    class _Block(nn.Module):
        def __init__(self, config: dict):
            super().__init__()
            self.attn_norm = _RMSNorm(config["dModel"], config["normEps"])
            self.attn = _Attention(config["dModel"], config["heads"])
            self.mlp_norm = _RMSNorm(config["dModel"], config["normEps"])
            self.mlp = _Mlp(config["dModel"], config["hidden"])

        def forward(self, x, cos, sin):
            x = x + self.attn(self.attn_norm(x), cos, sin)
            return x + self.mlp(self.mlp_norm(x))

    class TokenfilterGPT(nn.Module):
        """The tokenfilter Transformer as a PyTorch module; its ``state_dict`` names are the
        ``*.weight`` names of docs/model.md. ``forward(inputs)`` gives logits [B, T, V];
        ``loss(inputs, targets, loss_mask)`` the masked mean cross-entropy of ``trainMasked``."""

        def __init__(self, config: dict):
            super().__init__()
            self.config = config = resolve_config(config)
            C = config["dModel"]
            self.wte = nn.Embedding(config["vocabSize"], C)
            self.blocks = nn.ModuleList(_Block(config) for _ in range(config["layers"]))
            self.final_norm = _RMSNorm(C, config["normEps"])
            self.lm_head = None if config["tieEmbeddings"] else nn.Linear(C, config["vocabSize"], bias=False)
            cos, sin = rope_tables(config["context"], C // config["heads"], config["ropeBase"])
            self.register_buffer("rope_cos", torch.from_numpy(cos), persistent=False)
            self.register_buffer("rope_sin", torch.from_numpy(sin), persistent=False)
            self.tokenizer_json: Optional[str] = None  # the tokenizer.json text the model reads, when known

        @classmethod
        def from_safetensors(cls, path: str) -> "TokenfilterGPT":
            config, _ = load_model(path)
            model = cls(config)
            model.load_safetensors(path)
            return model

        def load_safetensors(self, path: str) -> None:
            """Loads a tokenfilter model or checkpoint file (``wte`` or ``wte.weight`` naming) and
            keeps the tokenizer it embeds in ``self.tokenizer_json`` (None when it embeds none)."""
            self.tokenizer_json = read_model_tokenizer(path)
            config, params = load_model(path)
            for key in ("vocabSize", "dModel", "layers", "heads", "hidden", "tieEmbeddings"):
                if config[key] != self.config[key]:
                    _fail("E_MISMATCH", path, f"the file's {key} is {config[key]}, this module's {self.config[key]}")
            self.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()}, strict=True)

        def optimizer_groups(self, weight_decay: float = TRAIN_DEFAULTS["weight_decay"]) -> List[dict]:
            """Parameter groups for ``torch.optim.AdamW`` as trainMasked decays them: the linear
            layers' matrices (``attn.qkv``, ``attn.proj``, ``mlp.fc``, ``mlp.proj``, an untied
            ``lm_head``) with ``weight_decay``; the embedding and the norm gains without."""
            decayed, rest = [], []
            for name, p in self.named_parameters():
                (decayed if p.dim() == 2 and name != "wte.weight" else rest).append(p)
            return [{"params": decayed, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]

        def save_safetensors(self, path: str, tokenizer_json: Optional[str] = None, embed_tokenizer: bool = True) -> None:
            """Writes the parameters in tokenfilter's model format (``Transformer.load`` reads it),
            with the tokenizer (``tokenizer_json`` text, default the one loaded with the model) and
            its contract, or the contract alone when ``embed_tokenizer`` is False."""
            tensors = {k: v.detach().float().cpu().numpy() for k, v in self.state_dict().items()}
            metadata = {"format": MODEL_FORMATS[0], "format_version": MODEL_FORMAT_VERSION,
                        "config": json.dumps(self.config)}
            text = tokenizer_json if tokenizer_json is not None else self.tokenizer_json
            if text is not None:
                recorded = model_tokenizer_metadata(text, path)
                ids = json.loads(recorded[TOKENIZER_METADATA_KEY])["vocabSize"]
                if ids != self.config["vocabSize"]:
                    _fail("E_TOKENIZER_MISMATCH", path, f"the tokenizer has {ids} ids, the model {self.config['vocabSize']}")
                metadata.update(recorded if embed_tokenizer else {TOKENIZER_METADATA_KEY: recorded[TOKENIZER_METADATA_KEY]})
            write_safetensors(path, tensors, metadata)

        def forward(self, inputs):
            T = inputs.shape[1]
            if T > self.config["context"]:
                _fail("E_OPTION", None, f"context {T} exceeds the model's context {self.config['context']}")
            x = self.wte(inputs)
            for block in self.blocks:
                x = block(x, self.rope_cos[:T], self.rope_sin[:T])
            x = self.final_norm(x)
            return x @ (self.wte.weight if self.lm_head is None else self.lm_head.weight).t()

        def loss(self, inputs, targets, loss_mask):
            """Mean cross-entropy over targets whose mask is true/1; 0 when every target is masked."""
            logits = self.forward(inputs)
            losses = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), reduction="none")
            mask = loss_mask.flatten().to(losses.dtype)
            return (losses * mask).sum() / mask.sum().clamp(min=1)
