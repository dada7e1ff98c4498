/**
 * Inline display in the tslab kernel. `src/` never imports tslab at module load (its `display`
 * throws outside a kernel), so it is required lazily and only when a kernel is writing output.
 */
import { createRequire } from 'node:module';

type WriteDisplayData = (
  msg: {
    data: Record<string, string>;
    metadata: Record<string, unknown>;
    transient: Record<string, unknown>;
  },
  update: boolean,
) => void;

const require = createRequire(import.meta.url);

function kernelWriter(): WriteDisplayData | null {
  try {
    // tslab keeps the current cell's output channel in its jupyter module; the kernel and this
    // require share one module instance (same file, same require cache).
    const jupyter = require('tslab/dist/jupyter.js') as { lastWriteDisplayData?: WriteDisplayData | null };
    return jupyter.lastWriteDisplayData ?? null;
  } catch {
    return null;
  }
}

/** True when running inside a tslab kernel that can show rich output. */
export function inKernel(): boolean {
  return kernelWriter() !== null;
}

/**
 * Shows one output with several representations (e.g. text/html + image/png + text/plain); the
 * front end picks the richest it can render. Returns false outside a kernel.
 */
export function displayBundle(data: Record<string, string>): boolean {
  const write = kernelWriter();
  if (!write) return false;
  write({ data, metadata: {}, transient: {} }, false);
  return true;
}
