/**
 * Child process of `renderPng` (src/plots/chromium.ts) for a browser driven over the DevTools
 * protocol: argv[2] is a JSON object { browser, url, pngPath, width, height }. It screenshots exactly
 * width×height CSS pixels once the page has loaded, its fonts are ready and two frames have drawn
 * (what `--virtual-time-budget` waits for on the command line).
 */
import puppeteer from 'puppeteer-core';
import { OFFLINE_FLAGS, type Browser } from './chromium.js';

const job = JSON.parse(process.argv[2] ?? '{}') as {
  browser: Browser;
  url: string;
  pngPath: `${string}.png`;
  width: number;
  height: number;
};
const browser = await puppeteer.launch({
  executablePath: job.browser.path,
  headless: 'shell',
  pipe: true,
  env: { ...process.env, ...job.browser.env },
  args: [...OFFLINE_FLAGS],
  timeout: 60_000,
});
try {
  const tab = await browser.newPage();
  await tab.setViewport({ width: job.width, height: job.height });
  await tab.goto(job.url, { waitUntil: 'load', timeout: 60_000 });
  await tab.evaluate(async () => {
    await document.fonts.ready;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  });
  await tab.screenshot({ path: job.pngPath });
} finally {
  await browser.close();
}
