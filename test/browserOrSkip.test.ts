/**
 * The decision a browser test makes when Chromium is missing (test/helpers.ts, browserOrSkip): skip
 * with a reason by default, fail under CXR_REQUIRE_CHROMIUM=1 (as .ci/run sets it), run when a browser
 * is given. Checked twice: on the function, and through node:test itself in a child `node --test` run
 * of a probe test file, so that a skip really reports as a skip and a requirement really fails the run.
 * CXR_CHROMIUM=none forces "no browser" whatever is installed; the probe's "browser" is only a path,
 * never started.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { chromiumHint } from '../src/plots/chromium.js';
import { browserOrSkip, tempDir } from './helpers.js';

function recorder(): { skip(message?: string): void; skips: (string | undefined)[] } {
  const skips: (string | undefined)[] = [];
  return { skips, skip: (m) => void skips.push(m) };
}

test('browserOrSkip without a browser: skips with the reason (Chromium, how to install it, CXR_REQUIRE_CHROMIUM)', () => {
  const t = recorder();
  assert.equal(browserOrSkip(t, 'the probe check', { CXR_CHROMIUM: 'none' }), null);
  assert.equal(t.skips.length, 1);
  const reason = t.skips[0]!;
  assert.ok(reason.startsWith('the probe check skipped: CXR_CHROMIUM=none'), reason);
  assert.ok(reason.includes(chromiumHint()), reason);
  assert.match(reason, /CXR_CHROMIUM to a Chrome\/Chromium binary/);
  assert.match(reason, /CXR_REQUIRE_CHROMIUM=1 makes a missing Chromium a failure/);
  // Only CXR_REQUIRE_CHROMIUM=1 turns the skip into a failure.
  for (const v of ['', '0', 'yes']) {
    const u = recorder();
    assert.equal(browserOrSkip(u, 'x', { CXR_CHROMIUM: 'none', CXR_REQUIRE_CHROMIUM: v }), null);
    assert.equal(u.skips.length, 1, `CXR_REQUIRE_CHROMIUM=${v}`);
  }
});

test('browserOrSkip with CXR_REQUIRE_CHROMIUM=1 and no browser: throws, naming the check and the fix, without skipping', () => {
  const t = recorder();
  assert.throws(
    () => browserOrSkip(t, 'the probe check', { CXR_CHROMIUM: 'none', CXR_REQUIRE_CHROMIUM: '1' }),
    (e: Error) =>
      e.message.startsWith(
        'the probe check cannot be tested: CXR_CHROMIUM=none, and CXR_REQUIRE_CHROMIUM=1 requires it',
      ) && e.message.includes(chromiumHint()),
  );
  assert.deepEqual(t.skips, []);
});

test('browserOrSkip with a browser: returns it, neither skipping nor failing, required or not', () => {
  for (const req of ['', '1']) {
    const t = recorder();
    assert.equal(
      browserOrSkip(t, 'x', { CXR_CHROMIUM: '/opt/some/chrome', CXR_REQUIRE_CHROMIUM: req }),
      '/opt/some/chrome',
    );
    assert.deepEqual(t.skips, []);
  }
});

test('browserOrSkip in node:test: a skip is reported as a skip with its reason; CXR_REQUIRE_CHROMIUM=1 fails the run', () => {
  const dir = tempDir();
  const probe = join(dir, 'probe.test.mjs');
  const helpers = pathToFileURL(join(import.meta.dirname, 'helpers.js')).href;
  writeFileSync(
    probe,
    `import { test } from 'node:test';
import { browserOrSkip } from ${JSON.stringify(helpers)};
test('probe', (t) => {
  const browser = browserOrSkip(t, 'the probe check');
  if (!browser) return;
  console.log('# probe ran with ' + browser);
});
`,
  );
  const run = (env: Record<string, string>) => {
    // NODE_TEST_CONTEXT would make the child report to this runner instead of printing TAP.
    const { NODE_TEST_CONTEXT: _, CXR_CHROMIUM: __, CXR_REQUIRE_CHROMIUM: ___, ...base } = process.env;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', probe], {
      env: { ...base, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status, out: r.stdout + r.stderr };
  };

  const skipped = run({ CXR_CHROMIUM: 'none' });
  assert.equal(skipped.status, 0, skipped.out);
  assert.match(skipped.out, /^ok 1 - probe # SKIP the probe check skipped: CXR_CHROMIUM=none \(/m);
  assert.match(skipped.out, /^# pass 0$/m);
  assert.match(skipped.out, /^# skipped 1$/m);
  assert.match(skipped.out, /^# fail 0$/m);

  const required = run({ CXR_CHROMIUM: 'none', CXR_REQUIRE_CHROMIUM: '1' });
  assert.equal(required.status, 1, required.out);
  assert.match(required.out, /^not ok 1 - probe$/m);
  assert.match(
    required.out,
    /the probe check cannot be tested: CXR_CHROMIUM=none, and CXR_REQUIRE_CHROMIUM=1 requires it/,
  );
  assert.match(required.out, /^# skipped 0$/m);
  assert.match(required.out, /^# fail 1$/m);

  const given = run({ CXR_CHROMIUM: '/opt/some/chrome', CXR_REQUIRE_CHROMIUM: '1' });
  assert.equal(given.status, 0, given.out);
  assert.match(given.out, /probe ran with \/opt\/some\/chrome/);
  assert.match(given.out, /^# pass 1$/m);
  assert.match(given.out, /^# skipped 0$/m);
});
