import test from 'ava';
import { createExpect } from '../../../src/scenario/expect.ts';
import { Scope, ScopeClosedError } from '../../../src/scenario/scope.ts';

class Counter {
  #n = 0;
  bump(by: number): number {
    this.#n += by;
    return this.#n;
  }
  readonly label = 'c';
}

test('a guarded object works while the scope is open, private state and all', (t) => {
  const scope = new Scope();
  const c = scope.guard(new Counter(), 'counter');
  t.is(c.bump(2), 2);
  t.is(c.bump(3), 5);
  t.is(c.label, 'c');
});

test('once closed, every method call is refused with the reason, and nothing reaches the object', (t) => {
  const scope = new Scope();
  const inner = new Counter();
  const c = scope.guard(inner, 'counter');
  c.bump(1);
  scope.close('deadline of 4 s exceeded');
  scope.close('a later reason is not kept');
  const e = t.throws(() => c.bump(10), { instanceOf: ScopeClosedError });
  t.is(e?.message, 'counter.bump() after the scenario ended (deadline of 4 s exceeded): refused');
  t.is(inner.bump(0), 1);
});

test('a guarded expect records nothing after the scope closed: not a call, not errno, not fail', (t) => {
  const scope = new Scope();
  const raw = createExpect();
  const expect = scope.guard(raw, 'expect');
  expect(1, 'before').toBe(2);
  scope.close('its body had returned');
  t.throws(() => expect(1, 'after').toBe(2), { instanceOf: ScopeClosedError });
  t.throws(() => expect.fail('late'), { instanceOf: ScopeClosedError });
  t.throws(() => expect.errno(undefined, 'ok', 'late op'), { instanceOf: ScopeClosedError });
  t.deepEqual(raw.failures, ['before: expected 2, got 1']);
  t.is(expect.failures.length, 1);
});

test('check() throws only after close', (t) => {
  const scope = new Scope();
  t.notThrows(() => scope.check('step "a"'));
  t.false(scope.closed);
  scope.close('x');
  t.true(scope.closed);
  t.throws(() => scope.check('step "a"'), { message: 'step "a" after the scenario ended (x): refused' });
});
