/**
 * The browser's stand-in for src/backend/native.ts (the OpenBLAS addon loader): a page has no
 * N-API addon, so every caller takes its plain TensorFlow.js path. The web build substitutes this
 * file for that one; nothing else differs from the library.
 */
export type NativeAddon = never;
export const ADDON_PATH = '';
export function loadNative(): { addon: NativeAddon | null; reason: string } {
  return { addon: null, reason: 'no native addon in a browser' };
}
export type Geom = Int32Array;
export function systemMemoryBytes(): number {
  return 0;
}
