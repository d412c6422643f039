import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareEdges, dataFlowEdgesByToken, extractDataFlow, supportsDataFlow } from '../src/core/dataflow/dataFlow';
import type { LanguageId } from '../src/core/types';
import { EXAMPLES, sharedParser } from './helpers';

/**
 * Edges as readable strings: "x@2 <- a@2 computedFrom" (token text @ 1-based line; the second and
 * later occurrences of the same text on one line get "#2", "#3" …), in the graph's order.
 */
async function edges(language: LanguageId, source: string): Promise<string[]> {
  return (await labelledGraph(language, source)).edges;
}

/** The graph's nodes and edges, labelled as in `edges`. */
async function labelledGraph(language: LanguageId, source: string): Promise<{ nodes: string[]; edges: string[] }> {
  const parsed = await (await sharedParser()).parse(source, language);
  const graph = extractDataFlow(parsed)!;
  const label = (token: number) => {
    const { text, range } = parsed.tokens[token];
    const line = range.start.line;
    const occurrence = parsed.tokens
      .slice(0, token + 1)
      .filter((other) => other.text === text && other.range.start.line === line).length;
    return `${text}@${line + 1}${occurrence > 1 ? `#${occurrence}` : ''}`;
  };
  return {
    nodes: graph.nodes.map(label),
    edges: graph.edges.map((edge) => `${label(edge.from)} <- ${label(edge.to)} ${edge.kind}`),
  };
}

const lines = (...source: string[]) => source.join('\n') + '\n';

describe('data-flow graph (GraphCodeBERT rules)', () => {
  it('python: straight line and augmented assignment', async () => {
    assert.deepEqual(await edges('python', 'a = 1\nb = a + 2\na += b\nprint(a)\n'), [
      'b@2 <- a@2 computedFrom',
      'a@2 <- a@1 comesFrom',
      'a@3 <- a@1 comesFrom', // an augmented assignment reads its target
      'a@3 <- b@3 computedFrom',
      'b@3 <- b@2 comesFrom',
      'a@4 <- a@3 comesFrom',
    ]);
  });

  it('python: branches start from the state before the if and merge afterwards', async () => {
    assert.deepEqual(await edges('python', 'x = 0\nif x > 1:\n    y = x\nelse:\n    y = 2\nz = y\n'), [
      'x@2 <- x@1 comesFrom',
      'y@3 <- x@3 computedFrom',
      'x@3 <- x@1 comesFrom',
      'z@6 <- y@6 computedFrom',
      'y@6 <- y@3 comesFrom', // both branches' definitions reach the use after the if
      'y@6 <- y@5 comesFrom',
    ]);
  });

  it('python: a branch without else keeps the old definition alive', async () => {
    assert.deepEqual(await edges('python', 'y = 1\nif c:\n    y = 2\nprint(y)\n'), [
      'y@4 <- y@1 comesFrom',
      'y@4 <- y@3 comesFrom',
    ]);
  });

  it('python: loops carry values around (two passes), nested function and default parameter', async () => {
    const source = [
      'def f(a, b=1):',
      '    x = a + b',
      '    x += 1',
      '    for i in range(x):',
      '        if i > a:',
      '            y = i',
      '        else:',
      '            y = 0',
      '    while x:',
      '        x -= 1',
      '    return x, y',
      '',
    ].join('\n');
    assert.deepEqual(await edges('python', source), [
      'x@2 <- a@2 computedFrom',
      'x@2 <- b@2 computedFrom',
      'a@2 <- a@1 comesFrom',
      'b@2 <- b@1 comesFrom',
      'x@3 <- x@2 comesFrom',
      'i@4 <- range@4 computedFrom',
      'i@4 <- x@4 computedFrom',
      'x@4 <- x@3 comesFrom',
      'i@5 <- i@4 comesFrom',
      'a@5 <- a@1 comesFrom',
      'y@6 <- i@6 computedFrom',
      'i@6 <- i@4 comesFrom',
      'x@9 <- x@3 comesFrom',
      'x@9 <- x@10 comesFrom', // carried around the loop
      'x@10 <- x@3 comesFrom',
      'x@11 <- x@10 comesFrom',
      'y@11 <- y@6 comesFrom',
      'y@11 <- y@8 comesFrom',
    ]);
  });

  it('python: parallel assignment pairs the sides; try handlers start before or after the body', async () => {
    const source = lines(
      'a, b = b, a', //
      'try:',
      '    a = 1',
      'except E:',
      '    b = a',
      'finally:',
      '    c = b',
    );
    assert.deepEqual(await edges('python', source), [
      'a@1 <- b@1#2 computedFrom',
      'b@1 <- a@1#2 computedFrom',
      // the right side is walked first: its unknown names become the definitions
      'b@5 <- a@5 computedFrom',
      'a@5 <- a@1 comesFrom', // the exception may come before the body's assignment …
      'a@5 <- a@3 comesFrom', // … or after it
      'c@7 <- b@7 computedFrom',
      'b@7 <- b@1 comesFrom',
      'b@7 <- b@5 comesFrom',
    ]);
  });

  it(
    'python: functions are scopes with fresh parameters; comprehension clauses run before the ' + 'element; walrus',
    async () => {
      const source = lines(
        'def first(x):',
        '    total = x',
        '    return total',
        '',
        'def second(x, n=total):',
        '    squares = [v * v for v in range(x) if v]',
        '    if (m := len(squares)) > n:',
        '        return m',
        '    return total',
      );
      assert.deepEqual(await edges('python', source), [
        'total@2 <- x@2 computedFrom',
        'x@2 <- x@1 comesFrom',
        'total@3 <- total@2 comesFrom',
        'n@5 <- total@5 computedFrom', // first's local total does not leak out; this one is a global
        'squares@6 <- v@6 computedFrom',
        'squares@6 <- v@6#2 computedFrom',
        'squares@6 <- v@6#3 computedFrom',
        'squares@6 <- range@6 computedFrom',
        'squares@6 <- x@6 computedFrom',
        'squares@6 <- v@6#4 computedFrom',
        'v@6 <- v@6#3 comesFrom', // the element reads the loop variable defined after it in the text
        'v@6#2 <- v@6#3 comesFrom',
        'v@6#3 <- range@6 computedFrom',
        'v@6#3 <- x@6 computedFrom',
        'x@6 <- x@5 comesFrom', // second's parameter, not first's
        'v@6#4 <- v@6#3 comesFrom',
        'm@7 <- len@7 computedFrom',
        'm@7 <- squares@7 computedFrom',
        'squares@7 <- squares@6 comesFrom',
        'n@7 <- n@5 comesFrom',
        'm@8 <- m@7 comesFrom',
        'total@9 <- total@5 comesFrom',
      ]);
    },
  );

  it('java: do-while runs its body before the condition; lambdas and methods are scopes', async () => {
    const source = lines(
      'class A {',
      '  int f(int x) {',
      '    int s = 0;',
      '    do {',
      '      s = s + x;',
      '    } while (s < 10);',
      '    Fn g = (a) -> a * s;',
      '    return g.apply(s);',
      '  }',
      '  int h(int x) {',
      '    return x;',
      '  }',
      '}',
    );
    assert.deepEqual(await edges('java', source), [
      's@5 <- s@5#2 computedFrom',
      's@5 <- x@5 computedFrom',
      's@5#2 <- s@3 comesFrom',
      's@5#2 <- s@5 comesFrom', // carried around the loop
      'x@5 <- x@2 comesFrom',
      's@6 <- s@5 comesFrom', // the condition sees the body's value only
      'g@7 <- a@7 computedFrom',
      'g@7 <- a@7#2 computedFrom',
      'g@7 <- s@7 computedFrom',
      'a@7#2 <- a@7 comesFrom',
      's@7 <- s@5 comesFrom',
      'g@8 <- g@7 comesFrom',
      's@8 <- s@5 comesFrom',
      'x@11 <- x@10 comesFrom', // h's parameter, not f's
    ]);
  });

  it(
    'java: declarations, augmented assignment, for (init once; condition, body, update twice), ' +
      'for-each, while, else-if',
    async () => {
      const source = lines(
        'class A {',
        '  int f(int a, int[] xs) {',
        '    int x = a + 1, y;',
        '    x += a;',
        '    for (int i = 0; i < x; i++) {',
        '      y = i;',
        '    }',
        '    for (int v : xs) {',
        '      y = v;',
        '    }',
        '    while (x > 0) {',
        '      x--;',
        '    }',
        '    if (a > 1) {',
        '      y = 1;',
        '    } else if (a < 0) {',
        '      y = 2;',
        '    }',
        '    return y;',
        '  }',
        '}',
      );
      assert.deepEqual(await edges('java', source), [
        'x@3 <- a@3 computedFrom',
        'a@3 <- a@2 comesFrom',
        'x@4 <- x@3 comesFrom',
        'x@4 <- a@4 computedFrom',
        'a@4 <- a@2 comesFrom',
        'i@5#2 <- i@5 comesFrom', // condition after the initializer …
        'i@5#2 <- i@5#3 comesFrom', // … and after the update, on the second pass
        'x@5 <- x@4 comesFrom',
        'i@5#3 <- i@5 comesFrom',
        'y@6 <- i@6 computedFrom',
        'i@6 <- i@5 comesFrom',
        'i@6 <- i@5#3 comesFrom',
        'v@8 <- xs@8 computedFrom',
        'xs@8 <- xs@2 comesFrom',
        'y@9 <- v@9 computedFrom',
        'v@9 <- v@8 comesFrom',
        'x@11 <- x@4 comesFrom',
        'x@11 <- x@12 comesFrom', // carried around the loop
        'x@12 <- x@4 comesFrom',
        'a@14 <- a@2 comesFrom',
        'a@16 <- a@2 comesFrom',
        'y@19 <- y@9 comesFrom', // the else-if has no else: the old value may survive
        'y@19 <- y@15 comesFrom',
        'y@19 <- y@17 comesFrom',
      ]);
    },
  );

  it('javascript: default parameter, destructuring swap, for-of, if/else, arrow function', async () => {
    const source = lines(
      'function f(a, b = 1) {',
      '  let x = a, y;',
      '  x += b;',
      '  [x, y] = [y, x];',
      '  for (const v of a) {',
      '    y = v;',
      '  }',
      '  if (x) {',
      '    y = 0;',
      '  } else {',
      '    y = b;',
      '  }',
      '  const g = (z) => z + x;',
      '  return y;',
      '}',
    );
    assert.deepEqual(await edges('javascript', source), [
      'x@2 <- a@2 computedFrom',
      'a@2 <- a@1 comesFrom',
      'x@3 <- x@2 comesFrom',
      'x@3 <- b@3 computedFrom',
      'b@3 <- b@1 comesFrom',
      'x@4 <- y@4#2 computedFrom',
      'y@4 <- x@4#2 computedFrom',
      'y@4#2 <- y@2 comesFrom',
      'x@4#2 <- x@3 comesFrom',
      'v@5 <- a@5 computedFrom',
      'a@5 <- a@1 comesFrom',
      'y@6 <- v@6 computedFrom',
      'v@6 <- v@5 comesFrom',
      'x@8 <- x@4 comesFrom',
      'y@11 <- b@11 computedFrom',
      'b@11 <- b@1 comesFrom',
      'g@13 <- z@13 computedFrom',
      'g@13 <- z@13#2 computedFrom',
      'g@13 <- x@13 computedFrom',
      'z@13#2 <- z@13 comesFrom',
      'x@13 <- x@4 comesFrom',
      'y@14 <- y@9 comesFrom', // both branches, no old value: there is an else
      'y@14 <- y@11 comesFrom',
    ]);
  });

  it('typescript: type annotations are not variables; member names are not variables', async () => {
    const source = lines(
      'function scale(values: number[], factor: number = 2): number[] {',
      '  const out: number[] = [];',
      '  for (let i = 0; i < values.length; i++) {',
      '    out.push(values[i] * factor);',
      '  }',
      '  return out;',
      '}',
    );
    assert.deepEqual(await edges('typescript', source), [
      'i@3#2 <- i@3 comesFrom',
      'i@3#2 <- i@3#3 comesFrom',
      'values@3 <- values@1 comesFrom',
      'i@3#3 <- i@3 comesFrom',
      'out@4 <- out@2 comesFrom',
      'values@4 <- values@1 comesFrom',
      'i@4 <- i@3 comesFrom',
      'i@4 <- i@3#3 comesFrom',
      'factor@4 <- factor@1 comesFrom',
      'out@6 <- out@2 comesFrom',
    ]);
  });

  it(
    'go: var specs pair names and values, for clause, range, condition-only for, if with ' + 'initializer, closure',
    async () => {
      const source = lines(
        'package m',
        '',
        'func f(a int, xs []int) int {',
        '\tvar x, y int = a, 1',
        '\tx += a',
        '\tfor i := 0; i < x; i++ {',
        '\t\ty = i',
        '\t}',
        '\tfor _, v := range xs {',
        '\t\ty = v',
        '\t}',
        '\tfor x > 0 {',
        '\t\tx--',
        '\t}',
        '\tif q := a; q > 1 {',
        '\t\ty = q',
        '\t} else {',
        '\t\ty = x',
        '\t}',
        '\tg := func(n int) int { return n + y }',
        '\treturn g(x)',
        '}',
      );
      assert.deepEqual(await edges('go', source), [
        'x@4 <- a@4 computedFrom', // y is paired with the literal 1
        'a@4 <- a@3 comesFrom',
        'x@5 <- x@4 comesFrom',
        'x@5 <- a@5 computedFrom',
        'a@5 <- a@3 comesFrom',
        'i@6#2 <- i@6 comesFrom',
        'i@6#2 <- i@6#3 comesFrom',
        'x@6 <- x@5 comesFrom',
        'i@6#3 <- i@6 comesFrom',
        'y@7 <- i@7 computedFrom',
        'i@7 <- i@6 comesFrom',
        'i@7 <- i@6#3 comesFrom',
        'v@9 <- xs@9 computedFrom', // the blank identifier is no variable
        'xs@9 <- xs@3 comesFrom',
        'y@10 <- v@10 computedFrom',
        'v@10 <- v@9 comesFrom',
        'x@12 <- x@5 comesFrom',
        'x@12 <- x@13 comesFrom',
        'x@13 <- x@5 comesFrom',
        'q@15 <- a@15 computedFrom',
        'a@15 <- a@3 comesFrom',
        'q@15#2 <- q@15 comesFrom',
        'y@16 <- q@16 computedFrom',
        'q@16 <- q@15 comesFrom',
        'y@18 <- x@18 computedFrom',
        'x@18 <- x@13 comesFrom',
        'g@20 <- n@20 computedFrom',
        'g@20 <- n@20#2 computedFrom',
        'g@20 <- y@20 computedFrom',
        'n@20#2 <- n@20 comesFrom',
        'y@20 <- y@16 comesFrom',
        'y@20 <- y@18 comesFrom',
        'g@21 <- g@20 comesFrom',
        'x@21 <- x@13 comesFrom',
      ]);
    },
  );

  it(
    'ruby: optional parameter, parallel assignment, for, while, elsif without else, modifier if, ' + 'block, rescue',
    async () => {
      const source = lines(
        'def f(a, b = 1)',
        '  x = a + b',
        '  x += 1',
        '  a, b = b, a',
        '  for i in 0..x do',
        '    y = i',
        '  end',
        '  while x > 0',
        '    x -= 1',
        '  end',
        '  if a > 1',
        '    y = 1',
        '  elsif a < 0',
        '    y = 2',
        '  end',
        '  w = y if b',
        '  xs.each { |v| y = v }',
        '  begin',
        '    z = a',
        '  rescue',
        '    z = b',
        '  end',
        '  [w, y, z]',
        'end',
      );
      assert.deepEqual(await edges('ruby', source), [
        'x@2 <- a@2 computedFrom',
        'x@2 <- b@2 computedFrom',
        'a@2 <- a@1 comesFrom',
        'b@2 <- b@1 comesFrom',
        'x@3 <- x@2 comesFrom',
        'a@4 <- b@4#2 computedFrom',
        'b@4 <- a@4#2 computedFrom',
        'b@4#2 <- b@1 comesFrom',
        'a@4#2 <- a@1 comesFrom',
        'i@5 <- x@5 computedFrom',
        'x@5 <- x@3 comesFrom',
        'y@6 <- i@6 computedFrom',
        'i@6 <- i@5 comesFrom',
        'x@8 <- x@3 comesFrom',
        'x@8 <- x@9 comesFrom',
        'x@9 <- x@3 comesFrom',
        'a@11 <- a@4 comesFrom',
        'a@13 <- a@4 comesFrom',
        'w@16 <- y@16 computedFrom',
        'y@16 <- y@6 comesFrom', // the elsif has no else
        'y@16 <- y@12 comesFrom',
        'y@16 <- y@14 comesFrom',
        'b@16 <- b@4 comesFrom',
        'y@17 <- v@17#2 computedFrom',
        'v@17#2 <- v@17 comesFrom',
        'z@19 <- a@19 computedFrom',
        'a@19 <- a@4 comesFrom',
        'z@21 <- b@21 computedFrom',
        'b@21 <- b@4 comesFrom',
        'w@23 <- w@16 comesFrom',
        'y@23 <- y@17 comesFrom',
        'z@23 <- z@19 comesFrom',
        'z@23 <- z@21 comesFrom',
      ]);
    },
  );

  it('php: $variables only, default parameter, for, foreach with key, while, elseif, closure with use', async () => {
    const source = lines(
      '<?php',
      'function f($a, $b = 1) {',
      '  $x = $a + $b;',
      '  $x += 1;',
      '  for ($i = 0; $i < $x; $i++) {',
      '    $y = $i;',
      '  }',
      '  foreach ($a as $k => $v) {',
      '    $y = $v;',
      '  }',
      '  while ($x > 0) {',
      '    $x--;',
      '  }',
      '  if ($a > 1) {',
      '    $y = 1;',
      '  } elseif ($a < 0) {',
      '    $y = 2;',
      '  }',
      '  $g = function ($n) use ($x) { return $n + $x; };',
      '  return strlen($y);',
      '}',
    );
    assert.deepEqual(await edges('php', source), [
      'x@3 <- a@3 computedFrom',
      'x@3 <- b@3 computedFrom',
      'a@3 <- a@2 comesFrom',
      'b@3 <- b@2 comesFrom',
      'x@4 <- x@3 comesFrom',
      'i@5#2 <- i@5 comesFrom',
      'i@5#2 <- i@5#3 comesFrom',
      'x@5 <- x@4 comesFrom',
      'i@5#3 <- i@5 comesFrom',
      'y@6 <- i@6 computedFrom',
      'i@6 <- i@5 comesFrom',
      'i@6 <- i@5#3 comesFrom',
      'a@8 <- a@2 comesFrom',
      'k@8 <- a@8 computedFrom',
      'v@8 <- a@8 computedFrom',
      'y@9 <- v@9 computedFrom',
      'v@9 <- v@8 comesFrom',
      'x@11 <- x@4 comesFrom',
      'x@11 <- x@12 comesFrom',
      'x@12 <- x@4 comesFrom',
      'a@14 <- a@2 comesFrom',
      'a@16 <- a@2 comesFrom',
      'g@19 <- n@19 computedFrom',
      'g@19 <- x@19 computedFrom',
      'g@19 <- n@19#2 computedFrom',
      'g@19 <- x@19#2 computedFrom',
      'x@19 <- x@12 comesFrom', // captured by use (…)
      'n@19#2 <- n@19 comesFrom',
      'x@19#2 <- x@19 comesFrom', // the body reads the captured copy
      'y@20 <- y@9 comesFrom', // the elseif chain has no else
      'y@20 <- y@15 comesFrom',
      'y@20 <- y@17 comesFrom',
    ]);
  });

  it('switch, case and match arms are branches; without a catch-all arm the old value survives', async () => {
    const cases: Array<[LanguageId, string, string[]]> = [
      [
        'java',
        lines(
          'class A { int f(int k, int a) {',
          '  int y = 0;',
          '  switch (k) {',
          '    case 1: y = a; break;',
          '    default: y = k;',
          '  }',
          '  return y;',
          '} }',
        ),
        [
          'k@3 <- k@1 comesFrom',
          'y@4 <- a@4 computedFrom',
          'a@4 <- a@1 comesFrom',
          'y@5 <- k@5 computedFrom',
          'k@5 <- k@1 comesFrom',
          'y@7 <- y@4 comesFrom',
          'y@7 <- y@5 comesFrom',
        ],
      ],
      [
        'javascript',
        lines(
          'function f(k, a) {',
          '  let y = 0;',
          '  switch (k) {',
          '    case 1: y = a; break;',
          '    case 2: y = k;',
          '  }',
          '  return y;',
          '}',
        ),
        [
          'k@3 <- k@1 comesFrom',
          'y@4 <- a@4 computedFrom',
          'a@4 <- a@1 comesFrom',
          'y@5 <- k@5 computedFrom',
          'k@5 <- k@1 comesFrom',
          'y@7 <- y@2 comesFrom', // no default arm
          'y@7 <- y@4 comesFrom',
          'y@7 <- y@5 comesFrom',
        ],
      ],
      [
        'go',
        lines(
          'package m',
          'func f(k, a int) int {',
          '\ty := 0',
          '\tswitch k {',
          '\tcase 1:',
          '\t\ty = a',
          '\tdefault:',
          '\t\ty = k',
          '\t}',
          '\treturn y',
          '}',
        ),
        [
          'k@4 <- k@2 comesFrom',
          'y@6 <- a@6 computedFrom',
          'a@6 <- a@2 comesFrom',
          'y@8 <- k@8 computedFrom',
          'k@8 <- k@2 comesFrom',
          'y@10 <- y@6 comesFrom',
          'y@10 <- y@8 comesFrom',
        ],
      ],
      [
        'ruby',
        lines('def f(k, a)', '  y = 0', '  case k', '  when 1 then y = a', '  else y = k', '  end', '  y', 'end'),
        [
          'k@3 <- k@1 comesFrom',
          'y@4 <- a@4 computedFrom',
          'a@4 <- a@1 comesFrom',
          'y@5 <- k@5 computedFrom',
          'k@5 <- k@1 comesFrom',
          'y@7 <- y@4 comesFrom',
          'y@7 <- y@5 comesFrom',
        ],
      ],
      [
        'php',
        lines(
          '<?php',
          'function f($k, $a) {',
          '  $y = 0;',
          '  switch ($k) {',
          '    case 1: $y = $a; break;',
          '  }',
          '  return $y;',
          '}',
        ),
        [
          'k@4 <- k@2 comesFrom',
          'y@5 <- a@5 computedFrom',
          'a@5 <- a@2 comesFrom',
          'y@7 <- y@3 comesFrom',
          'y@7 <- y@5 comesFrom',
        ],
      ],
      [
        'python',
        lines(
          'def f(k, a):',
          '    y = 0',
          '    match k:',
          '        case 1:',
          '            y = a',
          '        case _:',
          '            y = k',
          '    return y',
        ),
        [
          'k@3 <- k@1 comesFrom',
          'y@5 <- a@5 computedFrom',
          'a@5 <- a@1 comesFrom',
          'y@7 <- k@7 computedFrom',
          'k@7 <- k@1 comesFrom',
          'y@8 <- y@5 comesFrom',
          'y@8 <- y@7 comesFrom',
        ],
      ],
    ];
    for (const [language, source, expected] of cases)
      assert.deepEqual(await edges(language, source), expected, language);
  });

  it(
    'member, method and keyword-argument names are not variables; a store into a member or element ' +
      'reads and updates its object',
    async () => {
      const cases: Array<[LanguageId, string, string[]]> = [
        [
          'python',
          lines(
            'class Counter:',
            '    def __init__(self, count):',
            '        self.count = count',
            '        self.items[count] = count',
            '    def add(self, n, count=0):',
            '        self.count += n',
            '        return self.count.real, count',
            'key = 1',
            'f(key=value, other=key)',
          ),
          [
            'self@3 <- self@2 comesFrom', // the object is read …
            'self@3 <- count@3#2 computedFrom', // … and takes in the stored value
            'count@3#2 <- count@2 comesFrom',
            'self@4 <- self@3 comesFrom',
            'self@4 <- count@4#2 computedFrom',
            'count@4 <- count@2 comesFrom', // the index is only read: the attribute count@3 defined nothing
            'count@4#2 <- count@2 comesFrom',
            'self@6 <- self@5 comesFrom',
            'self@6 <- n@6 computedFrom',
            'n@6 <- n@5 comesFrom',
            'self@7 <- self@6 comesFrom',
            'count@7#2 <- count@5 comesFrom', // the parameter, not the attribute before it
            'key@9#2 <- key@8 comesFrom', // the keyword key@9 is no variable
          ],
        ],
        [
          'java',
          lines(
            'class A {',
            '  int count;',
            '  void f(Obj obj, int[] arr, int i) {',
            '    int count = obj.count;',
            '    this.count = count;',
            '    obj.field = obj.size(count);',
            '    arr[i] = obj.field;',
            '    foo(arr);',
            '  }',
            '}',
          ),
          [
            'count@4 <- obj@4 computedFrom',
            'obj@4 <- obj@3 comesFrom',
            'count@5#2 <- count@4 comesFrom',
            'obj@6 <- obj@3 comesFrom',
            'obj@6 <- obj@6#2 computedFrom',
            'obj@6 <- count@6 computedFrom',
            'obj@6#2 <- obj@3 comesFrom', // size is a method, not a variable
            'count@6 <- count@4 comesFrom',
            'arr@7 <- arr@3 comesFrom',
            'arr@7 <- obj@7 computedFrom',
            'i@7 <- i@3 comesFrom', // the index is read, not redefined
            'obj@7 <- obj@6 comesFrom',
            'arr@8 <- arr@7 comesFrom',
          ],
        ],
        [
          'javascript',
          lines(
            'function f(o, i) {',
            '  o.count = i;',
            '  o.items[i] = o.count;',
            '  this.total = o;',
            '  return o.items;',
            '}',
          ),
          [
            'o@2 <- o@1 comesFrom',
            'o@2 <- i@2 computedFrom',
            'i@2 <- i@1 comesFrom',
            'o@3 <- o@2 comesFrom', // through o.items to o
            'o@3 <- o@3#2 computedFrom',
            'i@3 <- i@1 comesFrom',
            'o@3#2 <- o@2 comesFrom',
            'o@4 <- o@3 comesFrom',
            'o@5 <- o@3 comesFrom',
          ],
        ],
        [
          'go',
          lines(
            'package m',
            '',
            'func f(s *S, xs []int, i int, k string) T {',
            '\txs[i] = s.n',
            '\ts.n = i',
            '\tm := map[string]int{k: i}',
            '\treturn T{n: xs[0], m: m}',
            '}',
          ),
          [
            'xs@4 <- xs@3 comesFrom',
            'xs@4 <- s@4 computedFrom',
            'i@4 <- i@3 comesFrom',
            's@4 <- s@3 comesFrom',
            's@5 <- s@3 comesFrom',
            's@5 <- i@5 computedFrom',
            'i@5 <- i@3 comesFrom',
            'm@6 <- k@6 computedFrom', // a map literal's key is an expression …
            'm@6 <- i@6 computedFrom',
            'k@6 <- k@3 comesFrom',
            'i@6 <- i@3 comesFrom',
            'xs@7 <- xs@4 comesFrom',
            'm@7#2 <- m@6 comesFrom', // … a struct literal's key m@7 is a field name
          ],
        ],
        [
          'ruby',
          lines('def grow(x, count)', '  self.count = count', '  @size = x.size', '  x[count] += 1', '  x.size', 'end'),
          [
            'count@2#2 <- count@1 comesFrom', // self.count= is a method
            '@size@3 <- x@3 computedFrom', // x.size is a method call: no size variable
            'x@3 <- x@1 comesFrom',
            'x@4 <- x@1 comesFrom',
            'count@4 <- count@1 comesFrom',
            'x@5 <- x@4 comesFrom',
          ],
        ],
        [
          'php',
          lines(
            '<?php',
            'function f($obj, $name) {',
            '  $this->name = $name;',
            '  $obj->items[$name] = $obj->count;',
            '  self::$total = $obj;',
            '  return g(key: $name);',
            '}',
          ),
          [
            'this@3 <- name@3#2 computedFrom',
            'name@3#2 <- name@2 comesFrom',
            'obj@4 <- obj@2 comesFrom',
            'obj@4 <- obj@4#2 computedFrom',
            'name@4 <- name@2 comesFrom',
            'obj@4#2 <- obj@2 comesFrom',
            'obj@5 <- obj@4 comesFrom', // the static property $total is no variable
            'name@6 <- name@2 comesFrom', // the named argument key is no variable
          ],
        ],
      ];
      for (const [language, source, expected] of cases)
        assert.deepEqual(await edges(language, source), expected, language);
    },
  );

  it(
    'ruby: block parameters are fresh and local; the block reads and updates enclosing variables, ' +
      'and runs like a loop body',
    async () => {
      const source = lines(
        'def totals(items, x)',
        '  sum = 0',
        '  items.each { |x| sum = sum + x }',
        '  items.each do |a, (b, c)|',
        '    last = a + b + c + x',
        '    sum = last',
        '  end',
        '  [x, sum, last]',
        'end',
      );
      assert.deepEqual(await edges('ruby', source), [
        'items@3 <- items@1 comesFrom',
        'sum@3 <- sum@3#2 computedFrom',
        'sum@3 <- x@3#2 computedFrom',
        'sum@3#2 <- sum@2 comesFrom',
        'sum@3#2 <- sum@3 comesFrom', // carried around the block's second pass
        'x@3#2 <- x@3 comesFrom', // the block's x, not the method's
        'items@4 <- items@1 comesFrom',
        'last@5 <- a@5 computedFrom',
        'last@5 <- b@5 computedFrom',
        'last@5 <- c@5 computedFrom',
        'last@5 <- x@5 computedFrom',
        'a@5 <- a@4 comesFrom',
        'b@5 <- b@4 comesFrom',
        'c@5 <- c@4 comesFrom',
        'x@5 <- x@1 comesFrom', // the first block's x did not outlive it
        'sum@6 <- last@6 computedFrom',
        'last@6 <- last@5 comesFrom',
        'x@8 <- x@1 comesFrom',
        'sum@8 <- sum@6 comesFrom', // the block updated the enclosing sum
        // last@8 has no source: a variable introduced in a block stays in it
      ]);
    },
  );

  it(
    'nothing defined in a closure, nested function, comprehension or class leaks out; closures read ' +
      'enclosing definitions',
    async () => {
      const cases: Array<[LanguageId, string, string[]]> = [
        [
          'python',
          lines(
            'def outer(a):',
            '    t = a',
            '    def inner(b):',
            '        u = b + t',
            '        return u',
            '    g = lambda k: k + t',
            '    total = [v for v in range(t)]',
            '    return u, k, v, g',
          ),
          [
            't@2 <- a@2 computedFrom',
            'a@2 <- a@1 comesFrom',
            'u@4 <- b@4 computedFrom',
            'u@4 <- t@4 computedFrom',
            'b@4 <- b@3 comesFrom',
            't@4 <- t@2 comesFrom',
            'u@5 <- u@4 comesFrom',
            'g@6 <- k@6 computedFrom',
            'g@6 <- k@6#2 computedFrom',
            'g@6 <- t@6 computedFrom',
            'k@6#2 <- k@6 comesFrom',
            't@6 <- t@2 comesFrom',
            'total@7 <- v@7 computedFrom',
            'total@7 <- v@7#2 computedFrom',
            'total@7 <- range@7 computedFrom',
            'total@7 <- t@7 computedFrom',
            'v@7 <- v@7#2 comesFrom',
            'v@7#2 <- range@7 computedFrom',
            'v@7#2 <- t@7 computedFrom',
            't@7 <- t@2 comesFrom',
            'g@8 <- g@6 comesFrom', // u, k and v are not seen out here
          ],
        ],
        [
          'python',
          lines(
            'class Config:',
            '    debug = False',
            '    level = debug',
            '    def show(self):',
            '        return self.level, debug',
            'print(debug, Config)',
          ),
          [
            'level@3 <- debug@3 computedFrom',
            'debug@3 <- debug@2 comesFrom',
            'self@5 <- self@4 comesFrom', // a method does not see the class body's debug
            'Config@6 <- Config@1 comesFrom', // nor does the module
          ],
        ],
        [
          'javascript',
          lines(
            'function outer(a) {',
            '  const h = function inner(k) { let t = k + a; return t; };',
            '  const m = (s) => { let u = s; return u; };',
            '  return [t, u, inner, h(a), m];',
            '}',
          ),
          [
            'h@2 <- inner@2 computedFrom',
            'h@2 <- k@2 computedFrom',
            'h@2 <- t@2 computedFrom',
            'h@2 <- k@2#2 computedFrom',
            'h@2 <- a@2 computedFrom',
            'h@2 <- t@2#2 computedFrom',
            't@2 <- k@2#2 computedFrom',
            't@2 <- a@2 computedFrom',
            'k@2#2 <- k@2 comesFrom',
            'a@2 <- a@1 comesFrom',
            't@2#2 <- t@2 comesFrom',
            'm@3 <- s@3 computedFrom',
            'm@3 <- u@3 computedFrom',
            'm@3 <- s@3#2 computedFrom',
            'm@3 <- u@3#2 computedFrom',
            'u@3 <- s@3#2 computedFrom',
            's@3#2 <- s@3 comesFrom',
            'u@3#2 <- u@3 comesFrom',
            'h@4 <- h@2 comesFrom', // a function expression's own name (inner) is bound inside it only
            'a@4 <- a@1 comesFrom',
            'm@4 <- m@3 comesFrom',
          ],
        ],
        [
          'java',
          lines(
            'class A {',
            '  int n;',
            '  Runnable f(int a) {',
            '    Runnable r = () -> { int t = a; use(t); };',
            '    return g(r, t);',
            '  }',
            '}',
            'class B {',
            '  int f() { return n; }',
            '}',
          ),
          [
            'r@4 <- t@4 computedFrom',
            'r@4 <- a@4 computedFrom',
            'r@4 <- t@4#2 computedFrom',
            't@4 <- a@4 computedFrom',
            'a@4 <- a@3 comesFrom',
            't@4#2 <- t@4 comesFrom',
            'r@5 <- r@4 comesFrom', // t@5 is not the lambda's; n@9 is not A's field
          ],
        ],
        [
          'go',
          lines(
            'package m',
            '',
            'func f(a int) int {',
            '\th := func(k int) int { t := k + a; return t }',
            '\treturn h(t)',
            '}',
          ),
          [
            'h@4 <- k@4 computedFrom',
            'h@4 <- t@4 computedFrom',
            'h@4 <- k@4#2 computedFrom',
            'h@4 <- a@4 computedFrom',
            'h@4 <- t@4#2 computedFrom',
            't@4 <- k@4#2 computedFrom',
            't@4 <- a@4 computedFrom',
            'k@4#2 <- k@4 comesFrom',
            'a@4 <- a@3 comesFrom',
            't@4#2 <- t@4 comesFrom',
            'h@5 <- h@4 comesFrom',
          ],
        ],
        [
          'php',
          lines(
            '<?php',
            '$top = 1;',
            'function f($a) {',
            '  $g = function ($n) use ($a, &$count) { $t = $n + $a + $top; $count = $t; };',
            '  $h = fn($k) => $k + $a;',
            '  return [$t, $count, $top];',
            '}',
          ),
          [
            'g@4 <- n@4 computedFrom',
            'g@4 <- a@4 computedFrom',
            'g@4 <- count@4 computedFrom',
            'g@4 <- t@4 computedFrom',
            'g@4 <- n@4#2 computedFrom',
            'g@4 <- a@4#2 computedFrom',
            'g@4 <- top@4 computedFrom',
            'g@4 <- count@4#2 computedFrom',
            'g@4 <- t@4#2 computedFrom',
            'a@4 <- a@3 comesFrom', // captured by use (…)
            't@4 <- n@4#2 computedFrom',
            't@4 <- a@4#2 computedFrom',
            't@4 <- top@4 computedFrom', // a closure sees only what it captures: no $top
            'n@4#2 <- n@4 comesFrom',
            'a@4#2 <- a@4 comesFrom',
            'count@4#2 <- t@4#2 computedFrom',
            't@4#2 <- t@4 comesFrom',
            'h@5 <- k@5 computedFrom',
            'h@5 <- k@5#2 computedFrom',
            'h@5 <- a@5 computedFrom',
            'k@5#2 <- k@5 comesFrom',
            'a@5 <- a@3 comesFrom', // an arrow function sees the enclosing variables
            'count@6 <- count@4#2 comesFrom', // captured by reference: the closure's assignment flows back
          ],
        ],
        [
          'ruby',
          lines('x = 1', '$g = 2', 'def f', '  [x, $g]', 'end', 'class K', '  y = x', 'end', 'y'),
          [
            '$g@4 <- $g@2 comesFrom', // def sees globals, not the enclosing locals
            'y@7 <- x@7 computedFrom', // nor does a class body; its y stays inside
          ],
        ],
      ];
      for (const [language, source, expected] of cases)
        assert.deepEqual(await edges(language, source), expected, language);
    },
  );

  it(
    'python: global and nonlocal names flow back out of the function; a walrus in a comprehension ' +
      'binds outside it',
    async () => {
      const source = lines(
        'count = 0',
        'def bump(n):',
        '    global count',
        '    count += n',
        'def reader():',
        '    global count',
        '    return count',
        'def make(xs):',
        '    total = 0',
        '    def add(k):',
        '        nonlocal total',
        '        total = total + k',
        '    flags = [(found := v) > 0 for v in xs]',
        '    return total, found, v',
        'print(count)',
      );
      assert.deepEqual(await edges('python', source), [
        'count@3 <- count@1 comesFrom',
        'count@4 <- count@3 comesFrom',
        'count@4 <- n@4 computedFrom',
        'n@4 <- n@2 comesFrom',
        'count@6 <- count@1 comesFrom', // bump may have run
        'count@6 <- count@4 comesFrom',
        'count@7 <- count@6 comesFrom',
        'total@11 <- total@9 comesFrom',
        'total@12 <- total@12#2 computedFrom',
        'total@12 <- k@12 computedFrom',
        'total@12#2 <- total@11 comesFrom',
        'k@12 <- k@10 comesFrom',
        'flags@13 <- found@13 computedFrom',
        'flags@13 <- v@13 computedFrom',
        'flags@13 <- v@13#2 computedFrom',
        'flags@13 <- xs@13 computedFrom',
        'found@13 <- v@13 computedFrom',
        'v@13 <- v@13#2 comesFrom',
        'v@13#2 <- xs@13 computedFrom',
        'xs@13 <- xs@8 comesFrom',
        'total@14 <- total@9 comesFrom',
        'total@14 <- total@12 comesFrom', // add may have run
        'found@14 <- found@13 comesFrom', // the comprehension's v stays inside it
        'count@15 <- count@1 comesFrom', // reader only read count: its global declaration adds nothing
        'count@15 <- count@4 comesFrom',
      ]);
    },
  );

  it('module paths, imported names under an alias, annotations and labels are not variables', async () => {
    const python = await labelledGraph(
      'python',
      lines(
        'import os.path',
        'import numpy.linalg as la',
        'from collections import abc as c, OrderedDict',
        'from .sibling import path',
        'print(os, la, c, OrderedDict, path, numpy, linalg, collections, abc, sibling)',
      ),
    );
    assert.deepEqual(python.edges, [
      'os@5 <- os@1 comesFrom',
      'la@5 <- la@2 comesFrom',
      'c@5 <- c@3 comesFrom',
      'OrderedDict@5 <- OrderedDict@3 comesFrom',
      'path@5 <- path@4 comesFrom',
    ]);
    assert.deepEqual(
      python.nodes.filter((node) => !node.endsWith('@5')),
      ['os@1', 'la@2', 'c@3', 'OrderedDict@3', 'path@4'],
    );

    const javascript = await labelledGraph(
      'javascript',
      lines("import d, { a as b, c } from 'x';", 'export { b as e, c };', 'const e = a;'),
    );
    assert.deepEqual(javascript.edges, ['b@2 <- b@1 comesFrom', 'c@2 <- c@1 comesFrom', 'e@3 <- a@3 computedFrom']);
    assert.deepEqual(javascript.nodes, ['d@1', 'b@1', 'c@1', 'b@2', 'c@2', 'e@3', 'a@3']);

    const java = await labelledGraph(
      'java',
      lines(
        'package a.b;',
        'import java.util.List;',
        '@Anno(key = v)',
        'class A {',
        '  @Override void f(List<String> b) { outer: for (;;) { break outer; } g(b::size, String::valueOf); }',
        '}',
      ),
    );
    assert.deepEqual(java.edges, ['b@5#2 <- b@5 comesFrom']);
    assert.deepEqual(java.nodes, ['v@3', 'A@4', 'f@5', 'b@5', 'b@5#2', 'String@5#2']);
  });

  it(
    'destructuring: pattern keys are not variables, defaults are read; multiple results all come ' + 'from the call',
    async () => {
      const javascript = lines(
        'function f(o, a) {',
        '  const { x, y: z, w = a, ...rest } = o;',
        '  const [p, q = x] = a;',
        '  return [x, z, w, rest, p, q, y];',
        '}',
      );
      assert.deepEqual(await edges('javascript', javascript), [
        'x@2 <- o@2 computedFrom',
        'z@2 <- o@2 computedFrom',
        'w@2 <- a@2 computedFrom', // from its default …
        'w@2 <- o@2 computedFrom', // … or from o
        'a@2 <- a@1 comesFrom', // the default is read, not defined
        'rest@2 <- o@2 computedFrom',
        'o@2 <- o@1 comesFrom',
        'p@3 <- a@3 computedFrom',
        'q@3 <- x@3 computedFrom',
        'q@3 <- a@3 computedFrom',
        'x@3 <- x@2 comesFrom',
        'a@3 <- a@1 comesFrom',
        'x@4 <- x@2 comesFrom',
        'z@4 <- z@2 comesFrom',
        'w@4 <- w@2 comesFrom',
        'rest@4 <- rest@2 comesFrom',
        'p@4 <- p@3 comesFrom',
        'q@4 <- q@3 comesFrom', // the key y@2 defined nothing
      ]);
      const go = lines(
        'package m',
        '',
        'func f(path string) error {',
        '\tdata, err := read(path)',
        '\tif err != nil {',
        '\t\treturn err',
        '\t}',
        '\tn, _ := parse(data)',
        '\treturn use(n)',
        '}',
      );
      assert.deepEqual(await edges('go', go), [
        'data@4 <- read@4 computedFrom',
        'data@4 <- path@4 computedFrom',
        'err@4 <- read@4 computedFrom',
        'err@4 <- path@4 computedFrom',
        'path@4 <- path@3 comesFrom',
        'err@5 <- err@4 comesFrom',
        'err@6 <- err@4 comesFrom',
        'n@8 <- parse@8 computedFrom',
        'n@8 <- data@8 computedFrom',
        'data@8 <- data@4 comesFrom',
        'n@9 <- n@8 comesFrom',
      ]);
    },
  );

  it('long chains of branches (states flattened past their fork depth) keep every definition', async () => {
    const branches = 40;
    const source = lines('x = 0', ...Array.from({ length: branches }, (_, i) => `if c:\n    x = ${i + 1}`), 'print(x)');
    const useLine = 2 + 2 * branches;
    const expected = [
      ...Array.from({ length: branches - 1 }, (_, i) => `c@${4 + 2 * i} <- c@2 comesFrom`), // the first c is a definition
      `x@${useLine} <- x@1 comesFrom`, // no branch has an else
      ...Array.from({ length: branches }, (_, i) => `x@${useLine} <- x@${3 + 2 * i} comesFrom`),
    ];
    assert.deepEqual(await edges('python', source), expected);
  });

  it('stays well formed on broken code: prefixes and every line-dropped variant of the examples', async () => {
    const examples: Array<[string, LanguageId]> = [
      ['lru_cache.py', 'python'],
      ['BinarySearch.java', 'java'],
      ['debounce.js', 'javascript'],
      ['groupBy.ts', 'typescript'],
      ['wordcount.go', 'go'],
      ['inventory.rb', 'ruby'],
      ['Slugger.php', 'php'],
    ];
    const variableTypes = new Set([
      'identifier',
      'shorthand_property_identifier',
      'shorthand_property_identifier_pattern',
      'instance_variable',
      'class_variable',
      'global_variable',
      'name',
      'constant',
    ]);
    const parser = await sharedParser();
    let broken = 0;
    for (const [file, language] of examples) {
      const source = readFileSync(join(EXAMPLES, file), 'utf8');
      const sourceLines = source.split('\n');
      const variants = [
        ...Array.from({ length: 11 }, (_, i) => source.slice(0, Math.floor((source.length * (i + 1)) / 12))),
        ...sourceLines.map((_, dropped) => sourceLines.filter((__, i) => i !== dropped).join('\n')),
      ];
      for (const variant of variants) {
        const parsed = await parser.parse(variant, language);
        if (parsed.errors.length) broken++;
        const graph = extractDataFlow(parsed)!;
        const nodes = new Set(graph.nodes);
        assert.equal(nodes.size, graph.nodes.length, `${file}: duplicate nodes`);
        for (const node of graph.nodes)
          assert.ok(variableTypes.has(parsed.tokens[node].type), `${file}: ${parsed.tokens[node].type} is no variable`);
        for (const edge of graph.edges)
          assert.ok(
            nodes.has(edge.from) && nodes.has(edge.to) && edge.from !== edge.to,
            `${file}: edge ${JSON.stringify(edge)}`,
          );
        assert.deepEqual([...graph.edges].sort(compareEdges), graph.edges);
      }
    }
    assert.ok(broken > 100, `only ${broken} variants had syntax errors`);
  });

  it('supports every language, orders edges by from then to, and gives the edges of each token', async () => {
    for (const language of ['python', 'java', 'javascript', 'typescript', 'go', 'ruby', 'php'] as const)
      assert.ok(supportsDataFlow(language));
    const parsed = await (await sharedParser()).parse('a = 1\nb = a + a\n', 'python');
    const graph = extractDataFlow(parsed)!;
    // tokens: a = 1 b = a + a  →  b is token 3, the uses of a are tokens 5 and 7
    assert.deepEqual(graph.nodes, [0, 3, 5, 7]);
    assert.deepEqual(graph.edges, [
      { from: 3, to: 5, kind: 'computedFrom' },
      { from: 3, to: 7, kind: 'computedFrom' },
      { from: 5, to: 0, kind: 'comesFrom' },
      { from: 7, to: 0, kind: 'comesFrom' },
    ]);
    assert.deepEqual([...graph.edges].sort(compareEdges), graph.edges);
    const byToken = dataFlowEdgesByToken(graph, parsed.tokens.length);
    assert.equal(byToken.length, parsed.tokens.length);
    assert.deepEqual(
      byToken[3].map((edge) => edge.to),
      [5, 7],
    );
    assert.deepEqual(byToken[5], [{ from: 5, to: 0, kind: 'comesFrom' }]);
    assert.deepEqual(byToken[0], []);
  });
});
