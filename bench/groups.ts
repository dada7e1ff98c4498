/** Every bench group, in the order `npm run bench` runs them. Add new groups here. */
import { convBench } from './conv.js';
import type { BenchGroup } from './registry.js';
import { resnetBench } from './resnet.js';

export const BENCH_GROUPS: BenchGroup[] = [convBench, resnetBench];
