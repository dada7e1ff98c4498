/**
 * The decision a browser test makes when Chromium is missing (test/helpers.ts, browserOrFail): it
 * fails, naming the check and the fix, rather than skipping (the project allows no skipped tests);
 * with a browser it returns it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromiumHint } from '../src/plots/chromium.js';
import { browserOrFail } from './helpers.js';

test('browserOrFail without a browser: throws, naming the check, Chromium and how to install it', () => {
  assert.throws(
    () => browserOrFail('the probe check', { CXR_CHROMIUM: 'none' }),
    (e: Error) => e.message === `the probe check cannot be tested: CXR_CHROMIUM=none (${chromiumHint()})`,
  );
});

test('browserOrFail with a browser: returns it', () => {
  assert.deepEqual(browserOrFail('x', { CXR_CHROMIUM: '/opt/some/chrome' }), {
    path: '/opt/some/chrome',
    origin: 'configured',
    env: {},
  });
});
