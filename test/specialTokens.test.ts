import { strict as assert } from 'node:assert';
import { isPunctuation, type HeadStatistics } from '../src/core/metrics/headStatistics';
import { headRoles } from '../src/core/metrics/specialTokens';
import { sharedParser } from './helpers';

describe('sink and positional heads', () => {
  // Two layers × two heads with hand-set shares; entropies are irrelevant to roles.
  const stats: HeadStatistics = {
    bos: [
      [0.9, 0.1],
      [0.2, 0.0],
    ],
    eos: [
      [0.0, 0.1],
      [0.6, 0.0],
    ],
    punctuation: [
      [0.05, 0.2],
      [0.1, 0.3],
    ],
    entropy: [
      [0.5, 2],
      [1, 1.5],
    ],
    previous: [
      [0.0, 0.55],
      [0.0, 0.2],
    ],
    next: [
      [0.0, 0.0],
      [0.05, 0.45],
    ],
    perLayer: { bos: [], eos: [], punctuation: [], entropy: [], previous: [], next: [] },
    rows: 10,
  };

  it('lists each head whose mean share for a role reaches the threshold, largest first', () => {
    assert.deepEqual(headRoles(stats), [
      { layer: 0, head: 0, role: 'bosSink', share: 0.9 },
      { layer: 1, head: 0, role: 'eosSink', share: 0.6 },
      { layer: 0, head: 1, role: 'previousToken', share: 0.55 },
    ]);
  });

  it('a lower threshold lets one head hold several roles', () => {
    const roles = headRoles(stats, 0.3).filter((role) => role.layer === 1 && role.head === 1);
    assert.deepEqual(
      roles.map((role) => role.role),
      ['nextToken', 'punctuationSink'],
    );
  });
});

describe('punctuation', () => {
  it('is decided by node type: delimiters count; operators, strings and comments do not', async () => {
    const parser = await sharedParser();
    const parsed = await parser.parse('x = f(a, b) + s[0]; y = "(,)" or {k: 1}.get(k) # (,)\n', 'python', {
      keepComments: true,
    });
    const punctuation = parsed.tokens.filter(isPunctuation).map((token) => token.text);
    assert.deepEqual(punctuation, ['(', ',', ')', '[', ']', ';', '{', ':', '}', '.', '(', ')']);
  });
});
