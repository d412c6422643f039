import type { HeadRole, HeadStatistics, RoleHead } from '../types';
export type { HeadRole, RoleHead } from '../types';

/**
 * Sink and positional heads read off the head statistics (Clark et al. 2019): a head has a role
 * when, averaged over the code-token subword rows of the file, at least `threshold` of its
 * attention goes to `<s>`, to `</s>`, to punctuation tokens, to the previous subword or to the
 * next subword. A head can hold several roles below a threshold of 0.5, at most one above it.
 */
export function headRoles(stats: HeadStatistics, threshold = 0.5): RoleHead[] {
  const sources: Array<[HeadRole, number[][]]> = [
    ['bosSink', stats.bos],
    ['eosSink', stats.eos],
    ['punctuationSink', stats.punctuation],
    ['previousToken', stats.previous],
    ['nextToken', stats.next],
  ];
  const roles: RoleHead[] = [];
  for (const [role, matrix] of sources) {
    matrix.forEach((row, layer) =>
      row.forEach((share, head) => {
        if (share >= threshold) roles.push({ layer, head, role, share });
      }),
    );
  }
  return roles.sort((a, b) => b.share - a.share);
}
