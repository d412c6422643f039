#!/usr/bin/python3
"""Builds the parity fixture of the TypeScript converter (src/convert) against models/export_onnx.py.

Usage: make_convert_fixture.py [OUT_DIR]   (default test/fixtures/convert/roberta-tiny)

A randomly initialised RoBERTa with a small config (2 layers, 4 heads, hidden 32, vocabulary 300
from a byte-level BPE trained on examples/, type_vocab_size 2) whose weights are exactly
representable in float32, float16 and bfloat16, written as
  model.safetensors                        (F32, the masked-LM checkpoint: roberta.* and lm_head.*)
  variants/f16-shards/…                    (the same weights in F16, two shards and their index)
  variants/bf16.safetensors                (the same weights in BF16)
with config.json, vocab.json and merges.txt (no tokenizer.json: the converter builds it).
models/export_onnx.py exports the same weights (from a pytorch_model.bin in a temporary folder)
and the exported model.onnx is run in onnxruntime-node on fixed inputs (a padded batch of two);
expected.json holds the inputs and those outputs, and PyTorch's own, as base64 float32.
The mocha test converts each variant in TypeScript and compares.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from bpe import ByteLevelBPE, pieces, save, train  # noqa: E402
from roberta import Config, RobertaForMaskedLM  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

CONFIG = {
    'architectures': ['RobertaForMaskedLM'],
    'model_type': 'roberta',
    'vocab_size': 300,
    'hidden_size': 32,
    'num_hidden_layers': 2,
    'num_attention_heads': 4,
    'intermediate_size': 64,
    'hidden_act': 'gelu',
    'hidden_dropout_prob': 0.1,
    'attention_probs_dropout_prob': 0.1,
    'max_position_embeddings': 130,
    'type_vocab_size': 2,
    'initializer_range': 0.02,
    'layer_norm_eps': 1e-05,
    'pad_token_id': 1,
    'bos_token_id': 0,
    'eos_token_id': 2,
}
SNIPPETS = [
    'def mean(values):\n    total = 0\n    for value in values:\n        total += value\n'
    '    return total / len(values)\n',
    'int max(int a, int b) { return a > b ? a : b; }',
]


def write_sharded(folder, tensors, shards, dtype_name):
    """Splits the tensors into `shards` files and writes model.safetensors.index.json."""
    names = sorted(tensors)
    weight_map, total = {}, 0
    for index in range(shards):
        part = names[index::shards]
        file = f'model-{index + 1:05d}-of-{shards:05d}.safetensors'
        write_safetensors(os.path.join(folder, file), {name: tensors[name] for name in part}, dtype_name)
        for name in part:
            weight_map[name] = file
            total += tensors[name].numel() * (4 if dtype_name == 'F32' else 2)
    with open(os.path.join(folder, 'model.safetensors.index.json'), 'w') as handle:
        json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, handle, indent=2)


def representable(tensor):
    """Rounds to bfloat16 and zeroes what float16 cannot hold exactly, so all three files hold one set of values."""
    rounded = tensor.to(torch.bfloat16).float()
    return torch.where(rounded.half().float() == rounded, rounded, torch.zeros_like(rounded))


def random_state(model, generator):
    # Larger than the usual 0.02 so that attention is far from uniform and the comparison is sharp.
    state = {}
    for name, value in model.state_dict().items():
        scale = 1.0 if 'LayerNorm.weight' in name else 0.3
        centre = 1.0 if 'LayerNorm.weight' in name else 0.0
        noise = torch.randn(value.shape, generator=generator) * (0.2 if centre else scale)
        state[name] = representable(noise + centre)
    # The masked-LM decoder shares the word embeddings' storage: loading two values would keep the second.
    state['lm_head.decoder.weight'] = state['roberta.embeddings.word_embeddings.weight']
    return state


def encode(out):
    tokenizer = ByteLevelBPE.load(out)
    # Cut short to keep the fixture small; the second row is shorter, so the batch is padded.
    rows = [[0] + tokenizer.encode(text)[:limit] + [2] for text, limit in zip(SNIPPETS, (26, 14))]
    width = max(len(row) for row in rows)
    ids = [row + [1] * (width - len(row)) for row in rows]
    mask = [[1] * len(row) + [0] * (width - len(row)) for row in rows]
    return ids, mask


def pack(values):
    return base64.b64encode(values.detach().float().contiguous().numpy().astype('<f4').tobytes()).decode('ascii')


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'test', 'fixtures', 'convert', 'roberta-tiny')
    os.makedirs(os.path.join(out, 'variants', 'f16-shards'), exist_ok=True)
    torch.manual_seed(18)
    generator = torch.Generator().manual_seed(18)
    counts = {}
    for name in sorted(os.listdir(os.path.join(ROOT, 'examples'))):
        if name.endswith('.jsonl'):
            continue
        with open(os.path.join(ROOT, 'examples', name)) as handle:
            for piece in pieces(handle.read()):
                counts[piece] = counts.get(piece, 0) + 1
    vocab, merges = train(counts, CONFIG['vocab_size'])
    save(vocab, merges, out)
    os.remove(os.path.join(out, 'tokenizer.json'))
    os.remove(os.path.join(out, 'tokenizer_config.json'))
    config = Config(dict(CONFIG))
    model = RobertaForMaskedLM(config)
    state = random_state(model, generator)
    model.load_state_dict(state, strict=False)
    model.eval()
    with open(os.path.join(out, 'config.json'), 'w') as handle:
        json.dump(CONFIG, handle, indent=2)
    stored = {name: value for name, value in state.items() if name != 'lm_head.decoder.weight'}
    write_safetensors(os.path.join(out, 'model.safetensors'), stored, 'F32')
    write_sharded(os.path.join(out, 'variants', 'f16-shards'), stored, 2, 'F16')
    write_safetensors(os.path.join(out, 'variants', 'bf16.safetensors'), stored, 'BF16')

    ids, mask = encode(out)
    with torch.no_grad():
        hidden, attentions, norms = model.roberta(torch.tensor(ids), torch.tensor(mask), True, True)
    with tempfile.TemporaryDirectory() as work:
        checkpoint, exported = os.path.join(work, 'checkpoint'), os.path.join(work, 'exported')
        model.save_pretrained(checkpoint)
        for name in ('vocab.json', 'merges.txt'):
            shutil.copy(os.path.join(out, name), checkpoint)
        exporter_script = os.path.join(ROOT, 'models', 'export_onnx.py')
        subprocess.run([sys.executable, exporter_script, checkpoint, exported], check=True)
        inputs = os.path.join(work, 'inputs.json')
        with open(inputs, 'w') as handle:
            json.dump({'ids': ids, 'mask': mask}, handle)
        runner = os.path.join(HERE, 'run_onnx_outputs.cjs')
        result = subprocess.run(['node', runner, os.path.join(exported, 'model.onnx'), inputs],
                                check=True, capture_output=True, text=True)
        exporter = json.loads(result.stdout)
    expected = {
        'description': 'Outputs of models/export_onnx.py\'s model.onnx (run in onnxruntime-node) and of PyTorch '
                       '(models/tools/roberta.py) for the weights in model.safetensors; '
                       'made by models/tools/make_convert_fixture.py.',
        'ids': ids,
        'mask': mask,
        'exporter': exporter,
        'pytorch': {
            'last_hidden_state': {'dims': list(hidden.shape), 'float32Base64': pack(hidden)},
            'attentions': {'dims': list(torch.stack(attentions).shape), 'float32Base64': pack(torch.stack(attentions))},
            'value_norms': {'dims': list(torch.stack(norms).shape), 'float32Base64': pack(torch.stack(norms))},
        },
    }
    with open(os.path.join(out, 'expected.json'), 'w') as handle:
        json.dump(expected, handle)
    print(f'wrote {out}: {len(stored)} tensors, inputs {len(ids)} × {len(ids[0])}')


if __name__ == '__main__':
    main()
