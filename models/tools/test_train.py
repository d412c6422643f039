#!/usr/bin/python3
"""Checks of train.py's bracket retyping and phase schedules, on the bundled tokenizer.

Run: /usr/bin/python3 -m unittest discover -s models/tools -p 'test_*.py'
"""
import json
import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402
from bpe import ByteLevelBPE  # noqa: E402

MODEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'code-attention-mini')
OPENING, CLOSING = ['(', '[', '{'], [')', ']', '}']


class RetypeBrackets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tokenizer = ByteLevelBPE.load(MODEL_DIR)
        with open(os.path.join(MODEL_DIR, 'vocab.json')) as handle:
            cls.vocab = json.load(handle)
        cls.text_of = {index: token for token, index in cls.vocab.items()}
        cls.variants = train.bracket_variants(cls.vocab)

    def texts(self, batch):
        return [[self.text_of[index].replace('\u0120', ' ') for index in row] for row in batch.tolist()]

    def test_each_matched_pair_gets_one_type_at_both_ends(self):
        # Leaf text, as the product feeds an encoder: every bracket is a subword of its own.
        ids = self.tokenizer.encode('f ( a [ 1 ] , { k : ( x ) } ) ; g ( [ ] )')
        batch = torch.tensor([ids] * 64)
        retyped = train.retype_brackets(batch.clone(), self.variants, 1.0, torch.Generator().manual_seed(3))
        kinds_seen = set()
        for original, row in zip(self.texts(batch), self.texts(retyped)):
            stack = []
            for before, after in zip(original, row):
                if before.strip() in OPENING:
                    self.assertIn(after.strip(), OPENING)
                    self.assertEqual(before.startswith(' '), after.startswith(' '))
                    stack.append(after.strip())
                elif before.strip() in CLOSING:
                    self.assertIn(after.strip(), CLOSING)
                    self.assertEqual(OPENING.index(stack.pop()), CLOSING.index(after.strip()))
                else:
                    self.assertEqual(before, after)
            self.assertEqual(stack, [])
            kinds_seen.add(tuple(token.strip() for token in row if token.strip() in OPENING))
        self.assertGreater(len(kinds_seen), 20)  # the types are drawn, not kept

    def test_unmatched_and_merged_brackets_keep_their_type(self):
        ids = self.tokenizer.encode(') x ( y ) ("a") ; [ z')
        batch = torch.tensor([ids] * 16)
        retyped = train.retype_brackets(batch.clone(), self.variants, 1.0, torch.Generator().manual_seed(5))
        lookup = self.variants[0]
        for original, row in zip(batch.tolist(), retyped.tolist()):
            singles = [position for position, token in enumerate(original) if token in lookup]
            # The first ')' and the last '[' have no partner in the row; '("' is one subword, not a bracket.
            self.assertEqual(row[singles[0]], original[singles[0]])
            self.assertEqual(row[singles[-1]], original[singles[-1]])
            kept = [position for position in range(len(original)) if position not in singles[1:3]]
            self.assertEqual([row[p] for p in kept], [original[p] for p in kept])

    def test_rate_chooses_rows(self):
        ids = self.tokenizer.encode('( ( ( ) ) )')
        batch = torch.tensor([ids] * 400)
        unchanged = train.retype_brackets(batch.clone(), self.variants, 0.0, torch.Generator().manual_seed(1))
        self.assertTrue(torch.equal(unchanged, batch))
        half = train.retype_brackets(batch.clone(), self.variants, 0.5, torch.Generator().manual_seed(1))
        changed = int((half != batch).any(dim=1).sum())
        # A chosen row keeps all three pairs as '(' with probability 1/27.
        self.assertTrue(150 < changed < 220, changed)


class PhaseSchedule(unittest.TestCase):
    def test_resumed_phase_ramps_then_decays_to_zero_at_its_budget(self):
        phase = {'from_step': 1000, 'from_cpu_minutes': 300.0, 'peak_lr': 3e-4, 'head_steps': 0, 'ramp_steps': 100}
        rate = train.warm_phase_learning_rate
        self.assertAlmostEqual(rate(phase, 1000, 300.0, 375.0, 1e-3), 3e-6)
        self.assertAlmostEqual(rate(phase, 1099, 300.0, 375.0, 1e-3), 3e-4)
        self.assertAlmostEqual(rate(phase, 1500, 337.5, 375.0, 1e-3), 1.5e-4)
        self.assertEqual(rate(phase, 2000, 375.0, 375.0, 1e-3), 0.0)


if __name__ == '__main__':
    unittest.main()
