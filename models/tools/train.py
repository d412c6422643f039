#!/usr/bin/python3
"""Masked-language-model training of the miniature CodeBERT, resumable, bounded by CPU time.

Usage: train.py CORPUS_DIR TOKENIZER_DIR RUN_DIR [--cpu-minutes 600] [--recipe packed-wwm|baseline]
                [--device cpu|cuda] [--threads 2] [--export-only]

The budget is the CPU time of this process (time.process_time: all its threads, user + system),
counted over the training loop only (encoding the corpus and the held-out evaluation are not
counted) and summed over every stretch of a resumed run. The machine is shared, so wall time says
little about how much training a run got; CPU time does. On CUDA the same budget counts the host
process's CPU time, which is close to its wall time there.

Recipes (`--recipe`):
- baseline: the first bundled model's recipe. 15 % of subwords chosen independently, every
  position through the 8,192-way output layer, one document per sequence (padded), 7 batches of
  16 × 256 then one of 8 × 512, AdamW lr 6e-4, warm-up 5 % of the budget, linear decay, dropout 0.1.
- packed-wwm (default): whole-word masking, loss and output projection on the masked positions
  only, sequence packing, shorter sequences with more steps (6 batches of 32 × 128, one of
  16 × 256, one of 8 × 512: about 4,096 subwords a step and one step in eight at 512 so that every
  position the product uses stays trained), AdamW lr 1e-3 (weight decay on matrices only), warm-up
  2 % of the budget, linear decay to 0 at its end, no dropout while training.
- packed: packed-wwm with independent subword masking, to measure what whole-word masking buys.
- packed-wwm-mixed: packed-wwm, but every other step's batch is cut from the files as the product
  feeds an encoder: code tokens (tree-sitter leaves, string literals whole, no comments) joined by one
  space (models/tools/leaf_text.cjs). A model trained on raw files only meets, in every analysis, a
  text it never saw (no newlines or indentation, a space before every bracket), and its heads are
  weaker there; this recipe trains on both. The held-out evaluation adds the same text.
- packed-wwm-brackets: packed-wwm, but a word that contains a bracket (`(`, `)`, `[`, `]`, `{`, `}`,
  alone or merged into a subword such as `);` or `("`) is chosen at 40 % instead of 15 %. The type of
  a masked closing bracket is given by its unmatched opening bracket, and a masked opening one by
  its closer, so this puts more of the loss on exactly the lookup a matching-bracket head makes.
  The attention itself is never a training target. Used as a second phase from a packed-wwm state
  (`--switch-recipe`); the held-out evaluation keeps the plain 15 % masks, so it stays comparable.

- packed-wwm-mixed-retyped: packed-wwm-mixed, but in half of the leaf-text sequences every matched
  bracket pair gets one random type, the same at both ends (`f ( x )` may become `f { x }`), and in
  the leaf text a word with a bracket is masked at 40 %. There the type of a masked bracket is given
  by its partner alone, however far away, so the loss pays for finding the partner, not for the
  local guess that `f (` opens with `(`. Raw-text batches are as in packed-wwm-mixed; the held-out
  evaluation is unchanged. A second phase from a trained state (`--switch-recipe`).

- packed-wwm-mixed-long: packed-wwm-mixed with the same 4,096 subwords a step cut into longer
  sequences, half the steps 16 × 256 and half 8 × 512, so that pairs further apart than 128
  subwords (the closing brace of a function body, say) are in one sequence far more often.

Warm start (`--init-from MODEL_DIR`). A new run can start from the weights of an exported model
folder (model.onnx, as shipped in models/; models/tools/onnx_to_checkpoint.py reads them back bit
for bit) or a checkpoint folder (pytorch_model.bin). Its counters (steps, subwords, CPU minutes)
and phases continue the folder's manifest, and a new phase records the warm start. What an export
does not hold is re-initialised: the optimiser's moments and the MLM head (the ONNX graph has the
encoder only). So the phase first trains the head alone for --head-steps steps (encoder frozen, at
the recipe's peak learning rate), then everything with a learning rate that rises over
--ramp-steps steps to --lr and decays linearly to 0 at the end of the budget (the phase's own
schedule: the first phase's schedule ended at 0). `--init-early-from` makes another exported folder
the run's first snapshot, so that the export keeps the same early checkpoint.

Whole-word masking. A "word" is a maximal run of subwords in which each subword continues the
previous one: a subword continues its predecessor when it does not begin with a byte-level space
marker (any whitespace byte) and both the predecessor's last character and its own first
character are letters, digits or `_`. So `getElementById` in three subwords is one word, `foo_bar`
is one word, while ` foo`, `(`, `.`, `bar` after `.` and `42` after `[` each start a new word.
15 % of words are chosen (never <s>, </s>, <pad>), then per word 80 % become <mask> in all their
subwords, 10 % random subwords, 10 % unchanged. Masking a whole identifier means the model cannot
fill it in from its own remaining pieces and must look at its other occurrences.

Packing. All training files are joined into one stream, each followed by </s>; a sequence of
length L is <s> + L - 2 consecutive subwords of that stream + </s>, so no position is padding.
Every epoch (per length) starts the cut at a new offset and visits the chunks in a new permutation.

State. Every --checkpoint-minutes (wall) RUN_DIR/state.pt is written atomically (temporary file,
then rename): model, optimizer, step, tokens seen, CPU seconds used, data position per sequence
length (epoch, index), and the Python, torch and masking RNG states. A run that finds state.pt
resumes from it (with --switch-recipe, under another recipe from then on: the state records each
phase's recipe and first step); the learning-rate schedule is a function of the CPU time used, so it continues
where it was. A new phase on a resumed state (another recipe or budget) given --lr gets a schedule of
its own instead: a ramp over --ramp-steps steps to --lr, then a linear decay to 0 at the new budget.
Model-only snapshots are kept at roughly geometric CPU times (RUN_DIR/snapshots) so
that an "early" checkpoint at about a tenth of any later point exists.

Outputs (at the end of the budget, or with --export-only from the current state without
training): RUN_DIR/final (the current model) and RUN_DIR/early (the snapshot nearest a tenth of
the final's CPU time) as Hugging Face checkpoint folders with training.json (held-out evaluation
with a unigram baseline), RUN_DIR/loss.csv and RUN_DIR/eval.json.
"""
import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import ByteLevelBPE  # noqa: E402
from roberta import DEFAULT_CONFIG, Config, RobertaForMaskedLM  # noqa: E402

BOS, PAD, EOS, UNK, MASK = 0, 1, 2, 3, 4
MASK_RATE = 0.15
BRACKET_CHARACTERS = set('()[]{}')
RECIPES = {
    'baseline': {'shapes': [(16, 256)] * 7 + [(8, 512)], 'whole_words': False, 'masked_only': False, 'packed': False,
                 'lr': 6e-4, 'warmup': 0.05, 'dropout': 0.1, 'decay_matrices_only': False},
    'packed': {'shapes': [(32, 128)] * 6 + [(16, 256), (8, 512)], 'whole_words': False, 'masked_only': True,
               'packed': True, 'lr': 1e-3, 'warmup': 0.02, 'dropout': 0.0, 'decay_matrices_only': True},
    'packed-wwm': {'shapes': [(32, 128)] * 6 + [(16, 256), (8, 512)], 'whole_words': True, 'masked_only': True,
                   'packed': True, 'lr': 1e-3, 'warmup': 0.02, 'dropout': 0.0, 'decay_matrices_only': True},
}
RECIPES['packed-wwm-brackets'] = {**RECIPES['packed-wwm'], 'bracket_mask_rate': 0.4}
RECIPES['packed-wwm-mixed'] = {**RECIPES['packed-wwm'], 'leaf_text': True}
RECIPES['packed-wwm-mixed-long'] = {**RECIPES['packed-wwm-mixed'], 'shapes': [(16, 256), (16, 256), (8, 512), (8, 512)]}
RECIPES['packed-wwm-mixed-retyped'] = {**RECIPES['packed-wwm-mixed'], 'retype_rate': 0.5, 'bracket_mask_rate': 0.4}
BRACKET_PAIRS = ('()', '[]', '{}')
LEAF_TEXT_HELP = ('needs CORPUS/train-leaves.jsonl and heldout-leaves.jsonl: '
                  'node models/tools/leaf_text.cjs CORPUS/train.jsonl CORPUS/train-leaves.jsonl (and the same for heldout)')
WORD_CHARACTERS = set('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_')


def file_digest(*paths):
    digest = hashlib.sha1()
    for path in paths:
        with open(path, 'rb') as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:16]


def encode_corpus(path, tokenizer, cache_dir, tokenizer_dir):
    """Token ids per file, cached next to the run (pure-Python BPE over the corpus takes minutes)."""
    key = file_digest(path, os.path.join(tokenizer_dir, 'vocab.json'), os.path.join(tokenizer_dir, 'merges.txt'))
    cache = os.path.join(cache_dir, f'encoded-{os.path.basename(path)}-{key}.pt')
    if os.path.exists(cache):
        return torch.load(cache)
    streams = []
    with open(path) as handle:
        for line in handle:
            record = json.loads(line)
            streams.append((record['language'], tokenizer.encode(record['text'])))
    atomic_save(streams, cache)
    return streams


def document_chunks(streams, length):
    body = length - 2
    out = []
    for _language, ids in streams:
        for start in range(0, len(ids), body):
            piece = ids[start:start + body]
            if len(piece) >= 16:
                out.append([BOS] + piece + [EOS])
    return out


class Sampler:
    """Sequences of one length in a reproducible order; its position is (epoch, index)."""

    def __init__(self, streams, length, packed, seed):
        self.length, self.packed, self.seed = length, packed, seed
        if packed:
            flat = []
            for _language, ids in streams:
                flat.extend(ids)
                flat.append(EOS)
            self.stream = torch.tensor(flat, dtype=torch.int32)
        else:
            self.documents = document_chunks(streams, length)
        self.epoch, self.index = 0, 0
        self._plan()

    def _plan(self):
        generator = torch.Generator().manual_seed(self.seed * 1000 + self.length * 7 + self.epoch)
        if self.packed:
            body = self.length - 2
            self.offset = int(torch.randint(0, body, (1,), generator=generator))
            count = (len(self.stream) - self.offset) // body
        else:
            count = len(self.documents)
        self.order = torch.randperm(count, generator=generator)

    def position(self):
        return {'epoch': self.epoch, 'index': self.index}

    def restore(self, position):
        self.epoch = position['epoch']
        self._plan()
        self.index = position['index']

    def take(self, count):
        rows = []
        for _ in range(count):
            if self.index >= len(self.order):
                self.epoch, self.index = self.epoch + 1, 0
                self._plan()
            chunk = int(self.order[self.index])
            self.index += 1
            if self.packed:
                body = self.length - 2
                start = self.offset + chunk * body
                rows.append([BOS] + self.stream[start:start + body].tolist() + [EOS])
            else:
                rows.append(self.documents[chunk])
        return batchify(rows, self.length)


def batchify(sequences, length):
    batch = torch.full((len(sequences), length), PAD, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        batch[row, :len(sequence)] = torch.tensor(sequence)
    return batch


def word_boundary_tables(vocab):
    """Per subword id: does it start with a word character (and no space marker), does it end with one."""
    size = max(vocab.values()) + 1
    starts, ends = torch.zeros(size, dtype=torch.bool), torch.zeros(size, dtype=torch.bool)
    for token, index in vocab.items():
        if token.startswith('<') and token.endswith('>') and index <= MASK:
            continue
        # Byte-level BPE writes bytes that are not printable (space, newline, tab…) as characters
        # above U+00FF, so a word character is exactly one of WORD_CHARACTERS here.
        starts[index] = token[0] in WORD_CHARACTERS
        ends[index] = token[-1] in WORD_CHARACTERS
    return starts, ends


def bracket_table(vocab):
    """Per subword id: does its text contain a bracket character."""
    table = torch.zeros(max(vocab.values()) + 1, dtype=torch.bool)
    for token, index in vocab.items():
        table[index] = index > MASK and any(character in BRACKET_CHARACTERS for character in token)
    return table


def bracket_variants(vocab):
    """Subword id -> (opens, variant, type) for the subwords that are one bracket alone, bare or after a space,
    and per variant the ids of each type's opening and closing bracket."""
    lookup, ids = {}, []
    for variant, prefix in enumerate(('', '\u0120')):  # byte-level BPE writes a leading space as U+0120
        openers = [vocab[prefix + pair[0]] for pair in BRACKET_PAIRS]
        closers = [vocab[prefix + pair[1]] for pair in BRACKET_PAIRS]
        for kind in range(len(BRACKET_PAIRS)):
            lookup[openers[kind]] = (True, variant, kind)
            lookup[closers[kind]] = (False, variant, kind)
        ids.append((openers, closers))
    return lookup, ids


def retype_brackets(batch, variants, rate, generator):
    """In each row chosen at `rate`, give every matched bracket pair one random type, the same at both ends.

    Brackets are matched by nesting alone (one stack for all types); brackets merged into a longer subword
    and those whose partner lies outside the row keep their type. In a retyped row the type of a masked
    bracket is given by its partner only, wherever that is, so the loss pays for finding it."""
    lookup, ids = variants
    rows = torch.nonzero(torch.rand(batch.shape[0], generator=generator) < rate).flatten().tolist()
    for row in rows:
        tokens = batch[row].tolist()
        stack, pairs = [], []
        for position, token in enumerate(tokens):
            kind = lookup.get(token)
            if kind is None:
                continue
            if kind[0]:
                stack.append(position)
            elif stack:
                pairs.append((stack.pop(), position))
        if not pairs:
            continue
        kinds = torch.randint(0, len(BRACKET_PAIRS), (len(pairs),), generator=generator).tolist()
        for (opening, closing), kind in zip(pairs, kinds):
            batch[row, opening] = ids[lookup[tokens[opening]][1]][0][kind]
            batch[row, closing] = ids[lookup[tokens[closing]][1]][1][kind]
    return batch


def choose_positions(batch, generator, whole_words, tables, bracket_rate=None, brackets=None):
    """Boolean [batch, seq] of the positions to predict, and a per-position 'action' draw in [0, 1).

    With bracket_rate (whole words only), a word with a bracket subword is chosen at that rate."""
    maskable = batch > MASK
    if not whole_words:
        chosen = (torch.rand(batch.shape, generator=generator) < MASK_RATE) & maskable
        return chosen, torch.rand(batch.shape, generator=generator)
    starts, ends = tables
    continues = torch.zeros_like(maskable)
    continues[:, 1:] = ends[batch[:, :-1]] & starts[batch[:, 1:]] & maskable[:, :-1] & maskable[:, 1:]
    word_index = torch.cumsum((~continues).long().flatten(), 0).view(batch.shape) - 1
    words = int(word_index.max()) + 1
    rate = torch.full((words,), MASK_RATE)
    if bracket_rate is not None:
        has_bracket = torch.zeros(words, dtype=torch.bool)
        has_bracket[word_index.flatten()[brackets[batch].flatten()]] = True
        rate[has_bracket] = bracket_rate
    chosen_words = torch.rand(words, generator=generator) < rate
    word_action = torch.rand(words, generator=generator)
    return chosen_words[word_index] & maskable, word_action[word_index]


def mask_tokens(batch, vocab_size, generator, whole_words=False, tables=None, bracket_rate=None, brackets=None):
    chosen, action = choose_positions(batch, generator, whole_words, tables, bracket_rate, brackets)
    labels = batch.clone()
    labels[~chosen] = -100
    inputs = batch.clone()
    inputs[chosen & (action < 0.8)] = MASK
    randomised = chosen & (action >= 0.8) & (action < 0.9)
    inputs[randomised] = torch.randint(5, vocab_size, batch.shape, generator=generator)[randomised]
    return inputs, labels


def masked_logits(model, inputs, attention_mask, labels):
    """Logits on the positions to predict only: the 8,192-way projection is most of the head's cost."""
    hidden, _, _ = model.roberta(inputs, attention_mask)
    chosen = labels != -100
    return model.lm_head(hidden[chosen]), labels[chosen]


@torch.no_grad()
def evaluate(model, sequences, vocab_size, unigram_log_probs, most_frequent, device, whole_words=False, tables=None):
    """Held-out MLM with a fixed masking seed, so every recipe and checkpoint is scored on the same masks."""
    model.eval()
    generator = torch.Generator().manual_seed(1234)
    total_loss = total_correct = total_unigram = total_majority = count = 0.0
    for start in range(0, len(sequences), 16):
        group = sequences[start:start + 16]
        batch = batchify(group, max(len(s) for s in group))
        inputs, labels = mask_tokens(batch, vocab_size, generator, whole_words, tables)
        logits, target = masked_logits(model, inputs.to(device), batch.ne(PAD).long().to(device), labels.to(device))
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        total_loss += -log_probs.gather(1, target[:, None]).sum().item()
        total_correct += (log_probs.argmax(-1) == target).sum().item()
        target = target.cpu()
        total_unigram += -unigram_log_probs[target].sum().item()
        total_majority += (target == most_frequent).sum().item()
        count += target.numel()
    model.train()
    return {'masked_tokens': int(count), 'loss': total_loss / count, 'accuracy': total_correct / count,
            'unigram_loss': total_unigram / count, 'unigram_accuracy': total_majority / count}


def atomic_save(obj, path):
    temporary = f'{path}.tmp-{os.getpid()}'
    torch.save(obj, temporary)
    os.replace(temporary, path)


def save_checkpoint(state_dict, config, tokenizer_dir, folder, summary):
    """A Hugging Face checkpoint folder, written next to its final name and renamed into place."""
    temporary = f'{folder}.tmp-{os.getpid()}'
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    with open(os.path.join(temporary, 'config.json'), 'w') as handle:
        json.dump(dict(config), handle, indent=2)
    torch.save({key: value.cpu() for key, value in state_dict.items() if key != 'lm_head.decoder.weight'},
               os.path.join(temporary, 'pytorch_model.bin'))
    for name in ('tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json'):
        shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(temporary, name))
    with open(os.path.join(temporary, 'training.json'), 'w') as handle:
        json.dump(summary, handle, indent=2)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.replace(temporary, folder)


def load_weights(model, folder):
    state = torch.load(os.path.join(folder, 'pytorch_model.bin'), map_location='cpu')
    model.load_state_dict(state, strict=False)
    model.lm_head.decoder.weight = model.roberta.embeddings.word_embeddings.weight


def rng_state(generator, device):
    state = {'python': random.getstate(), 'torch': torch.get_rng_state(), 'masking': generator.get_state()}
    if device == 'cuda':
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state, generator, device):
    random.setstate(state['python'])
    torch.set_rng_state(state['torch'])
    generator.set_state(state['masking'])
    if device == 'cuda' and 'cuda' in state:
        torch.cuda.set_rng_state_all(state['cuda'])


def learning_rate(peak, warmup, fraction):
    return peak * max(0.0, min(fraction / warmup, (1 - fraction) / (1 - warmup)))


def warm_phase_learning_rate(phase, step, cpu_minutes, budget_minutes, head_lr):
    """A warm-started phase: the head alone at head_lr, then a ramp to the phase's peak and a linear decay to 0."""
    steps_in = step - phase['from_step']
    if steps_in < phase['head_steps']:
        return head_lr
    ramp = min(1.0, (steps_in - phase['head_steps'] + 1) / max(1, phase['ramp_steps']))
    left = (budget_minutes - cpu_minutes) / (budget_minutes - phase['from_cpu_minutes'])
    return phase['peak_lr'] * ramp * max(0.0, left)


def warm_start_training(folder):
    """The training record of an exported model folder (manifest.json) or a checkpoint folder (training.json)."""
    manifest = os.path.join(folder, 'manifest.json')
    if os.path.exists(manifest):
        with open(manifest) as handle:
            training = json.load(handle).get('training')
    else:
        with open(os.path.join(folder, 'training.json')) as handle:
            training = json.load(handle)
    if not training or 'steps' not in training:
        sys.exit(f'{folder}: no training record (manifest.json "training" or training.json); cannot continue its counters.')
    return training


def load_warm_start(model, folder):
    if os.path.exists(os.path.join(folder, 'pytorch_model.bin')):
        load_weights(model, folder)
        return
    from onnx_to_checkpoint import encoder_state
    state, _checked = encoder_state(folder)
    model.roberta.load_state_dict(state, strict=True)
    model.lm_head.decoder.weight = model.roberta.embeddings.word_embeddings.weight


def next_snapshot_mark(cpu_minutes):
    """Snapshot times in CPU minutes: every 2 up to 10, then 25 % apart."""
    return cpu_minutes + 2 if cpu_minutes < 10 else cpu_minutes * 1.25


def parameter_groups(model, weight_decay, matrices_only):
    if not matrices_only:
        return [{'params': list(model.parameters()), 'weight_decay': weight_decay}]
    decayed, plain = [], []
    for name, parameter in model.named_parameters():
        (decayed if parameter.dim() >= 2 and 'LayerNorm' not in name else plain).append(parameter)
    return [{'params': decayed, 'weight_decay': weight_decay}, {'params': plain, 'weight_decay': 0.0}]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('corpus')
    parser.add_argument('tokenizer')
    parser.add_argument('run')
    parser.add_argument('--cpu-minutes', type=float, default=600.0,
                        help='training budget in CPU minutes of this process, over all resumed stretches')
    parser.add_argument('--recipe', default='packed-wwm', choices=sorted(RECIPES))
    parser.add_argument('--switch-recipe', action='store_true',
                        help='resume a state saved under another recipe and go on under --recipe (a new phase)')
    parser.add_argument('--lr', type=float, help="peak learning rate (default: the recipe's)")
    parser.add_argument('--early-fraction', type=float, default=0.1)
    parser.add_argument('--layers', type=int, default=4)
    parser.add_argument('--hidden', type=int, default=256)
    parser.add_argument('--heads', type=int, default=4)
    # One thread: on the shared 2-core machine two threads cost 3.6 CPU seconds a step against 1.7 for
    # one (the second thread mostly waits for a core), and the budget is CPU time.
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--checkpoint-minutes', type=float, default=4.0, help='wall minutes between state saves')
    parser.add_argument('--heldout-sequences', type=int, default=400)
    parser.add_argument('--export-only', action='store_true',
                        help='no training: write final/ and early/ from the current state.pt and evaluate them')
    parser.add_argument('--init-from', metavar='MODEL_DIR',
                        help='start a new run from the weights of an exported model folder or a checkpoint folder')
    parser.add_argument('--init-early-from', metavar='MODEL_DIR', help='with --init-from: the early checkpoint to keep')
    parser.add_argument('--head-steps', type=int, default=200, help='with --init-from: steps that train the new MLM head alone')
    parser.add_argument('--ramp-steps', type=int, default=200,
                        help='with --init-from, or a new phase given --lr: learning-rate warm-up steps')
    parser.add_argument('--evaluate', metavar='CHECKPOINT_DIR',
                        help='no training: evaluate a checkpoint folder (e.g. a snapshot) on the held-out set into its eval.json')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.evaluate:
        evaluate_folder(args)
        return
    os.makedirs(args.run, exist_ok=True)
    state_path = os.path.join(args.run, 'state.pt')
    saved = torch.load(state_path, map_location='cpu') if os.path.exists(state_path) else None
    if saved:
        if saved['recipe'] != args.recipe and not args.switch_recipe:
            sys.exit(f"{args.run} holds a run of recipe {saved['recipe']}; pass --recipe {saved['recipe']}, "
                     f"or --switch-recipe to go on under {args.recipe}, or use another run folder.")
        print(f"resuming from {state_path}: step {saved['step']}, {saved['cpu_seconds'] / 60:.1f} CPU minutes", flush=True)
        # --export-only reports the budget the state was trained under, whatever --cpu-minutes says.
        budget_minutes = saved.get('budget_cpu_minutes', args.cpu_minutes) if args.export_only else args.cpu_minutes
    elif args.export_only:
        sys.exit(f'{state_path} does not exist: there is no run to export. Train first (models/train.sh).')
    if saved and args.init_from:
        # The same command again resumes the warm-started run; another --init-from would start a new one.
        source = os.path.normpath(args.init_from)
        if not any(str(phase.get('warm_start', '')).startswith(source + ' ') for phase in saved.get('phases') or []):
            sys.exit(f'{args.run} already holds a run (state.pt) that did not start from {source}; '
                     '--init-from starts a new run: use another run folder.')
        args.init_from = args.init_early_from = None
    recipe = dict(RECIPES[args.recipe])
    if args.lr:
        recipe['lr'] = args.lr
    if saved:
        recipe['lr'] = saved['recipe_settings']['lr']

    tokenizer = ByteLevelBPE.load(args.tokenizer)
    started = time.time()
    cache_dir = os.path.dirname(os.path.normpath(args.run)) or '.'
    train_streams = encode_corpus(os.path.join(args.corpus, 'train.jsonl'), tokenizer, cache_dir, args.tokenizer)
    heldout_streams = encode_corpus(os.path.join(args.corpus, 'heldout.jsonl'), tokenizer, cache_dir, args.tokenizer)
    print(f'corpus ready in {time.time() - started:.0f}s', flush=True)
    heldout = document_chunks(heldout_streams, 256)[:args.heldout_sequences]
    heldout_long = document_chunks(heldout_streams, 512)[:args.heldout_sequences // 4]
    leaf_paths = [os.path.join(args.corpus, name) for name in ('train-leaves.jsonl', 'heldout-leaves.jsonl')]
    if recipe.get('leaf_text') and not all(os.path.exists(path) for path in leaf_paths):
        sys.exit(f'recipe {args.recipe} {LEAF_TEXT_HELP}')
    leaf_streams = encode_corpus(leaf_paths[0], tokenizer, cache_dir, args.tokenizer) if recipe.get('leaf_text') else None
    heldout_leaves = (document_chunks(encode_corpus(leaf_paths[1], tokenizer, cache_dir, args.tokenizer), 256)[:args.heldout_sequences]
                      if os.path.exists(leaf_paths[1]) else None)
    vocab_size = len(tokenizer.vocab)
    tables = word_boundary_tables(tokenizer.vocab)
    brackets = bracket_table(tokenizer.vocab)
    variants = bracket_variants(tokenizer.vocab)
    # A phase is a stretch of one recipe and one budget (the learning-rate schedule is a function of the budget).
    if saved:
        phases = saved.get('phases') or [{'recipe': saved['recipe'], 'from_step': 0, 'from_cpu_minutes': 0.0}]
        phases[0].setdefault('budget_cpu_minutes', saved.get('budget_cpu_minutes', args.cpu_minutes))
        last = phases[-1]
        changed = last['recipe'] != args.recipe or last.get('budget_cpu_minutes', phases[0]['budget_cpu_minutes']) != args.cpu_minutes
        if changed and not args.export_only:
            phases.append({'recipe': args.recipe, 'budget_cpu_minutes': args.cpu_minutes, 'from_step': saved['step'],
                           'from_cpu_minutes': saved['cpu_seconds'] / 60})
            if args.lr:  # a schedule of the phase's own: ramp to --lr, linear decay to 0 at the budget's end
                phases[-1].update(peak_lr=args.lr, head_steps=0, ramp_steps=args.ramp_steps)
            print(f"new phase at step {saved['step']}: recipe {args.recipe}, budget {args.cpu_minutes:g} CPU minutes", flush=True)
    elif args.init_from:
        start = warm_start_training(args.init_from)
        phases = list(start.get('phases') or [])
        phases.append({'recipe': args.recipe, 'budget_cpu_minutes': args.cpu_minutes, 'from_step': start['steps'],
                       'from_cpu_minutes': start['cpu_minutes'], 'peak_lr': recipe['lr'],
                       'warm_start': f"{os.path.normpath(args.init_from)} (step {start['steps']}; optimiser moments and MLM head re-initialised)",
                       'head_steps': args.head_steps, 'ramp_steps': args.ramp_steps})
    else:
        phases = [{'recipe': args.recipe, 'budget_cpu_minutes': args.cpu_minutes, 'from_step': 0, 'from_cpu_minutes': 0.0}]
    counts = torch.zeros(vocab_size)
    for _language, ids in train_streams:
        counts += torch.bincount(torch.tensor(ids), minlength=vocab_size).float()
    unigram_log_probs = torch.log((counts + 1) / (counts + 1).sum())
    most_frequent = int(counts.argmax())

    torch.manual_seed(7)
    random.seed(7)
    config = Config({**DEFAULT_CONFIG, 'vocab_size': vocab_size, 'hidden_size': args.hidden,
                     'num_hidden_layers': args.layers, 'num_attention_heads': args.heads,
                     'intermediate_size': 4 * args.hidden})
    model = RobertaForMaskedLM(config)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = recipe['dropout']  # training only; the saved config keeps CodeBERT's 0.1 for fine-tuning
    model.to(args.device)
    model.train()
    optimizer = torch.optim.AdamW(parameter_groups(model, 0.01, recipe['decay_matrices_only']), lr=recipe['lr'],
                                  betas=(0.9, 0.98), eps=1e-6)
    generator = torch.Generator().manual_seed(11)
    lengths = {length for _batch, length in recipe['shapes']}
    samplers = {str(length): Sampler(train_streams, length, recipe['packed'], seed=5) for length in lengths}
    if leaf_streams:
        samplers.update({f'leaves-{length}': Sampler(leaf_streams, length, recipe['packed'], seed=6) for length in lengths})
    step = tokens_seen = 0
    cpu_seconds = wall_seconds_start = 0.0
    snapshots = []
    next_mark = 2.0
    if saved:
        model.load_state_dict(saved['model'])
        optimizer.load_state_dict(saved['optimizer'])
        for length, position in saved['data'].items():
            if length in samplers:
                samplers[length].restore(position)
        restore_rng(saved['rng'], generator, args.device)
        step, tokens_seen, cpu_seconds = saved['step'], saved['tokens_seen'], saved['cpu_seconds']
        snapshots, next_mark = saved['snapshots'], saved['next_snapshot_minutes']
    else:
        budget_minutes = args.cpu_minutes
        if args.init_from:
            load_warm_start(model, args.init_from)
            if os.path.exists(os.path.join(args.init_from, 'loss.csv')):  # the curve so far, for the card
                shutil.copy(os.path.join(args.init_from, 'loss.csv'), os.path.join(args.run, 'loss-before.csv'))
            start = warm_start_training(args.init_from)
            step, tokens_seen = start['steps'], start['tokens_seen']
            cpu_seconds, wall_seconds_start = start['cpu_minutes'] * 60, start['wall_minutes'] * 60
            if args.init_early_from:
                early_info = warm_start_training(args.init_early_from)
                folder = os.path.join(args.run, 'snapshots', f"step-{early_info['steps']:07d}")
                early_model = RobertaForMaskedLM(config)
                load_warm_start(early_model, args.init_early_from)
                save_checkpoint(early_model.state_dict(), config, args.tokenizer, folder,
                                {key: early_info[key] for key in ('steps', 'tokens_seen', 'cpu_minutes', 'wall_minutes')})
                snapshots.append({'folder': os.path.basename(folder), 'steps': early_info['steps'],
                                  'cpu_minutes': early_info['cpu_minutes']})
            next_mark = next_snapshot_mark(cpu_seconds / 60)
    budget = budget_minutes * 60
    corpus_summary = json.load(open(os.path.join(args.corpus, 'stats.json')))
    train_tokens = sum(len(ids) for _language, ids in train_streams)

    loss_path = os.path.join(args.run, 'loss.csv')
    header = 'step,cpu_s,wall_s,tokens_seen,loss,lr,seq_len\n'
    if not args.export_only:
        # Steps logged after the state was saved are trained again on resume: drop their rows.
        kept = []
        if saved and os.path.exists(loss_path):
            with open(loss_path) as handle:
                kept = [line for line in handle.readlines()[1:] if line.strip() and int(line.split(',')[0]) <= step]
        with open(loss_path, 'w') as handle:
            handle.write(header + ''.join(kept))

    def save_state():
        atomic_save({'recipe': args.recipe, 'recipe_settings': recipe, 'model': model.state_dict(),
                     'optimizer': optimizer.state_dict(), 'step': step, 'tokens_seen': tokens_seen,
                     'cpu_seconds': cpu_seconds, 'budget_cpu_minutes': budget_minutes,
                     'data': {key: sampler.position() for key, sampler in samplers.items()},
                     'rng': rng_state(generator, args.device), 'snapshots': snapshots,
                     'next_snapshot_minutes': next_mark, 'wall_seconds': wall_seconds, 'phases': phases}, state_path)

    wall_seconds = saved.get('wall_seconds', 0.0) if saved else (wall_seconds_start if args.init_from else 0.0)
    if not args.export_only:
        loss_log = open(loss_path, 'a')
        cpu_start, wall_start, last_save = time.process_time(), time.time(), time.time()
        cpu_before, wall_before = cpu_seconds, wall_seconds
        shapes = recipe['shapes']
        masked_only = recipe['masked_only']
        phase = phases[-1]
        while cpu_seconds < budget:
            head_only = bool(phase.get('warm_start')) and step - phase['from_step'] < phase['head_steps']
            if 'peak_lr' in phase:
                lr = warm_phase_learning_rate(phase, step, cpu_seconds / 60, budget_minutes, RECIPES[args.recipe]['lr'])
            else:
                lr = learning_rate(recipe['lr'], recipe['warmup'], cpu_seconds / budget)
            for group in optimizer.param_groups:
                group['lr'] = lr
            for parameter in model.roberta.parameters():
                parameter.requires_grad_(not head_only)
            batch_size, length = shapes[step % len(shapes)]
            # The mixed recipe takes every other step from the leaf text; the shape cycle has an even
            # length, so both texts meet every shape.
            source = f'leaves-{length}' if leaf_streams and step % 2 else str(length)
            batch = samplers[source].take(batch_size)
            bracket_rate = recipe.get('bracket_mask_rate')
            if recipe.get('retype_rate'):
                # Only the text as analyses feed it: there every bracket is a subword of its own.
                if source.startswith('leaves'):
                    batch = retype_brackets(batch, variants, recipe['retype_rate'], generator)
                else:
                    bracket_rate = None
            inputs, labels = mask_tokens(batch, vocab_size, generator, recipe['whole_words'], tables,
                                         bracket_rate, brackets)
            inputs, labels = inputs.to(args.device), labels.to(args.device)
            attention_mask = batch.ne(PAD).long().to(args.device)
            if masked_only:
                with torch.set_grad_enabled(not head_only):
                    hidden, _, _ = model.roberta(inputs, attention_mask)
                chosen = labels != -100
                logits, target = model.lm_head(hidden[chosen]), labels[chosen]
                loss = torch.nn.functional.cross_entropy(logits, target)
            else:
                logits = model(inputs, attention_mask)
                loss = torch.nn.functional.cross_entropy(logits.view(-1, vocab_size), labels.view(-1), ignore_index=-100)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            tokens_seen += int(attention_mask.sum())
            cpu_seconds = cpu_before + time.process_time() - cpu_start
            wall_seconds = wall_before + time.time() - wall_start
            loss_log.write(f'{step},{cpu_seconds:.1f},{wall_seconds:.1f},{tokens_seen},{loss.item():.4f},{lr:.6g},{length}\n')
            if step % 50 == 0:
                loss_log.flush()
                print(f'step {step} cpu {cpu_seconds / 60:.1f} min wall {wall_seconds / 60:.1f} min loss {loss.item():.3f} '
                      f'lr {lr:.2e} tokens {tokens_seen}', flush=True)
            if cpu_seconds / 60 >= next_mark or (cpu_seconds >= budget):
                folder = os.path.join(args.run, 'snapshots', f'step-{step:07d}')
                save_checkpoint(model.state_dict(), config, args.tokenizer, folder,
                                {'steps': step, 'tokens_seen': tokens_seen, 'cpu_minutes': cpu_seconds / 60,
                                 'wall_minutes': wall_seconds / 60})
                snapshots.append({'folder': os.path.basename(folder), 'steps': step, 'cpu_minutes': cpu_seconds / 60})
                next_mark = next_snapshot_mark(next_mark)
            if time.time() - last_save >= args.checkpoint_minutes * 60 or cpu_seconds >= budget:
                loss_log.flush()
                save_state()
                last_save = time.time()
        loss_log.close()
    def refit_head(net):
        # An early checkpoint imported from an export (--init-early-from) has no MLM head: fit one, encoder frozen.
        # As many steps as the warm start gave its new head (a later phase may have none of its own).
        steps = next((phase['head_steps'] for phase in phases if phase.get('warm_start')), args.head_steps)
        fit_head(net, train_streams, leaf_streams, recipe, steps, RECIPES[args.recipe]['lr'], vocab_size, tables,
                 args.device)

    export(args, config, model, snapshots, step, tokens_seen, cpu_seconds, wall_seconds, recipe, budget_minutes,
           corpus_summary, train_tokens, heldout, heldout_long, vocab_size, unigram_log_probs, most_frequent, tables,
           phases, heldout_leaves, refit_head)


def evaluate_folder(args):
    tokenizer = ByteLevelBPE.load(args.tokenizer)
    cache_dir = os.path.dirname(os.path.normpath(args.run)) or '.'
    train_streams = encode_corpus(os.path.join(args.corpus, 'train.jsonl'), tokenizer, cache_dir, args.tokenizer)
    heldout_streams = encode_corpus(os.path.join(args.corpus, 'heldout.jsonl'), tokenizer, cache_dir, args.tokenizer)
    vocab_size = len(tokenizer.vocab)
    counts = torch.zeros(vocab_size)
    for _language, ids in train_streams:
        counts += torch.bincount(torch.tensor(ids), minlength=vocab_size).float()
    unigram_log_probs = torch.log((counts + 1) / (counts + 1).sum())
    model = RobertaForMaskedLM(Config.load(args.evaluate))
    load_weights(model, args.evaluate)
    heldout = document_chunks(heldout_streams, 256)[:args.heldout_sequences]
    heldout_long = document_chunks(heldout_streams, 512)[:args.heldout_sequences // 4]
    common = (vocab_size, unigram_log_probs, int(counts.argmax()), args.device)
    result = {**evaluate(model, heldout, *common), 'length_512': evaluate(model, heldout_long, *common),
              'whole_words': evaluate(model, heldout, *common, True, word_boundary_tables(tokenizer.vocab))}
    with open(os.path.join(args.evaluate, 'eval.json'), 'w') as handle:
        json.dump(result, handle, indent=2)
    print(json.dumps(result, indent=2), flush=True)


def optimizer_text(recipe, phases, first_lr):
    own = [phase for phase in phases if phase.get('peak_lr')]  # phases with a schedule of their own
    if not own:
        return f"AdamW lr {recipe['lr']:g}, warm-up {recipe['warmup'] * 100:g} % of the budget, linear decay to 0"
    peaks = ', then '.join(f"{phase['peak_lr']:g}" for phase in own)
    return (f"AdamW; until step {own[0]['from_step']} peak lr {first_lr:g}, warm-up {recipe['warmup'] * 100:g} % of the "
            f"budget, linear decay; from then on peak lr {peaks} (see the phases)")


def fit_head(model, streams, leaf_streams, recipe, steps, lr, vocab_size, tables, device):
    """Trains the MLM head alone for `steps` steps of the recipe's shapes, with its own data order and masks."""
    encoder = set(model.roberta.parameters())
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p not in encoder], lr=lr, betas=(0.9, 0.98), eps=1e-6)
    generator = torch.Generator().manual_seed(17)
    lengths = {length for _batch, length in recipe['shapes']}
    samplers = {str(length): Sampler(streams, length, recipe['packed'], seed=9) for length in lengths}
    if leaf_streams:
        samplers.update({f'leaves-{length}': Sampler(leaf_streams, length, recipe['packed'], seed=10) for length in lengths})
    model.to(device)
    model.train()
    if steps < 1:
        sys.exit('fit_head: the MLM head needs at least one step (--head-steps).')
    for step in range(steps):
        batch_size, length = recipe['shapes'][step % len(recipe['shapes'])]
        batch = samplers[f'leaves-{length}' if leaf_streams and step % 2 else str(length)].take(batch_size)
        inputs, labels = mask_tokens(batch, vocab_size, generator, recipe['whole_words'], tables)
        with torch.no_grad():
            hidden, _, _ = model.roberta(inputs.to(device), batch.ne(PAD).long().to(device))
        chosen = labels.to(device) != -100
        loss = torch.nn.functional.cross_entropy(model.lm_head(hidden[chosen]), labels.to(device)[chosen])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    print(f'MLM head fitted in {steps} steps (encoder frozen): last loss {loss.item():.3f}', flush=True)


def export(args, config, model, snapshots, step, tokens_seen, cpu_seconds, wall_seconds, recipe, budget_minutes,
           corpus_summary, train_tokens, heldout, heldout_long, vocab_size, unigram_log_probs, most_frequent, tables,
           phases, heldout_leaves, refit_head):
    """final/ = the current model, early/ = the snapshot nearest a tenth of its CPU time; both evaluated."""
    shapes = recipe['shapes']
    base = {'recipe': args.recipe, 'corpus': corpus_summary, 'train_tokens': train_tokens,
            'heldout_sequences': len(heldout), 'trained_lengths': sorted({length for _b, length in shapes}),
            'shapes': [list(shape) for shape in shapes], 'mask_rate': MASK_RATE,
            'masking': 'whole words' if recipe['whole_words'] else 'independent subwords',
            'loss_positions': 'the masked positions only' if recipe['masked_only'] else 'every position (loss ignored where not masked)',
            'packed': recipe['packed'], 'dropout_in_training': recipe['dropout'],
            'optimizer': optimizer_text(recipe, phases, RECIPES[args.recipe]['lr']),
            'phases': phases, 'bracket_mask_rate': recipe.get('bracket_mask_rate'), 'retype_rate': recipe.get('retype_rate'),
            'leaf_text': bool(recipe.get('leaf_text')),
            'budget_cpu_minutes': budget_minutes, 'threads': args.threads, 'device': args.device,
            'torch': torch.__version__}
    evaluations = {}

    def evaluate_all(net):
        net.to(args.device)
        return {
            **evaluate(net, heldout, vocab_size, unigram_log_probs, most_frequent, args.device),
            'length_512': evaluate(net, heldout_long, vocab_size, unigram_log_probs, most_frequent, args.device),
            **({'leaf_text': evaluate(net, heldout_leaves, vocab_size, unigram_log_probs, most_frequent, args.device)}
               if heldout_leaves else {}),
            'whole_words': evaluate(net, heldout, vocab_size, unigram_log_probs, most_frequent, args.device, True, tables),
        }

    final = {'checkpoint': 'final', 'steps': step, 'tokens_seen': tokens_seen, 'cpu_minutes': cpu_seconds / 60,
             'wall_minutes': wall_seconds / 60, 'minutes': wall_seconds / 60, **base}
    final['heldout'] = evaluations['final'] = evaluate_all(model)
    save_checkpoint(model.state_dict(), config, args.tokenizer, os.path.join(args.run, 'final'), final)
    if snapshots:
        target = cpu_seconds / 60 * args.early_fraction
        chosen = min(snapshots, key=lambda entry: abs(entry['cpu_minutes'] - target))
        early_model = RobertaForMaskedLM(config)
        load_weights(early_model, os.path.join(args.run, 'snapshots', chosen['folder']))
        with open(os.path.join(args.run, 'snapshots', chosen['folder'], 'training.json')) as handle:
            early = {'checkpoint': 'early', **json.load(handle), **base}
        warm = [phase for phase in phases if phase.get('warm_start')]
        if warm and chosen['steps'] <= warm[0]['from_step']:
            refit_head(early_model)
            early['mlm_head'] = 'fitted after the export (encoder frozen): exports hold no MLM head'
        early['minutes'] = early['wall_minutes']
        # The early checkpoint's own recipe: the phase it was trained in, not the run's latest.
        before = [phase for phase in phases if phase['from_step'] < chosen['steps']] or phases[:1]
        early_recipe = RECIPES[before[-1]['recipe']]
        early.update(recipe=before[-1]['recipe'], leaf_text=bool(early_recipe.get('leaf_text')),
                     bracket_mask_rate=early_recipe.get('bracket_mask_rate'), retype_rate=early_recipe.get('retype_rate'),
                     optimizer=optimizer_text({**early_recipe, 'lr': before[-1].get('peak_lr', early_recipe['lr'])}, before,
                                              early_recipe['lr']))
        early['heldout'] = evaluations['early'] = evaluate_all(early_model)
        save_checkpoint(early_model.state_dict(), config, args.tokenizer, os.path.join(args.run, 'early'), early)
    with open(os.path.join(args.run, 'eval.json'), 'w') as handle:
        json.dump(evaluations, handle, indent=2)
    print(json.dumps(evaluations, indent=2), flush=True)


if __name__ == '__main__':
    main()
