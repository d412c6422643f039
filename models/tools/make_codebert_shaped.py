#!/usr/bin/python3
"""Builds a randomly initialised checkpoint with CodeBERT's exact config.json, to prove that the
export and the extension's loader handle the real size (12 layers, 768 hidden, 12 heads, vocab
50265, 514 positions). Tokenizer files are copied from TOKENIZER_DIR (our ids are all < 50265).

Usage: make_codebert_shaped.py OUT_DIR TOKENIZER_DIR   (e.g. models/code-attention-mini)
Then:  models/export_onnx.py OUT_DIR OUT_DIR-onnx --name codebert-shaped
"""
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from roberta import Config, RobertaForMaskedLM  # noqa: E402

CODEBERT_CONFIG = {
    'architectures': ['RobertaModel'],
    'attention_probs_dropout_prob': 0.1,
    'bos_token_id': 0,
    'eos_token_id': 2,
    'hidden_act': 'gelu',
    'hidden_dropout_prob': 0.1,
    'hidden_size': 768,
    'initializer_range': 0.02,
    'intermediate_size': 3072,
    'layer_norm_eps': 1e-05,
    'max_position_embeddings': 514,
    'model_type': 'roberta',
    'num_attention_heads': 12,
    'num_hidden_layers': 12,
    'pad_token_id': 1,
    'type_vocab_size': 1,
    'vocab_size': 50265,
}


def main():
    out, tokenizer = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    model = RobertaForMaskedLM(Config(CODEBERT_CONFIG))
    model.save_pretrained(out)
    for name in ('tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json'):
        shutil.copy(os.path.join(tokenizer, name), os.path.join(out, name))
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
