import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { labelDistribution } from '../../src/data/audit.js';
import { labelDistributionFigure } from '../../src/plots/dataAudit.js';
import type { Figure } from '../../src/plots/figure.js';
import { figureHtml, plotSnippet } from '../../src/plots/html.js';
import { saveFigure, show } from '../../src/plots/show.js';
import { browserOrFail, tempDir } from '../helpers.js';

const fig: Figure = {
  data: [{ type: 'bar', x: ['alpha', 'beta'], y: [31415, 27182] }],
  layout: { title: { text: 'test figure' } },
};

/** Width and height from a PNG's IHDR chunk (bytes 16–23, big-endian). */
function pngSize(bytes: Buffer): { width: number; height: number } {
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  assert.equal(bytes.subarray(12, 16).toString('ascii'), 'IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

test('the HTML is self-contained: plotly inlined, no external script, the data inside', () => {
  const html = figureHtml(fig, 'fig_test', { width: 640, height: 400 });
  assert.ok(html.includes('31415') && html.includes('alpha'));
  assert.ok(!/<script[^>]+src=/.test(html), 'no <script src=...>');
  assert.ok(html.length > 1_000_000, 'the plotly bundle is inlined');
  assert.ok(html.includes('"width":640'));
});

test('embedded JSON cannot close the script element', () => {
  const evil: Figure = { data: [{ type: 'bar', x: ['</script><b>x'], y: [1] }], layout: {} };
  const s = plotSnippet(evil, 'id', { width: 10, height: 10 });
  assert.ok(!s.includes('</script><b>'));
});

test('output is deterministic: the same figure gives the same bytes', () => {
  assert.equal(figureHtml(fig, 'a', { width: 5, height: 5 }), figureHtml(fig, 'a', { width: 5, height: 5 }));
});

test('saveFigure without a browser (CXR_CHROMIUM=none) writes the HTML only', () => {
  const dir = tempDir();
  const saved = saveFigure(fig, 'fig_html', { dir, width: 640, height: 400, png: true, chromium: 'none' });
  assert.ok(readFileSync(saved.html, 'utf8').includes('27182'));
  assert.equal(saved.png, null);
  assert.deepEqual(readdirSync(dir), ['fig_html.html']);
});

test('saveFigure with a browser writes HTML and a PNG of the requested size', () => {
  // The browser saveFigure finds by itself (the same finder): a system one, else the registry one.
  const chromium = process.env.CXR_CHROMIUM ?? '';
  browserOrFail('PNG figures (saveFigure through headless Chromium)');
  const dir = tempDir();
  const saved = saveFigure(fig, 'fig_test', { dir, width: 640, height: 400, png: true, chromium });
  assert.ok(readFileSync(saved.html, 'utf8').includes('27182'));
  assert.ok(saved.png && existsSync(saved.png));
  assert.deepEqual(pngSize(readFileSync(saved.png)), { width: 640, height: 400 });
  // No temporary or static twin files are left behind.
  assert.deepEqual(readdirSync(dir).sort(), ['fig_test.html', 'fig_test.png']);
});

test('PNGs can be switched off; bad names are rejected', () => {
  const dir = tempDir();
  assert.equal(
    saveFigure(fig, 'nopng', { dir, width: 300, height: 200, png: false, chromium: '' }).png,
    null,
  );
  assert.throws(
    () => saveFigure(fig, '../escape', { dir, width: 300, height: 200, png: false, chromium: '' }),
    /plain file name/,
  );
});

test('show outside a kernel writes the files and does not throw', () => {
  const dir = tempDir();
  const saved = show(fig, 'shown', { dir, width: 300, height: 200, png: false, chromium: '' });
  assert.ok(existsSync(saved.html));
});

test('Fig. 1 builder: bars in count order, with the real-set reference trace', () => {
  const records = [
    { labels: ['Effusion', 'Mass'] },
    { labels: ['Effusion'] },
    { labels: ['No Finding'] },
  ].map((r, i) => ({
    imageIndex: `${i}.png`,
    followUp: 0,
    patientId: String(i),
    age: 50,
    gender: 'M' as const,
    view: 'PA' as const,
    originalWidth: 1,
    originalHeight: 1,
    pixelSpacingX: 1,
    pixelSpacingY: 1,
    labels: r.labels as never,
  }));
  const f = labelDistributionFigure(labelDistribution(records));
  const bars = f.data[0] as { x: string[]; y: number[] };
  assert.deepEqual(bars.x.slice(0, 3), ['Effusion', 'Mass', 'No Finding']);
  assert.deepEqual(bars.y.slice(0, 3), [2, 1, 1]);
  assert.equal(bars.x.length, 15);
  assert.equal(f.data.length, 2);
});
