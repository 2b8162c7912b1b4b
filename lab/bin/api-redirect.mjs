// Module resolve hook (registered by lab.js for bundled runs): a scenario's import of
// lab/src/api.ts resolves to the bundle's api.mjs, so the scenario and the runner share one copy
// of every module (a second copy would break instanceof and module state between them).
let from;
let to;

export function initialize(data) {
  ({ from, to } = data);
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  return resolved.url === from ? { url: to, format: 'module', shortCircuit: true } : resolved;
}
