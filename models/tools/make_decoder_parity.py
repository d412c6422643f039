#!/usr/bin/python3
"""Writes the bundled decoder's parity fixture: reference outputs for one fixed raw-text input.

Usage: make_decoder_parity.py HF_DIR OUT.json

HF_DIR is the Hugging Face folder the bundled model was converted from. The outputs come from
reference_decoders.py's independent Llama in float64 (not from llama.py, the training model, nor from
the ONNX graph): attentions [layers, heads, n, n], value norms [layers, heads, n] and the last hidden
state [n, hidden] for <s> + the raw-text encoding of TEXT. test/decoderModel.test.ts compares
onnxruntime-node's outputs of the converted model with them.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import ByteLevelBPE  # noqa: E402
from reference_decoders import run_folder  # noqa: E402
from train import BOS  # noqa: E402

TEXT = 'def area(width, height):\n    """Area of a rectangle."""\n    return width * height\n\nprint(area(3, 4))\n'


def rounded(tensor):
    return [float(f'{value:.7g}') for value in tensor.flatten().tolist()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('folder')
    parser.add_argument('out')
    args = parser.parse_args()
    ids = [BOS] + ByteLevelBPE.load(args.folder).encode(TEXT)
    outputs = run_folder(args.folder, ids)
    fixture = {
        'description': 'Reference outputs of the bundled decoder (reference_decoders.py, float64) for <s> + the '
                       'raw-text encoding of `text`; written by models/tools/make_decoder_parity.py.',
        'text': TEXT,
        'ids': ids,
        'attentionsShape': list(outputs['attentions'].shape),
        'attentions': rounded(outputs['attentions']),
        'valueNormsShape': list(outputs['value_norms'].shape),
        'valueNorms': rounded(outputs['value_norms']),
        'lastHiddenStateShape': list(outputs['hidden_states'][-1].shape),
        'lastHiddenState': rounded(outputs['hidden_states'][-1]),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as handle:
        json.dump(fixture, handle)
        handle.write('\n')
    print(f'{args.out}: {len(ids)} ids, attentions {fixture["attentionsShape"]}')


if __name__ == '__main__':
    main()
