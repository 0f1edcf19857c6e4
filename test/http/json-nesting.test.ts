import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { textNestingExceeds } from '../../src/http/json-body.js';

/** The nesting of a parsed value: 0 for a scalar, 1 + the deepest member for an array or object. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const members = Array.isArray(value) ? value : Object.values(value);
  return 1 + members.reduce<number>((deepest, m) => Math.max(deepest, depthOf(m)), 0);
}

describe('textNestingExceeds: the nesting limit read on the raw text', () => {
  it('agrees with the parsed value on any JSON, strings with quotes and backslashes included', () => {
    const text = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', ' ', 'é', '°') });
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, fc.integer(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 4 }),
      object: fc.dictionary(text, tie('value'), { maxKeys: 4 }),
    })).value;
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 8 }), (value, max) => {
        expect(textNestingExceeds(JSON.stringify(value), max)).toBe(depthOf(value) > max);
      }),
      { numRuns: 2000 },
    );
  });

  it('counts brackets outside strings only, whatever runs of backslashes end a string', () => {
    expect(textNestingExceeds('{"a":"\\\\"}', 1)).toBe(false);
    expect(textNestingExceeds('{"a":"\\\\\\"[[["}', 1)).toBe(false);
    expect(textNestingExceeds('{"a":"\\\\",  "b":[[1]]}', 2)).toBe(true);
    expect(textNestingExceeds('[[[', 2)).toBe(true);
    expect(textNestingExceeds('"unterminated [[[', 0)).toBe(false);
  });
});
