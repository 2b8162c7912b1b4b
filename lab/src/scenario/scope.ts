// The lifetime of a scenario's context. A body cut off by its deadline keeps running (a promise
// cannot be cancelled from outside), and whatever it did next used to reach the result that was
// already judged: a step 30 s later appeared in a final report. Once the scope is closed, every
// call the body makes through its context (vm, probe, step, expect, attach, expectFault) throws
// instead, so nothing of it reaches the result or the guest.

export class ScopeClosedError extends Error {
  constructor(what: string, reason: string) {
    super(`${what} after the scenario ended (${reason}): refused`);
    this.name = 'ScopeClosedError';
  }
}

export class Scope {
  private reason: string | undefined;

  /** Ends the scope; the first reason is kept. */
  close(reason: string): void {
    this.reason ??= reason;
  }

  get closed(): boolean {
    return this.reason !== undefined;
  }

  /** Throws if the scope has ended. */
  check(what: string): void {
    if (this.reason !== undefined) throw new ScopeClosedError(what, this.reason);
  }

  /**
   * The object with every method (and, for a function, every call) refused once the scope has
   * ended. Methods run on the object itself, so private state and `this` work as before; plain
   * properties read through unchanged (reading them changes nothing).
   */
  guard<T extends object>(target: T, what: string): T {
    return new Proxy(target, {
      get: (t, prop) => {
        const value: unknown = Reflect.get(t, prop, t);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          this.check(`${what}.${String(prop)}()`);
          return (value as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
      apply: (t, self, args) => {
        this.check(`${what}()`);
        return Reflect.apply(t as (...a: unknown[]) => unknown, self, args);
      },
    });
  }
}
