"""Independent re-implementation of CAT-probing's default score (frequent_type=1, upgraded_ast=1, q=0.75),
written from a reading of its attention.py, fed our leaves, tree, subword map and attention (dump.js).
Prints per-layer scores and the frequent types. Usage: python3 check.py DUMP.json"""
import json
import sys
from collections import deque

import numpy as np

Q = 0.75
dump = json.load(open(sys.argv[1]))
comment_types = set(dump['commentTypes'])
snippets = dump['snippets']
layers = len(snippets[0]['attention'])


def token_attention(snippet, layer):
    """Head-mean subword attention → mean over subword pairs, over tokens that have subwords."""
    n = snippet['n']
    a = np.array(snippet['attention'][layer], dtype=np.float64).reshape(n, n)
    owners = snippet['tokenOfSubword']
    tokens = sorted({t for t in owners if t >= 0})
    groups = [[s for s in range(n) if owners[s] == t] for t in tokens]
    m = np.zeros((len(tokens), len(tokens)))
    for i, gi in enumerate(groups):
        for j, gj in enumerate(groups):
            m[i, j] = np.mean([a[x, y] for x in gi for y in gj])
    return tokens, m


def sast_distances(snippet, token_ids):
    nodes = snippet['nodes']
    adjacency = [[] for _ in nodes]
    for i, (parent, *_rest) in enumerate(nodes):
        if parent >= 0:
            adjacency[i].append(parent)
            adjacency[parent].append(i)
    leaves = [i for i, node in enumerate(nodes) if node[4] == 0 and node[0] >= 0 and node[1] not in comment_types]
    last = {}
    for k, leaf in enumerate(leaves):
        if k > 0:
            adjacency[leaves[k - 1]].append(leaf)
            adjacency[leaf].append(leaves[k - 1])
        if nodes[leaf][1] == 'identifier':
            text = snippet['source'][nodes[leaf][2]:nodes[leaf][3]]
            if text in last:
                adjacency[last[text]].append(leaf)
                adjacency[leaf].append(last[text])
            last[text] = leaf
    token_nodes = [snippet['tokens'][t][0] for t in token_ids]
    d = np.zeros((len(token_nodes), len(token_nodes)))
    for i, start in enumerate(token_nodes):
        level = {start: 0}
        queue = deque([start])
        while queue:
            x = queue.popleft()
            for y in adjacency[x]:
                if y not in level:
                    level[y] = level[x] + 1
                    queue.append(y)
        for j, target in enumerate(token_nodes):
            d[i, j] = level.get(target, 0)
    return d


def top_n(n, scores):
    items = list(scores.items())
    chosen = []
    while items:
        best = max(items, key=lambda kv: kv[1])
        chosen.append(best)
        items.remove(best)
    return [k for k, _ in chosen[:n]]


for layer in range(layers):
    prepared = []
    ge, num, rows = {}, {}, 0
    for snippet in snippets:
        tokens, att = token_attention(snippet, layer)
        types = [snippet['tokens'][t][1] for t in tokens]
        prepared.append((snippet, tokens, att, types))
        if not att.any():
            continue
        mask = att > np.quantile(att, Q)
        rows += mask.shape[0]
        for i in range(mask.shape[0]):
            for j in range(mask.shape[1]):
                if mask[i, j]:
                    ge[types[i]] = ge.get(types[i], 0) + 1
                    ge[types[j]] = ge.get(types[j], 0) + 1
                num[types[i]] = num.get(types[i], 0) + 1
                num[types[j]] = num.get(types[j], 0) + 1
    rates = {k: float(v) / num[k] for k, v in ge.items() if num[k] > rows}
    frequent = top_n(8, rates)
    scores = []
    for snippet, tokens, att, types in prepared:
        keep = [i for i, t in enumerate(types) if t in frequent]
        a = att[np.ix_(keep, keep)]
        if not a.any():
            continue
        d = sast_distances(snippet, [tokens[i] for i in keep])
        mask_att = a > np.quantile(a, Q)
        mask_dist = d < np.quantile(d, 1 - Q)
        union = (mask_att | mask_dist).sum()
        if union == 0:
            continue
        scores.append(float((mask_att & mask_dist).sum()) / union)
    print(json.dumps({'layer': layer, 'types': frequent, 'cat': float(np.mean(scores)), 'snippets': len(scores)}))
