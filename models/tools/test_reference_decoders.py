#!/usr/bin/python3
"""Internal consistency of reference_decoders.py and make_random_checkpoint.py.

Run: /usr/bin/python3 -m unittest discover -s models/tools -p 'test_*.py'

No Hugging Face code exists here to compare with, so each check relates two ways of computing the same
thing that share as little code as possible: grouped-query attention against full heads with repeated
key/value weights, multi-query attention against GPT-BigCode's head-interleaved layout, GPT-2's Conv1D
layout against GPT-BigCode's Linear layout, Hugging Face's half-rotation rotary layout against the
original interleaved (complex-number) formulation with Hugging Face's weight permutation, value norms
against the attention output they decompose, and configs that must be refused.
"""
import copy
import math
import os
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_random_checkpoint as maker  # noqa: E402
import reference_decoders as ref  # noqa: E402
from safetensors_io import read_checkpoint, read_safetensors, write_safetensors  # noqa: E402

IDS = [17, 400, 23, 5, 911, 6, 72, 72, 3000, 41, 8, 1200]


def tiny(name, **overrides):
    config = maker.tiny_config(maker.load_config(name))
    config.update(overrides)
    return config


def weights_for(config, seed=0):
    return {spec[0]: maker.make_tensor(spec, seed) for spec in maker.tensor_specs(config)}


def close(test, a, b, tolerance=1e-10):
    test.assertLess(float((a - b).abs().max()), tolerance)


class CausalOutputs(unittest.TestCase):
    def test_every_architecture_gives_causal_probabilities(self):
        for name in ('tiny_starcoder_py', 'codeparrot-small', 'Qwen2.5-Coder-0.5B', 'deepseek-coder-1.3b-base'):
            config = tiny(name)
            out = ref.run_reference(config, weights_for(config), IDS)
            attentions = out['attentions']
            n = len(IDS)
            self.assertEqual(attentions.shape[-2:], (n, n), name)
            close(self, attentions.sum(-1), torch.ones(attentions.shape[:-1], dtype=attentions.dtype))
            self.assertEqual(float(attentions.triu(1).abs().max()), 0.0, name)
            self.assertEqual(out['hidden_states'].shape[0], (config.get('n_layer') or config['num_hidden_layers']) + 1)
            # Random weights must not give uniform attention, or the parity checks would prove little.
            uniform = 1.0 / torch.arange(1, n + 1, dtype=attentions.dtype)[:, None]
            spread = (attentions - uniform.tril()).abs().max()
            self.assertGreater(float(spread), 0.2, name)

    def test_a_prefix_does_not_see_what_follows(self):
        for name in ('tiny_starcoder_py', 'codeparrot-small', 'Qwen2.5-Coder-0.5B', 'deepseek-coder-1.3b-base'):
            config = tiny(name)
            weights = weights_for(config)
            full = ref.run_reference(config, weights, IDS)
            prefix = ref.run_reference(config, weights, IDS[:5])
            close(self, full['hidden_states'][:, :5], prefix['hidden_states'])
            close(self, full['attentions'][..., :5, :5], prefix['attentions'])
            close(self, full['value_norms'][..., :5], prefix['value_norms'])

    def test_value_norms_are_the_norms_of_what_each_head_adds(self):
        for name in ('tiny_starcoder_py', 'codeparrot-small', 'Qwen2.5-Coder-0.5B'):
            config = tiny(name)
            weights = weights_for(config)
            attended = []
            if config['model_type'] in ('gpt2', 'gpt_bigcode'):
                out = ref.gpt2_family(config, weights, IDS, keep_contributions=True, attention_outputs=attended)
                bias = [weights[f'transformer.h.{layer}.attn.c_proj.bias'].double() for layer in range(2)]
            else:
                out = ref.llama_family(config, weights, IDS, keep_contributions=True, attention_outputs=attended)
                bias = [0.0, 0.0]
            for layer in range(2):
                f = out['contributions'][layer]  # [heads, n, hidden]
                rebuilt = torch.einsum('hij,hjd->id', out['attentions'][layer], f) + bias[layer]
                close(self, rebuilt, attended[layer], 1e-9)
                close(self, out['value_norms'][layer], f.norm(dim=-1))


class LayoutsAgree(unittest.TestCase):
    def test_grouped_query_attention_equals_full_heads_with_repeated_key_value_weights(self):
        config = tiny('Qwen2.5-Coder-0.5B')
        heads, kv_heads = config['num_attention_heads'], config['num_key_value_heads']
        head_dim = config['hidden_size'] // heads
        weights = weights_for(config)
        full = dict(config, num_key_value_heads=heads)
        repeated = dict(weights)
        for name, tensor in weights.items():
            if '.k_proj.' in name or '.v_proj.' in name:
                grouped = tensor.view(kv_heads, head_dim, *tensor.shape[1:])
                repeated[name] = grouped.repeat_interleave(heads // kv_heads, dim=0).reshape(heads * head_dim,
                                                                                           *tensor.shape[1:])
        a = ref.run_reference(config, weights, IDS)
        b = ref.run_reference(full, repeated, IDS)
        for key in ('attentions', 'hidden_states', 'value_norms'):
            close(self, a[key], b[key])

    def test_multi_query_equals_the_head_interleaved_layout_with_one_key_value_head_copied(self):
        config = tiny('tiny_starcoder_py')
        hidden, heads = config['n_embd'], config['n_head']
        d = hidden // heads
        weights = weights_for(config)
        interleaved = dict(weights)
        for layer in range(config['n_layer']):
            for part in ('weight', 'bias'):
                name = f'transformer.h.{layer}.attn.c_attn.{part}'
                tensor = weights[name]
                query, key, value = tensor[:hidden], tensor[hidden:hidden + d], tensor[hidden + d:]
                rows = [torch.cat([query[h * d:(h + 1) * d], key, value]) for h in range(heads)]
                interleaved[name] = torch.cat(rows)
        a = ref.run_reference(config, weights, IDS)
        b = ref.run_reference(dict(config, multi_query=False), interleaved, IDS)
        for key in ('attentions', 'hidden_states', 'value_norms'):
            close(self, a[key], b[key])

    def test_gpt2_conv1d_layout_equals_gpt_bigcode_linear_layout(self):
        gpt2 = tiny('codeparrot-small', scale_attn_by_inverse_layer_idx=False)
        hidden, heads = gpt2['n_embd'], gpt2['n_head']
        d = hidden // heads
        weights = weights_for(gpt2)
        bigcode = dict(gpt2, model_type='gpt_bigcode', multi_query=False)
        converted = {}
        for name, tensor in weights.items():
            if name.endswith('.weight') and ('.attn.' in name or '.mlp.' in name):
                tensor = tensor.T.contiguous()
            if '.c_attn.' in name:
                query, key, value = tensor.split(hidden, dim=0)
                tensor = torch.cat([torch.cat([part[h * d:(h + 1) * d] for part in (query, key, value)])
                                    for h in range(heads)])
            converted[name] = tensor
        a = ref.run_reference(gpt2, weights, IDS)
        b = ref.run_reference(bigcode, converted, IDS)
        for key in ('attentions', 'hidden_states', 'value_norms'):
            close(self, a[key], b[key])

    def test_scaling_by_inverse_layer_index_leaves_layer_0_and_changes_layer_1(self):
        scaled = tiny('codeparrot-small')
        self.assertTrue(scaled['scale_attn_by_inverse_layer_idx'])
        weights = weights_for(scaled)
        a = ref.run_reference(scaled, weights, IDS)
        b = ref.run_reference(dict(scaled, scale_attn_by_inverse_layer_idx=False), weights, IDS)
        close(self, a['attentions'][0], b['attentions'][0])
        self.assertGreater(float((a['attentions'][1] - b['attentions'][1]).abs().max()), 1e-3)

    def test_rotary_positions_are_relative(self):
        for name in ('Qwen2.5-Coder-0.5B', 'deepseek-coder-1.3b-base'):
            config = tiny(name)
            weights = weights_for(config)
            a = ref.llama_family(config, weights, IDS)
            b = ref.llama_family(config, weights, IDS, position_offset=37)
            close(self, a['attentions'], b['attentions'], 1e-9)
            close(self, a['hidden_states'], b['hidden_states'], 1e-9)

    def test_half_rotation_layout_equals_interleaved_rotary_after_the_weight_permutation(self):
        config = tiny('deepseek-coder-1.3b-base')
        heads, hidden = config['num_attention_heads'], config['hidden_size']
        d = hidden // heads
        weights = weights_for(config)
        # Meta's layout: dimension pairs (2i, 2i+1) rotate together, as complex numbers.
        meta_q = weights['model.layers.0.self_attn.q_proj.weight'].double()
        meta_k = weights['model.layers.0.self_attn.k_proj.weight'].double()

        def to_half_rotation(w):  # the permutation Hugging Face's Llama conversion applies to wq and wk
            return w.view(heads, d // 2, 2, hidden).transpose(1, 2).reshape(hidden, hidden)

        converted = dict(weights)
        converted['model.layers.0.self_attn.q_proj.weight'] = to_half_rotation(meta_q).float()
        converted['model.layers.0.self_attn.k_proj.weight'] = to_half_rotation(meta_k).float()
        expected = ref.llama_family(config, converted, IDS)['attentions'][0]

        x = weights['model.embed_tokens.weight'].double()[torch.tensor(IDS)]
        h = x / torch.sqrt((x * x).mean(-1, keepdim=True) + config['rms_norm_eps'])
        h = h * weights['model.layers.0.input_layernorm.weight'].double()
        factor = config['rope_scaling']['factor']
        positions = torch.arange(len(IDS), dtype=torch.float64) / factor
        frequencies = 1.0 / config['rope_theta'] ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
        rotation = torch.polar(torch.ones(len(IDS), d // 2, dtype=torch.float64), torch.outer(positions, frequencies))

        def rotate(w):
            y = (h @ w.T).view(len(IDS), heads, d // 2, 2)
            rotated = torch.view_as_complex(y.contiguous()) * rotation[:, None]
            return torch.view_as_real(rotated).reshape(len(IDS), heads, d)

        q, k = rotate(meta_q).transpose(0, 1), rotate(meta_k).transpose(0, 1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        scores = scores.masked_fill(torch.ones(len(IDS), len(IDS), dtype=torch.bool).triu(1), float('-inf'))
        close(self, torch.softmax(scores, -1), expected, 1e-9)

    def test_qwen2_biases_and_rope_theta_are_read(self):
        config = tiny('Qwen2.5-Coder-0.5B')
        weights = weights_for(config)
        a = ref.run_reference(config, weights, IDS)['attentions']
        unbiased = {name: (torch.zeros_like(t) if name.endswith('q_proj.bias') else t) for name, t in weights.items()}
        self.assertGreater(float((ref.run_reference(config, unbiased, IDS)['attentions'] - a).abs().max()), 1e-3)
        other_theta = dict(config, rope_theta=10.0)
        self.assertGreater(float((ref.run_reference(other_theta, weights, IDS)['attentions'] - a).abs().max()), 1e-3)


class Refused(unittest.TestCase):
    def test_a_gpt2_config_is_not_run_as_llama_with_rotary_off(self):
        gpt2 = tiny('codeparrot-small')
        weights = weights_for(gpt2)
        with self.assertRaisesRegex(ref.ConfigError, "model_type 'gpt2' is not a Llama family config"):
            ref.llama_family(gpt2, weights, IDS)
        with self.assertRaisesRegex(ref.ConfigError, 'lacks hidden_size'):
            ref.llama_family(dict(gpt2, model_type='llama'), weights, IDS)
        llama = tiny('deepseek-coder-1.3b-base')
        for theta in (0, None, 'off'):
            with self.assertRaisesRegex(ref.ConfigError, 'rotary positions cannot be turned off'):
                ref.llama_family(dict(llama, rope_theta=theta), weights_for(llama), IDS)
        with self.assertRaisesRegex(ref.ConfigError, "rope_scaling type 'yarn'"):
            ref.llama_family(dict(llama, rope_scaling={'type': 'yarn', 'factor': 2.0}), weights_for(llama), IDS)

    def test_weights_of_another_architecture_or_with_parts_missing_are_refused(self):
        llama, qwen2 = tiny('deepseek-coder-1.3b-base'), tiny('Qwen2.5-Coder-0.5B')
        with self.assertRaisesRegex(ref.ConfigError, 'checkpoint lacks layers.0.self_attn.q_proj.bias'):
            ref.run_reference(dict(qwen2, hidden_size=32, num_attention_heads=4, num_key_value_heads=4,
                                   intermediate_size=96, max_position_embeddings=256), weights_for(llama), IDS)
        with self.assertRaisesRegex(ref.ConfigError, 'does not use: layers.0.self_attn.k_proj.bias'):
            ref.run_reference(dict(llama, model_type='llama', hidden_size=56, num_attention_heads=14,
                                   num_key_value_heads=2, intermediate_size=168, tie_word_embeddings=True),
                              weights_for(qwen2), IDS)
        with self.assertRaisesRegex(ref.ConfigError, "model_type 'mistral' has no reference decoder"):
            ref.run_reference(dict(llama, model_type='mistral'), weights_for(llama), IDS)
        with self.assertRaisesRegex(ref.ConfigError, 'tie_word_embeddings is false'):
            untied = {name: t for name, t in weights_for(llama).items() if name != 'lm_head.weight'}
            ref.run_reference(llama, untied, IDS)


class Checkpoints(unittest.TestCase):
    def test_safetensors_round_trip_in_each_dtype_and_in_shards(self):
        config = tiny('tiny_starcoder_py')
        with tempfile.TemporaryDirectory() as folder:
            for dtype, tolerance in (('F32', 0.0), ('F16', 2e-3), ('BF16', 1.6e-2)):
                path = os.path.join(folder, f'{dtype}.safetensors')
                original = {'a': torch.randn(3, 5), 'b': torch.randn(7), 'empty': torch.zeros(0, 4)}
                write_safetensors(path, original, dtype, {'format': 'pt'})
                back, metadata = read_safetensors(path)
                self.assertEqual(metadata, {'format': 'pt'})
                with open(path, 'rb') as handle:
                    self.assertEqual(int.from_bytes(handle.read(8), 'little') % 8, 0)
                for name, tensor in original.items():
                    self.assertEqual(tuple(back[name].shape), tuple(tensor.shape))
                    if tensor.numel():
                        relative = ((back[name].float() - tensor).abs() / tensor.abs().clamp_min(1e-3)).max()
                        self.assertLessEqual(float(relative), tolerance)
            one, sharded = os.path.join(folder, 'one'), os.path.join(folder, 'sharded')
            maker.write_checkpoint(config, one, 'BF16', seed=3)
            maker.write_checkpoint(config, sharded, 'BF16', seed=3, shards=3)
            self.assertEqual(len([n for n in os.listdir(sharded) if n.endswith('.safetensors')]), 3)
            a, b = read_checkpoint(one), read_checkpoint(sharded)
            self.assertEqual(sorted(a), sorted(b))
            for name in a:
                self.assertTrue(torch.equal(a[name], b[name]), name)

    def test_tiny_configs_keep_every_feature(self):
        qwen2 = tiny('Qwen2.5-Coder-0.5B')
        self.assertEqual(qwen2['num_attention_heads'] // qwen2['num_key_value_heads'], 7)
        self.assertTrue(qwen2['tie_word_embeddings'])
        self.assertEqual(qwen2['rope_theta'], 1e6)
        names = [spec[0] for spec in maker.tensor_specs(qwen2)]
        self.assertIn('model.layers.0.self_attn.q_proj.bias', names)
        self.assertNotIn('model.layers.0.self_attn.o_proj.bias', names)
        self.assertNotIn('lm_head.weight', names)
        llama = tiny('deepseek-coder-1.3b-base')
        self.assertEqual(llama['rope_scaling'], {'factor': 4.0, 'type': 'linear'})
        self.assertIn('lm_head.weight', [spec[0] for spec in maker.tensor_specs(llama)])
        starcoder = tiny('tiny_starcoder_py')
        self.assertTrue(starcoder['multi_query'])
        c_attn = dict((s[0], s[1]) for s in maker.tensor_specs(starcoder))['transformer.h.0.attn.c_attn.weight']
        self.assertEqual(c_attn, (32 + 2 * 8, 32))
        unixcoder = tiny('unixcoder-base')
        self.assertEqual((unixcoder['max_position_embeddings'], unixcoder['type_vocab_size']), (1026, 10))

    def test_full_size_parameter_counts_match_the_published_ones(self):
        def count(name):
            return sum(maker.prod(spec[1]) for spec in maker.tensor_specs(maker.load_config(name)))
        # Qwen2.5-Coder-0.5B's model card: 0.49B parameters, 0.36B without embeddings.
        qwen2 = count('Qwen2.5-Coder-0.5B')
        self.assertEqual(round(qwen2 / 1e9, 2), 0.49)
        self.assertEqual(round((qwen2 - 151936 * 896) / 1e9, 2), 0.36)
        self.assertEqual(round(count('deepseek-coder-1.3b-base') / 1e9, 1), 1.3)
        self.assertEqual(round(count('tiny_starcoder_py') / 1e6), 164)
        self.assertEqual(round(count('codebert-base') / 1e6), 125)


if __name__ == '__main__':
    unittest.main()
