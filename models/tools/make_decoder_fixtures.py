#!/usr/bin/python3
"""Writes test/fixtures/decoders/: one tiny random-weight checkpoint per decoder architecture and the
reference outputs of reference_decoders.py for two fixed code snippets, for tests that run without Python.

Usage: make_decoder_fixtures.py [OUT_DIR]   (default: test/fixtures/decoders)

Per model folder: config.json, model.safetensors (or shards), tokenizer.json (the bundled model's
vocabulary with a decoder's post-processing), and reference.safetensors with, for input k,
`input{k}.attentions` [layers, heads, n, n], `input{k}.hidden_states` [layers + 1, n, hidden],
`input{k}.last_hidden_state` [n, hidden], `input{k}.value_norms` [layers, heads, n] (float32, computed
in float64 from the stored weights) and `input{k}.ids` (int64); reference.json says which snippet
each input is, its ids and how they were made.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_random_checkpoint as maker  # noqa: E402
from bpe import ByteLevelBPE  # noqa: E402
from reference_decoders import run_folder  # noqa: E402
from safetensors_io import write_streaming  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
# (fixture folder, published config, stored dtype, shards, config changes): every dtype and a sharded
# folder appear once; GPT-BigCode also without multi-query attention (one key/value head per query head).
MODELS = [
    ('tiny_starcoder_py', 'tiny_starcoder_py', 'F32', 1, {}),
    ('gpt_bigcode-multi-head', 'tiny_starcoder_py', 'F32', 1, {'multi_query': False}),
    ('codeparrot-small', 'codeparrot-small', 'F16', 1, {}),
    ('qwen2.5-coder-0.5b', 'Qwen2.5-Coder-0.5B', 'BF16', 1, {}),
    ('deepseek-coder-1.3b-base', 'deepseek-coder-1.3b-base', 'BF16', 2, {}),
]
SNIPPETS = [
    {'language': 'python',
     'text': 'def mean(values):\n    total = 0\n    for value in values:\n        total += value\n'
             '    return total / len(values)\n'},
    {'language': 'java', 'text': 'int max(int a, int b) { return a > b ? a : b; }'},
]
SEED = 0


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'test', 'fixtures', 'decoders')
    tokenizer = ByteLevelBPE.load(maker.BUNDLED_TOKENIZER)
    torch.set_num_threads(1)
    for folder_name, config_name, dtype_name, shards, changes in MODELS:
        folder = os.path.join(out_dir, folder_name)
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            os.unlink(os.path.join(folder, name))
        config = {**maker.tiny_config(maker.load_config(config_name)), **changes}
        maker.write_checkpoint(config, folder, dtype_name, SEED, shards=shards, tokenizer=True)
        # Llama's tokenizer (DeepSeek-Coder's) puts <s> first; GPT-2's, StarCoder's and Qwen2's add nothing.
        prefix = [config['bos_token_id']] if config['model_type'] == 'llama' else []
        tensors, inputs = {}, []
        for index, snippet in enumerate(SNIPPETS):
            ids = prefix + tokenizer.encode(snippet['text'])
            outputs = run_folder(folder, ids)
            for key in ('attentions', 'hidden_states', 'last_hidden_state', 'value_norms'):
                tensors[f'input{index}.{key}'] = outputs[key].float()
            tensors[f'input{index}.ids'] = torch.tensor(ids, dtype=torch.int64)
            inputs.append({**snippet, 'ids': ids, 'bosFirst': bool(prefix)})
        entries = [(name, 'F32' if t.dtype == torch.float32 else 'I64', tuple(t.shape))
                   for name, t in sorted(tensors.items())]
        write_streaming(os.path.join(folder, 'reference.safetensors'), entries, tensors.__getitem__, {'format': 'pt'})
        with open(os.path.join(folder, 'reference.json'), 'w') as handle:
            json.dump({
                'description': 'Outputs of models/tools/reference_decoders.py (float64, stored as float32) for '
                               'the random-weight checkpoint in this folder.',
                'publishedConfig': f'models/tools/hf_configs/{config_name}.json (sizes reduced by --tiny)'
                                   + ''.join(f', {key} = {json.dumps(value)}' for key, value in changes.items()),
                'dtype': dtype_name, 'seed': SEED, 'shards': shards,
                'tokenization': 'the raw text by the bundled byte-level BPE (models/tools/bpe.py), no special '
                                'tokens, <s> (id 0) first for llama',
                'inputs': inputs,
            }, handle, indent=1, ensure_ascii=False)
        size = sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder))
        print(f'{folder}: {config["model_type"]} {dtype_name}, {size / 1024:.0f} KiB')


if __name__ == '__main__':
    main()
