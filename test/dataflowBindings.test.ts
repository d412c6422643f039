import { strict as assert } from 'node:assert';
import { labelledDataFlowEdges as edges } from './helpers';

const lines = (...source: string[]) => source.join('\n') + '\n';

describe('data-flow graph: bindings, block scopes, constants and exiting handlers', () => {
  describe('a bound name is defined, not read', () => {
    it('python: `except E as e` and `with … as f` assign the name after `as`', async () => {
      assert.deepEqual(await edges('python', lines('e = 1', 'try:', '    f()', 'except E as e:', '    print(e)')), [
        'e@4 <- E@4 computedFrom', // the exception is an instance of E, as in `e = E()`
        'e@5 <- e@4 comesFrom', // not e = 1
      ]);
      assert.deepEqual(await edges('python', lines('f = 1', 'with open(p) as f:', '    g(f)')), [
        'f@2 <- open@2 computedFrom',
        'f@2 <- p@2 computedFrom',
        'f@3 <- f@2 comesFrom',
      ]);
    });

    it('javascript: `catch (e)` defines e inside the handler only', async () => {
      assert.deepEqual(await edges('javascript', lines('let e = 1;', 'try { f(); } catch (e) { g(e); }', 'h(e);')), [
        'e@2#2 <- e@2 comesFrom',
        'e@3 <- e@1 comesFrom', // the catch parameter is scoped to the handler
      ]);
    });

    it('ruby: `rescue E => e` defines e', async () => {
      assert.deepEqual(await edges('ruby', lines('e = 1', 'begin', '  f', 'rescue E => e', '  g(e)', 'end')), [
        'e@5 <- e@4 comesFrom',
      ]);
    });

    it('java: the second `catch (F e)` defines its own e', async () => {
      const source = lines(
        'class A {',
        '  void m() {',
        '    try {',
        '      f();',
        '    } catch (E e) {',
        '      g(e);',
        '    } catch (F e) {',
        '      h(e);',
        '    }',
        '  }',
        '}',
      );
      assert.deepEqual(await edges('java', source), ['e@6 <- e@5 comesFrom', 'e@8 <- e@7 comesFrom']);
    });

    it('php: `catch (E $e)` defines $e, which outlives the handler', async () => {
      const source = lines('<?php', '$e = 1;', 'try { f(); } catch (E $e) { g($e); }', 'h($e);');
      assert.deepEqual(await edges('php', source), [
        'e@3#2 <- e@3 comesFrom',
        'e@4 <- e@2 comesFrom', // the try ran to its end
        'e@4 <- e@3 comesFrom', // the handler ran
      ]);
    });
  });

  describe('block scopes: an inner definition does not replace the outer one after the block', () => {
    it('go: `if v, ok := m[k]; ok {…}` declares v and ok for the if only', async () => {
      const source = lines(
        'package p',
        '',
        'func f(m map[string]int, k string) int {',
        '\tv := 0',
        '\tif v, ok := m[k]; ok {',
        '\t\treturn v',
        '\t}',
        '\treturn v',
        '}',
      );
      assert.deepEqual(await edges('go', source), [
        'v@5 <- m@5 computedFrom',
        'v@5 <- k@5 computedFrom',
        'ok@5 <- m@5 computedFrom',
        'ok@5 <- k@5 computedFrom',
        'm@5 <- m@3 comesFrom',
        'k@5 <- k@3 comesFrom',
        'ok@5#2 <- ok@5 comesFrom',
        'v@6 <- v@5 comesFrom',
        'v@8 <- v@4 comesFrom', // not the v of the if's header
      ]);
    });

    it('go: an assignment to the outer variable before a shadowing `:=` in the block survives the block', async () => {
      const source = lines(
        'package p',
        '',
        'func f(c bool) int {',
        '\tx := 1',
        '\tif c {',
        '\t\tx = 2',
        '\t\tx := 3',
        '\t\t_ = x',
        '\t}',
        '\treturn x',
        '}',
      );
      assert.deepEqual(await edges('go', source), [
        'c@5 <- c@3 comesFrom',
        'x@8 <- x@7 comesFrom',
        'x@10 <- x@4 comesFrom',
        'x@10 <- x@6 comesFrom', // the outer x as it was when the inner one was declared
      ]);
    });

    it('javascript: `{ let x = 2 }` ends with its block; `var` does not', async () => {
      assert.deepEqual(await edges('javascript', lines('let x = 1;', '{', '  let x = 2;', '  f(x);', '}', 'g(x);')), [
        'x@4 <- x@3 comesFrom',
        'x@6 <- x@1 comesFrom',
      ]);
      assert.deepEqual(await edges('javascript', lines('var y = 1;', '{', '  var y = 2;', '}', 'g(y);')), [
        'y@5 <- y@3 comesFrom',
      ]);
    });

    it('typescript: a `const` in a loop body and a `let` in a for header do not leak', async () => {
      const source = lines(
        'let i: number = 10;',
        'const total: number = 0;',
        'for (let i = 0; i < 3; i++) {',
        '  const total = i * 2;',
        '  use(total);',
        '}',
        'use(i, total);',
      );
      assert.deepEqual(await edges('typescript', source), [
        'i@3#2 <- i@3 comesFrom',
        'i@3#2 <- i@3#3 comesFrom',
        'i@3#3 <- i@3 comesFrom', // i++ reads i (its self-loop on the second pass is dropped)
        'total@4 <- i@4 computedFrom',
        'i@4 <- i@3 comesFrom',
        'i@4 <- i@3#3 comesFrom',
        'total@5 <- total@4 comesFrom',
        'use@7 <- use@5 comesFrom', // an unknown name (a global function) is defined where first seen
        'i@7 <- i@1 comesFrom',
        'total@7 <- total@2 comesFrom',
      ]);
    });

    it('java: a local declared in a block does not replace the field after it', async () => {
      const source = lines(
        'class A {',
        '  int x = 1;',
        '  int m() {',
        '    {',
        '      int x = 2;',
        '      f(x);',
        '    }',
        '    return x;',
        '  }',
        '}',
      );
      assert.deepEqual(await edges('java', source), ['x@6 <- x@5 comesFrom', 'x@8 <- x@2 comesFrom']);
    });
  });

  it('ruby: constants are variables, seen inside def; `Mod::NAME` names a member', async () => {
    const source = lines('MAX = 10', 'def f(x)', '  x + MAX', 'end', 'y = MAX * 2', 'z = Config::LIMIT');
    assert.deepEqual(await edges('ruby', source), [
      'x@3 <- x@2 comesFrom',
      'MAX@3 <- MAX@1 comesFrom',
      'y@5 <- MAX@5 computedFrom',
      'MAX@5 <- MAX@1 comesFrom',
      'z@6 <- Config@6 computedFrom',
    ]);
  });

  describe('a handler that always exits does not merge its definitions into the code after the try', () => {
    it('python: `raise` and `return`', async () => {
      const raising = lines('x = 0', 'try:', '    x = f()', 'except E:', '    x = 1', '    raise', 'print(x)');
      assert.deepEqual(await edges('python', raising), ['x@3 <- f@3 computedFrom', 'x@7 <- x@3 comesFrom']);
      const returning = lines(
        'def g():',
        '    try:',
        '        x = f()',
        '    except E:',
        '        return None',
        '    return x',
      );
      assert.deepEqual(await edges('python', returning), ['x@3 <- f@3 computedFrom', 'x@6 <- x@3 comesFrom']);
      const handling = lines('x = 0', 'try:', '    x = f()', 'except E:', '    x = 1', 'print(x)');
      assert.deepEqual(await edges('python', handling), [
        'x@3 <- f@3 computedFrom',
        'x@6 <- x@3 comesFrom',
        'x@6 <- x@5 comesFrom', // a handler that falls through still merges
      ]);
    });

    it('javascript: `throw`', async () => {
      const source = lines('let x = 0;', 'try { x = f(); } catch (e) { x = 1; throw e; }', 'g(x);');
      assert.deepEqual(await edges('javascript', source), [
        'x@2 <- f@2 computedFrom',
        'e@2#2 <- e@2 comesFrom',
        'x@3 <- x@2 comesFrom',
      ]);
    });

    it('java: `throw` and `return`', async () => {
      const source = lines(
        'class A {',
        '  int m() {',
        '    int x = 0;',
        '    try {',
        '      x = f();',
        '    } catch (E e) {',
        '      x = 1;',
        '      throw e;',
        '    } catch (F e) {',
        '      return x;',
        '    }',
        '    return x;',
        '  }',
        '}',
      );
      assert.deepEqual(await edges('java', source), [
        'e@8 <- e@6 comesFrom',
        'x@10 <- x@3 comesFrom',
        'x@10 <- x@5 comesFrom',
        'x@12 <- x@5 comesFrom',
      ]);
    });

    it('ruby: `raise` ending a rescue', async () => {
      const source = lines('x = 0', 'begin', '  x = f', 'rescue E', '  x = 1', '  raise', 'end', 'g(x)');
      assert.deepEqual(await edges('ruby', source), ['x@3 <- f@3 computedFrom', 'x@8 <- x@3 comesFrom']);
    });

    it('php: `throw`', async () => {
      const source = lines('<?php', '$x = 0;', 'try { $x = f(); } catch (E $e) { $x = 1; throw $e; }', 'g($x);');
      assert.deepEqual(await edges('php', source), ['e@3#2 <- e@3 comesFrom', 'x@4 <- x@3 comesFrom']);
    });
  });
});
