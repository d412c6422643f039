#!/usr/bin/python3
"""The decoder converter's parity check at real model sizes (not in CI: minutes and gigabytes per model).

Usage: nice -n 19 /usr/bin/python3 models/tools/check_decoder_shapes.py [CONFIG …] [--work DIR] [--dtype bf16]
       (default: tiny_starcoder_py Qwen2.5-Coder-0.5B; any name in models/tools/hf_configs/ of a decoder)

For each config, make_random_checkpoint.py writes a randomly initialised checkpoint with the published
config's exact shapes (bf16 by default, to keep the disk modest) and the bundled tokenizer with the
decoder's post-processing; the TypeScript converter (`node dist/cli.js convert`, run `npm run build`
first) turns it into a model folder and loads it; models/tools/run_onnx_outputs.cjs runs the graph on one
short input (the Python function of test/fixtures/decoders), and reference_decoders.py computes the same
outputs in float64 from the same weights. Prints the largest |ONNX − reference| of attentions,
last_hidden_state and value_norms (each must be ≤ 1e-4), the convert time and peak memory (the CLI
process: conversion, then loading the model with a probe), and the size of model.onnx (+ its data).
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from make_random_checkpoint import copy_tokenizer, load_config, write_checkpoint  # noqa: E402
from reference_decoders import run_folder  # noqa: E402
from safetensors_io import CLI_DTYPES  # noqa: E402

TOLERANCE = 1e-4
REFERENCE_INPUT = os.path.join(ROOT, 'test', 'fixtures', 'decoders', 'qwen2.5-coder-0.5b', 'reference.json')


def run_measured(command):
    """Runs a command; returns its wall time in seconds and its peak resident memory in MiB."""
    started = time.time()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f'{" ".join(command)} failed ({os.waitstatus_to_exitcode(status)})')
    return time.time() - started, usage.ru_maxrss / 1024


def short_input(config):
    with open(REFERENCE_INPUT) as handle:
        ids = json.load(handle)['inputs'][0]['ids']
    # The fixture's ids are the raw text's; Llama's windows start with <s> (id 0).
    return [0] + ids if config['model_type'] == 'llama' else ids


def onnx_outputs(model_file, ids, folder):
    inputs = os.path.join(folder, 'inputs.json')
    with open(inputs, 'w') as handle:
        json.dump({'ids': [ids], 'mask': [[1] * len(ids)]}, handle)
    script = os.path.join(HERE, 'run_onnx_outputs.cjs')
    result = subprocess.run(['node', script, model_file, inputs], check=True, capture_output=True, cwd=ROOT)
    outputs = {}
    for name, value in json.loads(result.stdout).items():
        data = torch.frombuffer(bytearray(base64.b64decode(value['float32Base64'])), dtype=torch.float32)
        outputs[name] = data.reshape(value['dims'])
    return outputs


def check(name, work, dtype):
    config = load_config(name)
    base = os.path.join(work, name)
    shutil.rmtree(base, ignore_errors=True)
    checkpoint, converted = os.path.join(base, 'hf'), os.path.join(base, 'converted')
    started = time.time()
    write_checkpoint(config, checkpoint, CLI_DTYPES[dtype], seed=0)
    copy_tokenizer(config, checkpoint)
    written = time.time() - started
    convert_seconds, convert_mib = run_measured(
        ['node', os.path.join(ROOT, 'dist', 'cli.js'), 'convert', checkpoint, converted])
    sizes = {file: os.path.getsize(os.path.join(converted, file)) / 2 ** 20
             for file in ('model.onnx', 'model.onnx.data') if os.path.exists(os.path.join(converted, file))}
    ids = short_input(config)
    actual = onnx_outputs(os.path.join(converted, 'model.onnx'), ids, base)
    reference = run_folder(checkpoint, ids)
    differences = {
        'attentions': (actual['attentions'][:, 0] - reference['attentions']).abs().max().item(),
        'last_hidden_state': (actual['last_hidden_state'][0] - reference['last_hidden_state']).abs().max().item(),
        'value_norms': (actual['value_norms'][:, 0] - reference['value_norms']).abs().max().item(),
    }
    shutil.rmtree(base, ignore_errors=True)
    passed = all(value <= TOLERANCE for value in differences.values())
    size_text = ' + '.join(f'{file} {mib:,.1f} MiB' for file, mib in sizes.items())
    print(f'{name} ({config["model_type"]}, {dtype} checkpoint written in {written:.0f} s, {len(ids)} subwords): '
          + 'max |ONNX − reference| ' + ', '.join(f'{key} {value:.2e}' for key, value in differences.items())
          + f'; convert + load {convert_seconds:.0f} s, peak RSS {convert_mib:,.0f} MiB; {size_text}'
          + ('' if passed else f'  FAILED (tolerance {TOLERANCE})'), flush=True)
    return passed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*', default=['tiny_starcoder_py', 'Qwen2.5-Coder-0.5B'])
    parser.add_argument('--work', default=os.path.join(ROOT, 'models', '_work', 'decoder-shapes'))
    parser.add_argument('--dtype', default='bf16', choices=sorted(CLI_DTYPES))
    args = parser.parse_args()
    results = [check(name, args.work, args.dtype) for name in args.configs]
    sys.exit(0 if all(results) else 1)


if __name__ == '__main__':
    main()
