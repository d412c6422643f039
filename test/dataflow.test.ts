import { strict as assert } from 'node:assert';
import { compareEdges, dataFlowEdgesByToken, extractDataFlow, supportsDataFlow } from '../src/core/dataflow/dataFlow';
import type { LanguageId } from '../src/core/types';
import { sharedParser } from './helpers';

/**
 * Edges as readable strings: "x@2 <- a@2 computedFrom" (token text @ 1-based line; the second and
 * later occurrences of the same text on one line get "#2", "#3" …), in the graph's order.
 */
async function edges(language: LanguageId, source: string): Promise<string[]> {
  const parsed = await (await sharedParser()).parse(source, language);
  const graph = extractDataFlow(parsed)!;
  const label = (token: number) => {
    const { text, range } = parsed.tokens[token];
    const line = range.start.line;
    const occurrence = parsed.tokens.slice(0, token + 1).filter((other) => other.text === text && other.range.start.line === line).length;
    return `${text}@${line + 1}${occurrence > 1 ? `#${occurrence}` : ''}`;
  };
  return graph.edges.map((edge) => `${label(edge.from)} <- ${label(edge.to)} ${edge.kind}`);
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
    assert.deepEqual(await edges('python', 'y = 1\nif c:\n    y = 2\nprint(y)\n'), ['y@4 <- y@1 comesFrom', 'y@4 <- y@3 comesFrom']);
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

  it('python: functions are scopes with fresh parameters; comprehension clauses run before the element; walrus', async () => {
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
  });

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

  it('java: declarations, augmented assignment, for (init once; condition, body, update twice), for-each, while, else-if', async () => {
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
  });

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

  it('go: var specs pair names and values, for clause, range, condition-only for, if with initializer, closure', async () => {
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
  });

  it('ruby: optional parameter, parallel assignment, for, while, elsif without else, modifier if, block, rescue', async () => {
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
  });

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
      'x@19 <- x@12 comesFrom',
      'n@19#2 <- n@19 comesFrom',
      'x@19#2 <- x@12 comesFrom',
      'y@20 <- y@9 comesFrom', // the elseif chain has no else
      'y@20 <- y@15 comesFrom',
      'y@20 <- y@17 comesFrom',
    ]);
  });

  it('switch, case and match arms are branches; without a catch-all arm the old value survives', async () => {
    const cases: Array<[LanguageId, string, string[]]> = [
      [
        'java',
        lines('class A { int f(int k, int a) {', '  int y = 0;', '  switch (k) {', '    case 1: y = a; break;', '    default: y = k;', '  }', '  return y;', '} }'),
        ['k@3 <- k@1 comesFrom', 'y@4 <- a@4 computedFrom', 'a@4 <- a@1 comesFrom', 'y@5 <- k@5 computedFrom', 'k@5 <- k@1 comesFrom', 'y@7 <- y@4 comesFrom', 'y@7 <- y@5 comesFrom'],
      ],
      [
        'javascript',
        lines('function f(k, a) {', '  let y = 0;', '  switch (k) {', '    case 1: y = a; break;', '    case 2: y = k;', '  }', '  return y;', '}'),
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
        lines('package m', 'func f(k, a int) int {', '\ty := 0', '\tswitch k {', '\tcase 1:', '\t\ty = a', '\tdefault:', '\t\ty = k', '\t}', '\treturn y', '}'),
        ['k@4 <- k@2 comesFrom', 'y@6 <- a@6 computedFrom', 'a@6 <- a@2 comesFrom', 'y@8 <- k@8 computedFrom', 'k@8 <- k@2 comesFrom', 'y@10 <- y@6 comesFrom', 'y@10 <- y@8 comesFrom'],
      ],
      [
        'ruby',
        lines('def f(k, a)', '  y = 0', '  case k', '  when 1 then y = a', '  else y = k', '  end', '  y', 'end'),
        ['k@3 <- k@1 comesFrom', 'y@4 <- a@4 computedFrom', 'a@4 <- a@1 comesFrom', 'y@5 <- k@5 computedFrom', 'k@5 <- k@1 comesFrom', 'y@7 <- y@4 comesFrom', 'y@7 <- y@5 comesFrom'],
      ],
      [
        'php',
        lines('<?php', 'function f($k, $a) {', '  $y = 0;', '  switch ($k) {', '    case 1: $y = $a; break;', '  }', '  return $y;', '}'),
        ['k@4 <- k@2 comesFrom', 'y@5 <- a@5 computedFrom', 'a@5 <- a@2 comesFrom', 'y@7 <- y@3 comesFrom', 'y@7 <- y@5 comesFrom'],
      ],
      [
        'python',
        lines('def f(k, a):', '    y = 0', '    match k:', '        case 1:', '            y = a', '        case _:', '            y = k', '    return y'),
        ['k@3 <- k@1 comesFrom', 'y@5 <- a@5 computedFrom', 'a@5 <- a@1 comesFrom', 'y@7 <- k@7 computedFrom', 'k@7 <- k@1 comesFrom', 'y@8 <- y@5 comesFrom', 'y@8 <- y@7 comesFrom'],
      ],
    ];
    for (const [language, source, expected] of cases) assert.deepEqual(await edges(language, source), expected, language);
  });

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

  it('supports every language, orders edges by from then to, and gives the edges of each token', async () => {
    for (const language of ['python', 'java', 'javascript', 'typescript', 'go', 'ruby', 'php'] as const) assert.ok(supportsDataFlow(language));
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
    assert.deepEqual(byToken[3].map((edge) => edge.to), [5, 7]);
    assert.deepEqual(byToken[5], [{ from: 5, to: 0, kind: 'comesFrom' }]);
    assert.deepEqual(byToken[0], []);
  });
});
