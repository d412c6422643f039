#!/usr/bin/python3
"""The converter's parity check at real model sizes (not in CI: minutes and gigabytes per model).

Usage: check_convert_shapes.py [MODEL_ID …] [--work DIR]   (default microsoft/codebert-base microsoft/unixcoder-base)

For each model, a randomly initialised RoBERTa with that model's exact config shapes (from
models/known-models.json) is written as model.safetensors and as pytorch_model.bin; the Python
exporter (models/export_onnx.py) and the TypeScript converter (`node dist/cli.js convert`, run
`npm run build` first) each turn it into a model folder, and models/tools/compare_onnx.cjs runs both
on a padded batch of two and on one row as long as the model's windows allow (up to 700 subwords)
and prints the largest difference of each output. Tokenizer files come from the bundled model.
"""
import argparse
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
from roberta import Config, RobertaForMaskedLM  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

TOKENIZER = os.path.join(ROOT, 'models', 'code-attention-mini')
LONG_ROW = 700


def config_for(entry):
    return {
        'architectures': ['RobertaModel'], 'model_type': 'roberta', 'hidden_act': 'gelu', 'layer_norm_eps': 1e-5,
        'hidden_dropout_prob': 0.1, 'attention_probs_dropout_prob': 0.1, 'initializer_range': 0.02,
        'bos_token_id': 0, 'pad_token_id': 1, 'eos_token_id': 2,
        'vocab_size': entry['vocabSize'], 'hidden_size': entry['hiddenSize'], 'num_hidden_layers': entry['layers'],
        'num_attention_heads': entry['heads'], 'intermediate_size': entry['intermediateSize'],
        'max_position_embeddings': entry['maxPositionEmbeddings'], 'type_vocab_size': entry['typeVocabSize'],
    }


def write_checkpoint(folder, config):
    torch.manual_seed(18)
    model = RobertaForMaskedLM(Config(config))
    with torch.no_grad():
        for name, value in model.named_parameters():
            # Biases and norms away from 0 and 1, weights larger than at initialisation: attention far from uniform.
            if name.endswith('LayerNorm.weight'):
                value.copy_(1 + 0.1 * torch.randn_like(value))
            elif name.endswith('bias') or 'LayerNorm' in name:
                value.copy_(0.05 * torch.randn_like(value))
            else:
                value.copy_(0.05 * torch.randn_like(value))
    model.save_pretrained(folder)
    state = {name: value for name, value in model.state_dict().items() if name != 'lm_head.decoder.weight'}
    write_safetensors(os.path.join(folder, 'model.safetensors'), state)
    for name in ('vocab.json', 'merges.txt', 'tokenizer.json', 'tokenizer_config.json'):
        shutil.copy(os.path.join(TOKENIZER, name), folder)


def inputs_for(config):
    generator = torch.Generator().manual_seed(5)
    rows = [[0] + torch.randint(5, 8000, (n,), generator=generator).tolist() + [2] for n in (158, 97)]
    width = max(len(row) for row in rows)
    padded = {'ids': [row + [1] * (width - len(row)) for row in rows],
              'mask': [[1] * len(row) + [0] * (width - len(row)) for row in rows]}
    longest = min(LONG_ROW, config['max_position_embeddings'] - 2)
    long_row = [0] + torch.randint(5, 8000, (longest - 2,), generator=generator).tolist() + [2]
    return [padded, {'ids': [long_row], 'mask': [[1] * len(long_row)]}]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('models', nargs='*', default=['microsoft/codebert-base', 'microsoft/unixcoder-base'])
    parser.add_argument('--work', default=os.path.join(ROOT, 'models', '_work', 'convert-shapes'))
    args = parser.parse_args()
    with open(os.path.join(ROOT, 'models', 'known-models.json')) as handle:
        known = {entry['id']: entry for entry in json.load(handle)['models']}
    failed = False
    for model_id in args.models:
        config = config_for(known[model_id])
        base = os.path.join(args.work, model_id.replace('/', '--'))
        shutil.rmtree(base, ignore_errors=True)
        checkpoint, exported, converted = (os.path.join(base, name) for name in ('hf', 'exported', 'converted'))
        write_checkpoint(checkpoint, config)
        started = time.time()
        exporter_script = os.path.join(ROOT, 'models', 'export_onnx.py')
        subprocess.run([sys.executable, exporter_script, checkpoint, exported, '--skip-check'], check=True)
        exported_seconds = time.time() - started
        os.remove(os.path.join(checkpoint, 'pytorch_model.bin'))  # the converter must work from safetensors alone
        started = time.time()
        subprocess.run(['node', os.path.join(ROOT, 'dist', 'cli.js'), 'convert', checkpoint, converted], check=True)
        converted_seconds = time.time() - started
        inputs = os.path.join(base, 'inputs.json')
        with open(inputs, 'w') as handle:
            json.dump(inputs_for(config), handle)
        print(f'{model_id}: export_onnx.py {exported_seconds:.0f} s, '
              f'code-attention convert {converted_seconds:.0f} s', flush=True)
        result = subprocess.run(['node', os.path.join(HERE, 'compare_onnx.cjs'), os.path.join(exported, 'model.onnx'),
                                 os.path.join(converted, 'model.onnx'), inputs])
        failed = failed or result.returncode != 0
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
