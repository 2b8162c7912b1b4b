// Soft expectations: what each matcher accepts and refuses, and the words a failure leaves.
// Every contract check of every scenario goes through these: a matcher that says yes too often
// passes a kernel that lets an ioctl through a parked FD.
import test from 'ava';
import { createExpect, describeSyscall } from '../../../src/scenario/expect.ts';

test('a syscall result in words: ok with its return value, else its errno name (or number), "not run" when absent', (t) => {
  t.is(describeSyscall({ ret: 3, errno: 0, errname: null }), 'ok (ret 3)');
  t.is(describeSyscall({ ret: 0, errno: 0, errname: null }), 'ok (ret 0)');
  t.is(describeSyscall({ ret: null, errno: 0, errname: null }), 'ok (ret null)');
  t.is(describeSyscall({ ret: -1, errno: 0, errname: null }), 'errno 0', 'a negative return is not ok, even with errno 0');
  t.is(describeSyscall({ ret: 0, errno: 25, errname: 'ENOTTY' }), 'ENOTTY', 'a set errno is not ok, even with ret 0');
  t.is(describeSyscall({ ret: -1, errno: 22, errname: null }), 'errno 22');
  t.is(describeSyscall(undefined), 'not run');
});

test('errno: exactly the named errno, or any success for "ok"; each check is an observation', (t) => {
  const expect = createExpect();
  t.true(expect.errno({ ret: -1, errno: 1, errname: 'EPERM' }, 'EPERM', 'BIND'));
  t.false(expect.errno({ ret: -1, errno: 22, errname: 'EINVAL' }, 'EPERM', 'BIND again'));
  t.true(expect.errno({ ret: 5, errno: 0, errname: null }, 'ok', 'OPEN'));
  t.false(expect.errno({ ret: -1, errno: 16, errname: 'EBUSY' }, 'ok', 'OPEN twice'));
  t.false(expect.errno({ ret: 0, errno: 0, errname: null }, 'EBADF', 'READ'));
  t.false(expect.errno({ ret: -1, errno: 1, errname: 'EPERM' }, 'EPER', 'prefix'));
  t.deepEqual(expect.observations, [
    { op: 'BIND', expected: 'EPERM', observed: 'EPERM', ok: true },
    { op: 'BIND again', expected: 'EPERM', observed: 'EINVAL', ok: false },
    { op: 'OPEN', expected: 'ok', observed: 'ok (ret 5)', ok: true },
    { op: 'OPEN twice', expected: 'ok', observed: 'EBUSY', ok: false },
    { op: 'READ', expected: 'EBADF', observed: 'ok (ret 0)', ok: false },
    { op: 'prefix', expected: 'EPER', observed: 'EPERM', ok: false },
  ]);
  t.deepEqual(expect.failures, ['BIND again: expected EPERM, got EINVAL', 'OPEN twice: expected ok, got EBUSY', 'READ: expected EBADF, got ok (ret 0)', 'prefix: expected EPER, got EPERM']);
});

test('toBe is identity, toEqual deep equality; each failure names the label, the expected and the actual', (t) => {
  const expect = createExpect();
  t.true(expect(1, 'n').toBe(1));
  t.false(expect({ a: 1 }, 'obj').toBe({ a: 1 }));
  t.true(expect(Number.NaN).toBe(Number.NaN));
  t.false(expect(0).toBe(-0));
  t.true(expect({ a: [1, 2] }).toEqual({ a: [1, 2] }));
  t.false(expect({ a: [1, 2] }, 'list').toEqual({ a: [2, 1] }));
  t.false(expect(1, 'loose').toEqual('1'));
  t.deepEqual(expect.failures, ['obj: expected { a: 1 }, got { a: 1 }', 'value: expected -0, got 0', 'list: expected { a: [ 2, 1 ] }, got { a: [ 1, 2 ] }', "loose: expected '1', got 1"]);
});

test('toMatchObject: every key named must match, nested; extra keys are fine; arrays and values compare whole', (t) => {
  const expect = createExpect();
  t.true(expect({ a: 1, b: { c: 2, d: 3 } }).toMatchObject({ b: { c: 2 } }));
  t.false(expect({ a: 1, b: { c: 2 } }).toMatchObject({ b: { c: 3 } }));
  t.false(expect({ a: 1 }).toMatchObject({ a: 1, missing: 0 }));
  t.false(expect(null).toMatchObject({ a: 1 }));
  t.false(expect(5).toMatchObject({ a: 1 }));
  t.true(expect({ a: [1, 2] }).toMatchObject({ a: [1, 2] }));
  t.false(expect({ a: [1, 2, 3] }).toMatchObject({ a: [1, 2] }));
  t.true(expect({ a: undefined }).toMatchObject({ a: undefined }));
  t.is(expect.failures.length, 5);
  t.regex(expect.failures[0]!, /^value: expected to match \{ b: \{ c: 3 \} \}, got \{ a: 1, b: \{ c: 2 \} \}$/);
});

test('toBeTruthy and toContain: arrays by deep equality, strings by substring', (t) => {
  const expect = createExpect();
  t.true(expect(1).toBeTruthy());
  t.false(expect(0, 'zero').toBeTruthy());
  t.false(expect('').toBeTruthy());
  t.true(expect([{ id: 1 }, { id: 2 }]).toContain({ id: 2 }));
  t.false(expect([{ id: 1 }], 'ids').toContain({ id: 3 }));
  t.true(expect('vfio-pci bound').toContain('pci'));
  t.false(expect('vfio', 'driver').toContain('nvme'));
  t.false(expect([1, 2]).toContain('1'));
  t.deepEqual(expect.failures, ['zero: expected a truthy value, got 0', "value: expected a truthy value, got ''", 'ids: expected to contain { id: 3 }, got [ { id: 1 } ]', "driver: expected to contain 'nvme', got 'vfio'", "value: expected to contain '1', got [ 1, 2 ]"]);
});

test('fail records its message as given; outcome compares words exactly and is an observation', (t) => {
  const expect = createExpect();
  expect.fail('DMA landed outside the IOAS');
  t.true(expect.outcome('selftest a', 'pass', 'pass'));
  t.false(expect.outcome('selftest b', 'pass', 'fail'));
  t.deepEqual(expect.failures, ['DMA landed outside the IOAS', 'selftest b: expected pass, got fail']);
  t.deepEqual(expect.observations, [
    { op: 'selftest a', expected: 'pass', observed: 'pass', ok: true },
    { op: 'selftest b', expected: 'pass', observed: 'fail', ok: false },
  ]);
  // A fresh expect shares nothing with another.
  t.deepEqual(createExpect().failures, []);
});
