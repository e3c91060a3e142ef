import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured } from './run_captured.js';
import { readShard } from '../../../lib/data/shard.js';
import { Tokenizer } from '../../../lib/data/tokenizer.js';
import { tempDir } from '../data/helpers.js';

const { dir, cleanup } = tempDir('tf-cli-');
afterAll(cleanup);

const run = runCaptured;

const docs = [
  { id: 'a', text: 'Influenza is an acute febrile highly contagious viral disease.' },
  { id: 'b', text: 'Café 🩺 — ünïcode text, twice: café café.' },
  { id: 'c', text: 'A robin is a small Old World songbird with a reddish breast.' },
];
const input = join(dir, 'docs.jsonl');
writeFileSync(input, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');

describe('tokenfilter tokenize', () => {
  it('trains a tokenizer, writes shards readable by readShard, and prints a JSON summary', async () => {
    const out = join(dir, 'trained');
    const { code, stdout, stderr } = await run('tokenize', input, '--out', out, '--train-tokenizer', '--vocab', '300', '--shard-tokens', '20', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ command: 'tokenize', documents: 3, skipped: 0, files: 1 });
    expect(summary.tokenizer.trained).toBe(true);
    const tokenizer = await Tokenizer.load(join(out, 'tokenizer.json'));
    expect(tokenizer.hash).toBe(summary.tokenizer.hash);
    const tokens = summary.shards.flatMap((p: string) => Array.from(readShard(p, { expectTokenizer: tokenizer }).tokens));
    expect(tokens.length).toBe(summary.tokens);
    expect(summary.shards.length).toBe(Math.ceil(summary.tokens / 20));
    // documents come back in order, each after <|endoftext|>
    const expected = docs.flatMap((d) => [tokenizer.eotId, ...tokenizer.encode(d.text)]);
    expect(tokens).toEqual(expected);
    expect(JSON.parse(readFileSync(join(out, 'tokenize.json'), 'utf8')).tokens).toBe(summary.tokens);
  });

  it('reports lines with invalid UTF-8, reads a BOM-prefixed file, and exits 2 for a truncated gzip', async () => {
    const bad = join(dir, 'bad-utf8.jsonl');
    writeFileSync(bad, Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from('{"text": "caf'), Buffer.of(0xe9), Buffer.from('"}\n{"text": "ok"}\n')]));
    const done = await run('tokenize', bad, '--out', join(dir, 'utf8'), '--json');
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ documents: 2, skipped: 0, invalidUtf8Lines: 1 });
    const refused = await run('tokenize', bad, '--out', join(dir, 'utf8-strict'), '--invalid-utf8', 'error');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/bad-utf8\.jsonl:1: not valid UTF-8/);
    expect((await run('tokenize', bad, '--out', join(dir, 'utf8-x'), '--invalid-utf8', 'skip')).code).toBe(2);
    const gz = gzipSync(Buffer.from('{"text": "one"}\n'.repeat(500)));
    writeFileSync(join(dir, 'cut.jsonl.gz'), gz.subarray(0, gz.length - 30));
    const cut = await run('tokenize', join(dir, 'cut.jsonl.gz'), '--out', join(dir, 'cut'));
    expect(cut.code).toBe(2);
    expect(cut.stderr).toMatch(/cut\.jsonl\.gz: not a complete gzip stream/);
  });

  it('uses cl100k by default, reads gzipped input with another text field, skips malformed records when asked', async () => {
    const gz = join(dir, 'docs.jsonl.gz');
    writeFileSync(gz, gzipSync([JSON.stringify({ body: 'Hello world' }), 'not json', JSON.stringify({ body: 'Second.' })].join('\n')));
    const out = join(dir, 'cl100k');
    const failed = await run('tokenize', gz, '--out', out, '--text-field', 'body');
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/docs.jsonl.gz:2: invalid JSON.*--skip-malformed/);
    expect(failed.stderr.trim().split('\n').length).toBe(1);
    const { code, stdout } = await run('tokenize', gz, '--out', out, '--text-field', 'body', '--skip-malformed', '--json', '--overwrite');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ documents: 2, skipped: 1 });
    expect(summary.tokenizer.path).toBe('cl100k');
    expect(existsSync(join(out, 'tokenizer.json'))).toBe(false);
    const cl100k = Tokenizer.cl100k();
    const shard = readShard(summary.shards[0], { expectTokenizer: cl100k });
    expect([shard.header.magic, shard.header.version]).toEqual([20240801, 7]); // cl100k (100,277 ids): llm.c's uint32 layout
    expect(Array.from(shard.tokens)).toEqual([cl100k.eotId, ...cl100k.encode('Hello world'), cl100k.eotId, ...cl100k.encode('Second.')]);
  });

  it('exits 2 with one clear line for bad arguments and bad files', async () => {
    mkdirSync(join(dir, 'tk'), { recursive: true });
    const summaryAsInput = join(dir, 'tk', 'tokenize.json');
    writeFileSync(summaryAsInput, 'a text file that happens to share the summary name');
    const cases: [string[], RegExp][] = [
      [['tokenize', input], /required option '--out <dir>' not specified/],
      [['tokenize', input, '--out', join(dir, 'x'), '--shard-tokens', 'lots'], /--shard-tokens must be an integer/],
      [['tokenize', input, '--out', join(dir, 'x'), '--vocab', '1000'], /--vocab only applies with --train-tokenizer/],
      [['tokenize', input, '--out', join(dir, 'x'), '--train-tokenizer'], /--train-tokenizer needs --vocab/],
      [['tokenize', join(dir, 'missing.jsonl'), '--out', join(dir, 'x')], /missing.jsonl: no such file or folder/],
      [['tokenize', input, '--out', join(dir, 'x'), '--tokenizer', input], /--tokenizer .*docs.jsonl: tokenizer JSON/],
      [['tokenize', input, '--out', join(dir, 'trained')], /already holds .* --overwrite/],
      [['tokenize', input, '--out', '/proc/tokenfilter-x'], /cannot create the folder \/proc\/tokenfilter-x/],
      [['tokenize', summaryAsInput, '--out', join(dir, 'tk')], /--out .*tk \(as .*tk\/tokenize\.json\) would write over input .*tk\/tokenize\.json/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['--threads', '0', 'tokenize', input, '--out', join(dir, 'x')], /--threads must be an integer in \[1, 1024\]/],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr } = await run(...argv);
      expect(code, argv.join(' ')).toBe(2);
      expect(stderr, argv.join(' ')).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /); // no stack without --verbose
    }
  });

  it('prints the version and help with exit code 0', async () => {
    const version = await run('--version');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
    const help = await run('tokenize', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--shard-tokens/);
  });
});
