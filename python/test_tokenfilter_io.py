"""Checks python/tokenfilter_io.py against files and results made by tokenfilter's TypeScript API.

    python3 python/test_tokenfilter_io.py DIR            # numpy parts
    python3 python/test_tokenfilter_io.py DIR --torch    # PyTorch parts (needs torch)

DIR holds what test/python/fixtures.ts writes, described by DIR/expected.json. The vitest file
test/python/python_io.test.ts writes the fixtures and runs this script.
"""
import json
import os
import sys
import unittest

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenfilter_io as tio  # noqa: E402

DIR = sys.argv[1] if len(sys.argv) > 1 else ""
TORCH = "--torch" in sys.argv[2:]
EXPECTED = json.load(open(os.path.join(DIR, "expected.json"))) if DIR else {}


def contract(c: dict) -> tio.TokenizerContract:
    return tio.TokenizerContract(c["vocabSize"], c["eotId"], c["hiddenId"], c["hashPrefix"])


def sampler_kwargs(options: dict) -> dict:
    kwargs = dict(batch=options["batch"], context=options["context"], seed=options.get("seed", 0),
                  loss_mask=options.get("lossMask", "auto"))
    if "sources" in options:
        kwargs["sources"] = [{"shards": s["shards"], "weight": s.get("weight", 1)} for s in options["sources"]]
    else:
        kwargs["shards"] = options["shards"]
    return kwargs


def ts_logits(model: dict) -> np.ndarray:
    shape = EXPECTED["tokens"]["shape"]
    return np.fromfile(model["logits"], dtype="<f4").reshape(shape[0], shape[1], -1)


def tokens() -> np.ndarray:
    return np.asarray(EXPECTED["tokens"]["values"], dtype=np.int64).reshape(EXPECTED["tokens"]["shape"])


class Files(unittest.TestCase):
    def test_shards_read_as_written(self):
        for info in EXPECTED["shardInfo"]:
            values, header = tio.read_shard(info["path"])
            self.assertEqual((header.version, header.token_count, header.token_bytes),
                             (info["version"], info["tokenCount"], info["tokenBytes"]), info["path"])
            self.assertEqual(header.tokenizer, contract(info["tokenizer"]))
            self.assertEqual(values.dtype, np.dtype("<u2") if info["version"] == 1 else np.dtype("<u4"))
            np.testing.assert_array_equal(values, np.asarray(info["tokens"]))

    def test_side_files_read_as_written(self):
        for info in EXPECTED["sideInfo"]:
            values, header = tio.read_side_file(info["path"], expect_tokens=info["tokenCount"])
            self.assertEqual((header.kind, header.token_count), (info["kind"], info["tokenCount"]))
            self.assertEqual(header.tokenizer, contract(info["tokenizer"]))
            if info["values"] is not None:
                np.testing.assert_array_equal(values, np.asarray(info["values"]))
            if info["scores"] is not None:
                scores = tio.side_file_scores(values, header)
                np.testing.assert_array_equal(scores, np.asarray(info["scores"], dtype=np.float32))

    def test_tokenizer_contract_is_compared(self):
        shard = EXPECTED["shards"][0]
        mine = tio.TokenizerContract.from_hash(300, 299, 298, "tokenizer-for-python-tests")
        self.assertEqual(mine, contract(EXPECTED["tokenizer"]))
        tio.read_shard(shard, expect_tokenizer=mine)
        other = tio.TokenizerContract.from_hash(300, 299, 298, "another tokenizer")
        for read in (lambda: tio.read_shard(shard, expect_tokenizer=other),
                     lambda: tio.read_side_file(tio.side_file_path_for(shard, tio.LOSS_MASK), expect_tokenizer=other),
                     lambda: tio.BatchSampler(batch=1, context=4, shards=[shard], expect_tokenizer=other)):
            with self.assertRaises(tio.TokenfilterError) as caught:
                read()
            self.assertEqual(caught.exception.code, "E_TOKENIZER_MISMATCH")
        mask = tio.side_file_path_for(shard, tio.LOSS_MASK)
        for kwargs in ({"expect_kind": tio.LABELS}, {"expect_tokens": 5}):
            with self.assertRaises(tio.TokenfilterError) as caught:
                tio.read_side_file(mask, **kwargs)
            self.assertEqual(caught.exception.code, "E_MISMATCH")

    def test_tokenizer_json_gives_the_contract_tokenfilter_records(self):
        self.assertEqual(len(EXPECTED["tokenizers"]), 4)
        for t in EXPECTED["tokenizers"]:
            got = tio.tokenizer_contract_from_json(t["path"])
            self.assertEqual(got, contract(t), t["name"])
        with open(os.path.join(DIR, "bad.tokenizer.json"), "w") as f:
            json.dump({"model": {"type": "WordPiece"}}, f)
        with self.assertRaises(tio.TokenfilterError) as caught:
            tio.tokenizer_contract_from_json(os.path.join(DIR, "bad.tokenizer.json"))
        self.assertEqual(caught.exception.code, "E_FILE_FORMAT")

    def test_corrupted_files_are_refused(self):
        self.assertGreater(len(EXPECTED["bad"]), 10)
        for bad in EXPECTED["bad"]:
            read = tio.read_shard if bad["reader"] == "shard" else tio.read_side_file
            with self.assertRaises(tio.TokenfilterError, msg=bad["what"]) as caught:
                read(bad["path"])
            self.assertEqual(caught.exception.code, "E_FILE_FORMAT", bad["what"])
            self.assertIn(bad["path"], str(caught.exception))

    def test_llmc_uint32_shards_are_read(self):
        path = os.path.join(DIR, "llmc_uint32.bin")
        header = np.zeros(256, dtype="<i4")
        header[:3] = (20240801, 7, 5)
        with open(path, "wb") as f:
            f.write(header.tobytes() + np.array([0, 1, 70000, 3, 4], dtype="<u4").tobytes())
        values, parsed = tio.read_shard(path)
        self.assertEqual((parsed.version, parsed.token_bytes, parsed.tokenizer.vocab_size), (7, 4, 0))
        np.testing.assert_array_equal(values, [0, 1, 70000, 3, 4])
        header[0] = tio.SHARD_MAGIC  # version 7 belongs to llm.c's magic only
        with open(path, "r+b") as f:
            f.write(header.tobytes())
        with self.assertRaises(tio.TokenfilterError):
            tio.read_shard(path)

    def test_written_shards_read_back(self):
        path = os.path.join(DIR, "from_python.bin")
        c = contract(EXPECTED["tokenizer"])
        tio.write_shard(path, np.arange(100) % 300, c)
        values, header = tio.read_shard(path, expect_tokenizer=c)
        self.assertEqual((header.version, header.token_count), (1, 100))
        np.testing.assert_array_equal(values, np.arange(100))

    def test_wide_shards_are_written_in_llmc_uint32_layout(self):
        path = os.path.join(DIR, "from_python_wide.bin")
        wide = tio.TokenizerContract.from_hash(70_000, 0, 1, "ab" * 32)
        tio.write_shard(path, np.array([5, 69_999, 0]), wide)
        words = np.fromfile(path, dtype="<i4", count=3)
        self.assertEqual(list(words), [20240801, 7, 3])  # llm.c's uint32 header
        np.testing.assert_array_equal(np.fromfile(path, dtype="<u4", offset=1024), [5, 69_999, 0])
        values, header = tio.read_shard(path, expect_tokenizer=wide)
        self.assertEqual((header.version, header.token_bytes), (7, 4))
        np.testing.assert_array_equal(values, [5, 69_999, 0])
        for bad in (2, 3):
            with self.assertRaises(tio.TokenfilterError) as caught:
                tio.write_shard(path, np.array([1]), wide, version=bad)
            self.assertEqual(caught.exception.code, "E_OPTION")
        with self.assertRaises(tio.TokenfilterError):
            tio.write_shard(path, np.array([1]), wide, version=1)

    def test_older_uint32_shards_are_read(self):
        path = os.path.join(DIR, "old_uint32.bin")
        header = np.zeros(256, dtype="<i4")
        header[:3] = (20240520, 2, 3)
        with open(path, "wb") as f:
            f.write(header.tobytes() + np.array([7, 70000, 9], dtype="<u4").tobytes())
        values, parsed = tio.read_shard(path)
        self.assertEqual((parsed.version, parsed.token_bytes), (2, 4))
        np.testing.assert_array_equal(values, [7, 70000, 9])


class Batches(unittest.TestCase):
    def assert_batch(self, got: tio.Batch, want: dict, what: str):
        shape = (want["batch"], want["context"])
        np.testing.assert_array_equal(got.inputs, np.asarray(want["inputs"]).reshape(shape), what)
        np.testing.assert_array_equal(got.targets, np.asarray(want["targets"]).reshape(shape), what)
        np.testing.assert_array_equal(got.loss_mask, np.asarray(want["lossMask"]).reshape(shape), what)

    def test_random_windows_equal_the_typescript_sampler(self):
        for r, run in enumerate(EXPECTED["runs"]):
            sampler = tio.BatchSampler(**sampler_kwargs(run["options"]))
            for i, want in enumerate(run["batches"]):
                self.assert_batch(sampler.next(), want, f"run {r} batch {i}")
            if run.get("resume"):
                state = run["resume"]["state"]
                self.assertEqual(tio.BatchSampler(**sampler_kwargs(run["options"]), state=state).state(), state)
                resumed = tio.BatchSampler(**sampler_kwargs(run["options"]), state=state)
                for i, want in enumerate(run["resume"]["batches"]):
                    self.assert_batch(resumed.next(), want, f"run {r} resumed batch {i}")

    def test_source_hash_equals_the_typescript_one(self):
        for case in EXPECTED["hashes"]:
            self.assertEqual(tio._hash_unit(*case["parts"]), case["value"], case["parts"])

    def test_sequential_batches_equal_the_typescript_ones(self):
        got = list(tio.sequential_batches(EXPECTED["shards"], batch=3, context=16))
        self.assertEqual(len(got), len(EXPECTED["sequential"]))
        for i, (batch, want) in enumerate(zip(got, EXPECTED["sequential"])):
            self.assert_batch(batch, want, f"sequential batch {i}")
            self.assertEqual([list(r) for r in batch.rows], [[r["shard"], r["start"], r["length"]] for r in want["rows"]])

    def test_bad_ids_and_mask_values_are_refused_when_read(self):
        bad_ids = next(b["path"] for b in EXPECTED["bad"] if b["what"] == "id outside vocabulary")
        bad_mask = next(b["path"] for b in EXPECTED["bad"] if b["what"] == "loss-mask value 2")
        shard = os.path.join(DIR, "masked_badly.bin")
        with open(shard, "wb") as f:
            f.write(open(EXPECTED["shards"][1], "rb").read())
        with open(tio.side_file_path_for(shard, tio.LOSS_MASK), "wb") as f:
            f.write(open(bad_mask, "rb").read())
        for path in (bad_ids, shard):
            with self.assertRaises(tio.TokenfilterError) as caught:
                list(tio.sequential_batches([path], batch=2, context=16))
            self.assertEqual(caught.exception.code, "E_FILE_FORMAT")
            self.assertIn("outside the vocabulary" if path == bad_ids else "loss mask value 2", str(caught.exception))

    def test_bad_options_are_refused(self):
        shards = EXPECTED["shards"][:1]
        for kwargs in ({"batch": 0, "context": 4, "shards": shards}, {"batch": 1, "context": 4, "shards": shards, "loss_mask": "x"},
                       {"batch": 1, "context": 4}, {"batch": 1, "context": 5000, "shards": shards},
                       {"batch": 1, "context": 4, "shards": [EXPECTED["general"]], "loss_mask": "required"}):
            with self.assertRaises(tio.TokenfilterError):
                tio.BatchSampler(**kwargs)


class Models(unittest.TestCase):
    def test_cosine_lr_equals_the_schedule_of_train_masked(self):
        t = EXPECTED["training"]
        got = [tio.cosine_lr(step, t["lr"], t["warmupSteps"], len(t["lrs"]), tio.TRAIN_DEFAULTS["min_lr_ratio"])
               for step in range(len(t["lrs"]))]
        self.assertEqual(got, t["lrs"])
        with self.assertRaises(tio.TokenfilterError):
            tio.cosine_lr(0, 1e-3, 4, 4)

    def test_numpy_logits_and_loss_match_the_transformer(self):
        lb = EXPECTED["lossBatch"]
        shape = (lb["batch"], lb["context"])
        for model in EXPECTED["models"]:
            gpt = tio.NumpyGPT.from_safetensors(model["path"])
            worst = np.abs(gpt.logits(tokens()) - ts_logits(model)).max()
            self.assertLess(worst, 1e-4, model["path"])
            loss = gpt.loss(*(np.asarray(lb[k]).reshape(shape) for k in ("inputs", "targets", "lossMask")))
            self.assertAlmostEqual(loss, model["loss"], delta=1e-4)

    def test_both_tensor_spellings_load_and_duplicates_are_refused(self):
        _, today = tio.load_model(EXPECTED["models"][0]["path"])
        _, renamed = tio.load_model(EXPECTED["models"][2]["path"])
        self.assertEqual(set(today), set(renamed))
        self.assertIn("wte.weight", today)
        with self.assertRaises(tio.TokenfilterError) as caught:
            tio.load_model(EXPECTED["bothNames"])
        self.assertEqual(caught.exception.code, "E_FILE_FORMAT")

    def test_broken_model_files_are_refused(self):
        tensors, metadata = tio.read_safetensors(EXPECTED["models"][0]["path"])
        tensors = {k: np.array(v) for k, v in tensors.items()}
        path = os.path.join(DIR, "broken.safetensors")
        cases = [("E_FILE_FORMAT", {**tensors, "wte.weight": tensors["wte.weight"][:10]}, metadata),
                 ("E_FILE_FORMAT", {**tensors, "wte.weight": tensors["wte.weight"].astype(np.float64)}, metadata),
                 ("E_FILE_FORMAT", {k: v for k, v in tensors.items() if k != "final_norm.weight"}, metadata),
                 ("E_FILE_FORMAT", {**tensors, "extra": np.zeros(2, np.float32)}, metadata),
                 ("E_FILE_FORMAT", tensors, {**metadata, "format": "other"}),
                 ("E_FILE_FORMAT", tensors, {**metadata, "format_version": "9"}),
                 ("E_NOT_FINITE", {**tensors, "final_norm.weight": np.full_like(tensors["final_norm.weight"], np.nan)}, metadata)]
        for code, t, m in cases:
            tio.write_safetensors(path, t, m)
            with self.assertRaises(tio.TokenfilterError) as caught:
                tio.load_model(path)
            self.assertEqual(caught.exception.code, code)

    def test_the_embedded_tokenizer_is_read_and_checked(self):
        e = EXPECTED["embeddedTokenizer"]
        trained = EXPECTED["tokenizers"][0]
        for path in (e["embedded"], e["checkpoint"]):
            text = tio.read_model_tokenizer(path)
            with open(e["tokenizerPath"], encoding="utf-8") as f:
                self.assertEqual(json.loads(text), json.load(f))
            self.assertEqual(tio.tokenizer_contract_from_config(json.loads(text)), contract(trained))
            self.assertEqual(tio.read_model_contract(path), contract(trained))
        self.assertIsNone(tio.read_model_tokenizer(EXPECTED["models"][0]["path"]))
        self.assertIsNone(tio.read_model_contract(EXPECTED["models"][0]["path"]))
        with self.assertRaises(tio.TokenfilterError) as caught:
            tio.read_model_tokenizer(e["swapped"])
        self.assertEqual(caught.exception.code, "E_FILE_FORMAT")
        self.assertIn("is not the one the file's contract names", str(caught.exception))
        tensors, metadata = tio.read_safetensors(e["embedded"])
        path = os.path.join(DIR, "bad_contract.safetensors")
        tio.write_safetensors(path, dict(tensors), {**metadata, tio.TOKENIZER_METADATA_KEY: '{"vocabSize": -1}'})
        with self.assertRaises(tio.TokenfilterError) as caught:
            tio.read_model_contract(path)
        self.assertEqual(caught.exception.code, "E_FILE_FORMAT")

    def test_safetensors_round_trip_and_strict_header(self):
        tensors, metadata = tio.read_safetensors(EXPECTED["models"][1]["path"])
        path = os.path.join(DIR, "copy.safetensors")
        tio.write_safetensors(path, tensors, metadata)
        again, meta = tio.read_safetensors(path)
        self.assertEqual(meta, metadata)
        for name in tensors:
            np.testing.assert_array_equal(again[name], tensors[name])
        raw = open(path, "rb").read()
        n = int.from_bytes(raw[:8], "little")
        edits = [raw[:7], (10 ** 9).to_bytes(8, "little") + raw[8:], (len(raw)).to_bytes(8, "little") + raw[8:],
                 raw[:8] + b"[" + raw[9:], raw + b"\0" * 4, raw[:-4], raw[:8] + raw[8:8 + n].replace(b'"F32"', b'"F99"', 1) + raw[8 + n:]]
        for i, data in enumerate(edits):
            with open(path, "wb") as f:
                f.write(data)
            with self.assertRaises(tio.TokenfilterError, msg=f"edit {i}") as caught:
                tio.read_safetensors(path)
            self.assertEqual(caught.exception.code, "E_FILE_FORMAT")


class Torch(unittest.TestCase):
    def test_module_logits_and_loss_match_the_transformer(self):
        import torch
        lb = EXPECTED["lossBatch"]
        shape = (lb["batch"], lb["context"])
        batch = [torch.from_numpy(np.asarray(lb[k], dtype=np.int64).reshape(shape)) for k in ("inputs", "targets", "lossMask")]
        for model in EXPECTED["models"]:
            gpt = tio.TokenfilterGPT.from_safetensors(model["path"]).eval()
            with torch.no_grad():
                logits = gpt(torch.from_numpy(tokens())).numpy()
                loss = float(gpt.loss(*batch))
            self.assertLess(np.abs(logits - ts_logits(model)).max(), 1e-4, model["path"])
            self.assertAlmostEqual(loss, model["loss"], delta=1e-4)

    def run_steps(self, gpt, opt, steps, check_loss=True):
        import torch
        t, d = EXPECTED["training"], tio.TRAIN_DEFAULTS
        for step in steps:
            want = t["batches"][step]
            shape = (want["batch"], want["context"])
            inputs, targets, mask = (torch.from_numpy(np.asarray(want[k], dtype=np.int64).reshape(shape))
                                     for k in ("inputs", "targets", "lossMask"))
            for group in opt.param_groups:
                group["lr"] = tio.cosine_lr(step, t["lr"], t["warmupSteps"], len(t["batches"]), d["min_lr_ratio"])
            loss = gpt.loss(inputs, targets, mask)
            if check_loss:
                self.assertAlmostEqual(loss.item(), t["losses"][step], delta=1e-4)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(gpt.parameters(), d["clip"])
            opt.step()
        _, final = tio.load_model(t["final"])
        return max(float(np.abs(p.detach().numpy() - final[name]).max()) for name, p in gpt.state_dict().items())

    def adamw(self, gpt):
        import torch
        t, d = EXPECTED["training"], tio.TRAIN_DEFAULTS
        return torch.optim.AdamW(gpt.optimizer_groups(t["weightDecay"]), lr=t["lr"], betas=d["betas"], eps=d["eps"])

    def test_a_torch_loop_reproduces_train_masked(self):
        t = EXPECTED["training"]
        gpt = tio.TokenfilterGPT.from_safetensors(t["init"])
        worst = self.run_steps(gpt, self.adamw(gpt), range(len(t["batches"])))
        print(f"largest parameter difference after {len(t['batches'])} steps: {worst:.2e}")
        self.assertLess(worst, 1e-4)

    def test_resuming_a_tokenfilter_checkpoint_in_torch_continues_the_same_run(self):
        t = EXPECTED["training"]
        gpt = tio.TokenfilterGPT.from_safetensors(t["init"])
        opt = self.adamw(gpt)
        position = tio.load_adamw_state(gpt, opt, t["checkpoint"])
        self.assertEqual(position, {"step": 2, "batches_consumed": 2})
        worst = self.run_steps(gpt, opt, range(2, len(t["batches"])))
        print(f"largest parameter difference after resuming for 2 steps: {worst:.2e}")
        self.assertLess(worst, 1e-4)
        fresh = tio.TokenfilterGPT.from_safetensors(t["init"])  # the same two steps without the moments drift away
        opt = self.adamw(fresh)
        fresh.load_safetensors(t["checkpoint"])
        self.assertGreater(self.run_steps(fresh, opt, range(2, len(t["batches"])), check_loss=False), 1e-4)

    def test_the_training_loop_of_docs_python_md_runs(self):
        doc = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "python.md")).read()
        code = doc.split("## A masked training loop")[1].split("```python")[1].split("```")[0]
        edits = [('"filtered/*.bin"', repr(os.path.join(DIR, "a_[0-2].bin"))), ("batch=16, context=256", "batch=2, context=32"),
                 ('"vocabSize": 50257, "dModel": 256, "layers": 4, "heads": 4, "context": 256',
                  '"vocabSize": 300, "dModel": 32, "layers": 1, "heads": 2, "context": 32'),
                 ("steps = 1000", "steps = 3"), ('"model.safetensors"', repr(os.path.join(DIR, "doc_loop.safetensors")))]
        for old, new in edits:
            self.assertIn(old, code)
            code = code.replace(old, new)
        exec(compile(code, "docs/python.md", "exec"), {})
        tio.NumpyGPT.from_safetensors(os.path.join(DIR, "doc_loop.safetensors"))

    def test_partial_config_gets_tokenfilter_defaults(self):
        gpt = tio.TokenfilterGPT({"vocabSize": 300, "dModel": 32, "layers": 1, "heads": 2, "context": 8})
        self.assertEqual((gpt.config["hidden"], gpt.config["normEps"], gpt.config["ropeBase"]), (128, 1e-5, 10000))
        self.assertIsNone(gpt.lm_head)
        with self.assertRaises(tio.TokenfilterError) as caught:
            tio.TokenfilterGPT({"vocabSize": 300, "dModel": 30, "layers": 1, "heads": 2, "context": 8})
        self.assertEqual(caught.exception.code, "E_OPTION")

    def test_dataset_yields_the_sampler_windows(self):
        run = EXPECTED["runs"][0]
        options = run["options"]
        ds = tio.MaskedWindows(options["shards"], options["batch"], options["context"], seed=options["seed"])
        for want, (inputs, targets, mask) in zip(run["batches"], ds):
            shape = (want["batch"], want["context"])
            self.assertEqual(inputs.dtype, __import__("torch").int64)
            np.testing.assert_array_equal(inputs.numpy(), np.asarray(want["inputs"]).reshape(shape))
            np.testing.assert_array_equal(targets.numpy(), np.asarray(want["targets"]).reshape(shape))
            np.testing.assert_array_equal(mask.numpy(), np.asarray(want["lossMask"]).reshape(shape).astype(bool))
        loader = __import__("torch").utils.data.DataLoader(ds, batch_size=None, num_workers=2)
        with self.assertRaisesRegex(Exception, "one stream"):
            next(iter(loader))
        sequential = list(tio.MaskedWindows(EXPECTED["shards"], 3, 16, order="sequential"))
        self.assertEqual(len(sequential), len(EXPECTED["sequential"]))
        np.testing.assert_array_equal(sequential[-1][2].numpy(), np.asarray(EXPECTED["sequential"][-1]["lossMask"]).reshape(-1, 16).astype(bool))

    def test_masked_training_step_and_save_for_typescript(self):
        import torch
        torch.manual_seed(0)
        gpt = tio.TokenfilterGPT.from_safetensors(EXPECTED["models"][0]["path"])
        before = gpt.wte.weight.detach().clone()
        opt = torch.optim.AdamW(gpt.parameters(), lr=1e-2, betas=(0.9, 0.95), eps=1e-7)
        options = EXPECTED["runs"][0]["options"]
        for step, (inputs, targets, mask) in zip(range(2), tio.MaskedWindows(options["shards"], 4, 32, seed=5)):
            loss = gpt.loss(inputs, targets, mask)
            opt.zero_grad()
            loss.backward()
            opt.step()
            self.assertTrue(torch.isfinite(loss))
        self.assertGreater(float((gpt.wte.weight - before).abs().max()), 1e-4)
        gpt.save_safetensors(os.path.join(DIR, "from_torch.safetensors"))
        self.assertIsNone(tio.read_model_tokenizer(os.path.join(DIR, "from_torch.safetensors")))
        # a module loaded from a file with its tokenizer saves it back; another vocabulary is refused
        embedded = tio.TokenfilterGPT.from_safetensors(EXPECTED["embeddedTokenizer"]["embedded"])
        self.assertIsNotNone(embedded.tokenizer_json)
        embedded.save_safetensors(os.path.join(DIR, "embedded_from_torch.safetensors"))
        self.assertEqual(tio.read_model_tokenizer(os.path.join(DIR, "embedded_from_torch.safetensors")), embedded.tokenizer_json)
        with open(EXPECTED["tokenizers"][1]["path"], encoding="utf-8") as f:
            cl100k = f.read()
        with self.assertRaises(tio.TokenfilterError) as caught:
            embedded.save_safetensors(os.path.join(DIR, "wrong_vocab.safetensors"), tokenizer_json=cl100k)
        self.assertEqual(caught.exception.code, "E_TOKENIZER_MISMATCH")
        with torch.no_grad():
            logits = gpt.eval()(torch.from_numpy(tokens())).numpy()
        logits.astype("<f4").tofile(os.path.join(DIR, "from_torch.logits.f32"))
        numpy_logits = tio.NumpyGPT.from_safetensors(os.path.join(DIR, "from_torch.safetensors")).logits(tokens())
        self.assertLess(np.abs(numpy_logits - logits).max(), 1e-4)


def main() -> int:
    if not DIR:
        print(__doc__)
        return 2
    if TORCH and tio.torch is None:
        print("FAILED: --torch given but import torch fails in", sys.executable)
        return 1
    loader = unittest.defaultTestLoader
    classes = [Torch] if TORCH else [Files, Batches, Models]
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    return 0 if result.wasSuccessful() and not result.skipped else 1


if __name__ == "__main__":
    sys.exit(main())
