/** `75` → `1m15s`, `12` → `12s`, for progress lines and ETAs. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}
