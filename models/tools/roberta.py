"""RoBERTa encoder (the CodeBERT architecture) in plain PyTorch with Hugging Face's names.

The module names match `transformers.RobertaModel` / `RobertaForMaskedLM`, so a Hugging Face
checkpoint directory (config.json + pytorch_model.bin) loads into it unchanged, and our own
checkpoints load into Hugging Face's classes. Post-layer-norm, exact (erf) GELU, learned
positions offset by padding_idx + 1 as in `create_position_ids_from_input_ids`.
"""
import json
import math
import os

import torch
from torch import nn

DEFAULT_CONFIG = {
    'architectures': ['RobertaForMaskedLM'],
    'model_type': 'roberta',
    'vocab_size': 8192,
    'hidden_size': 256,
    'num_hidden_layers': 4,
    'num_attention_heads': 4,
    'intermediate_size': 1024,
    'hidden_act': 'gelu',
    'hidden_dropout_prob': 0.1,
    'attention_probs_dropout_prob': 0.1,
    'max_position_embeddings': 514,
    'type_vocab_size': 1,
    'initializer_range': 0.02,
    'layer_norm_eps': 1e-5,
    'pad_token_id': 1,
    'bos_token_id': 0,
    'eos_token_id': 2,
}


class Config(dict):
    __getattr__ = dict.__getitem__

    @classmethod
    def load(cls, folder):
        with open(os.path.join(folder, 'config.json')) as handle:
            return cls({**DEFAULT_CONFIG, **json.load(handle)})


class Embeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.padding_idx = config.pad_token_id
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size, padding_idx=config.pad_token_id)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids):
        mask = input_ids.ne(self.padding_idx).long()
        position_ids = torch.cumsum(mask, dim=1) * mask + self.padding_idx
        token_types = torch.zeros_like(input_ids)
        hidden = self.word_embeddings(input_ids) + self.position_embeddings(position_ids) + self.token_type_embeddings(token_types)
        return self.dropout(self.LayerNorm(hidden))


class SelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads = config.num_attention_heads
        self.head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def split(self, x):
        batch, length, _ = x.shape
        return x.view(batch, length, self.heads, self.head_size).transpose(1, 2)

    def forward(self, hidden, additive_mask):
        query, key, value = self.split(self.query(hidden)), self.split(self.key(hidden)), self.split(self.value(hidden))
        scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(self.head_size) + additive_mask
        probs = torch.softmax(scores, dim=-1)
        context = torch.matmul(self.dropout(probs), value)
        batch, _, length, _ = context.shape
        return context.transpose(1, 2).reshape(batch, length, -1), probs, value


class SelfOutput(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, context, residual):
        return self.LayerNorm(self.dropout(self.dense(context)) + residual)


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self = SelfAttention(config)
        self.output = SelfOutput(config)

    def value_transforms(self, value):
        """f_h(x_j) = (x_j W_V^h + b_V^h) W_O^h per head (Kobayashi et al. 2020): [batch, heads, seq, hidden].

        b_O is left out, as in the paper: it is added once after the sum over heads and tokens."""
        heads, size = self.self.heads, self.self.head_size
        weight = self.output.dense.weight.view(weight_rows(self.output.dense), heads, size).permute(1, 2, 0)
        return torch.matmul(value, weight)

    def value_norms(self, value):
        """‖f_h(x_j)‖ per head: [batch, heads, seq]."""
        transformed = self.value_transforms(value)
        return torch.sqrt((transformed * transformed).sum(-1))

    def value_grams(self, value):
        """G_j[h, h'] = <f_h(x_j), f_h'(x_j)>: [batch, seq, heads, heads]. With it the layer-level norm
        ‖Σ_h α_h(i, j) f_h(x_j)‖ is sqrt(α(i, j)ᵀ G_j α(i, j)) for any attention α; the diagonal is the
        value norms squared."""
        transformed = self.value_transforms(value).transpose(1, 2)  # [batch, seq, heads, hidden]
        return torch.matmul(transformed, transformed.transpose(-1, -2))

    def forward(self, hidden, additive_mask, with_value_norms=False, with_value_grams=False):
        context, probs, value = self.self(hidden, additive_mask)
        norms = self.value_norms(value) if with_value_norms else None
        grams = self.value_grams(value) if with_value_grams else None
        return self.output(context, hidden), probs, norms, grams


def weight_rows(linear):
    return linear.weight.shape[0]


class Intermediate(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, hidden):
        return nn.functional.gelu(self.dense(hidden))


class Output(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden, residual):
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class Layer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = Intermediate(config)
        self.output = Output(config)

    def forward(self, hidden, additive_mask, with_value_norms=False, with_value_grams=False):
        attended, probs, norms, grams = self.attention(hidden, additive_mask, with_value_norms, with_value_grams)
        return self.output(self.intermediate(attended), attended), probs, norms, grams


class Encoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.layer = nn.ModuleList([Layer(config) for _ in range(config.num_hidden_layers)])


class RobertaModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)

    def forward(self, input_ids, attention_mask=None, with_attentions=False, with_value_norms=False,
                with_value_grams=False):
        """(hidden, attentions, value norms), and the value Gram matrices last when with_value_grams."""
        if attention_mask is None:
            attention_mask = input_ids.ne(self.config.pad_token_id).long()
        additive_mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        hidden = self.embeddings(input_ids)
        attentions, norms, grams = [], [], []
        for layer in self.encoder.layer:
            hidden, probs, layer_norms, layer_grams = layer(hidden, additive_mask, with_value_norms, with_value_grams)
            if with_attentions:
                attentions.append(probs)
            if with_value_norms:
                norms.append(layer_norms)
            if with_value_grams:
                grams.append(layer_grams)
        return (hidden, attentions, norms, grams) if with_value_grams else (hidden, attentions, norms)


class LMHead(nn.Module):
    def __init__(self, config, word_embeddings):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.decoder.weight = word_embeddings.weight
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden):
        return self.decoder(self.layer_norm(nn.functional.gelu(self.dense(hidden)))) + self.bias


class RobertaForMaskedLM(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.roberta = RobertaModel(config)
        self.lm_head = LMHead(config, self.roberta.embeddings.word_embeddings)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(0.0, self.config.initializer_range)
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()

    def forward(self, input_ids, attention_mask=None):
        hidden, _, _ = self.roberta(input_ids, attention_mask)
        return self.lm_head(hidden)

    def save_pretrained(self, folder):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, 'config.json'), 'w') as handle:
            json.dump(dict(self.config), handle, indent=2)
        state = {key: value for key, value in self.state_dict().items() if key != 'lm_head.decoder.weight'}
        torch.save(state, os.path.join(folder, 'pytorch_model.bin'))


def load_encoder(folder):
    """Loads a Hugging Face RoBERTa checkpoint directory (ours or CodeBERT's) as a RobertaModel."""
    config = Config.load(folder)
    model = RobertaModel(config)
    state = torch.load(os.path.join(folder, 'pytorch_model.bin'), map_location='cpu')
    encoder_state = {}
    for key, value in state.items():
        if key.startswith('roberta.'):
            key = key[len('roberta.'):]
        if key.startswith(('embeddings.', 'encoder.')):
            encoder_state[key] = value
    missing, unexpected = model.load_state_dict(encoder_state, strict=False)
    missing = [key for key in missing if not key.endswith('position_ids')]
    if missing:
        raise ValueError(f'checkpoint {folder} lacks encoder weights: {missing[:5]} …')
    model.eval()
    return model, config
