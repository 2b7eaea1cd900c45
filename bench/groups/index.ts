/** The bench groups, in the order they run by default. Add new benchmarks here. */
import type { BenchGroup } from '../lib/types.js';
import { createGroup } from './create.js';
import { swarmGroup } from './swarm.js';
import { verifyGroup } from './verify.js';

export const GROUPS: readonly BenchGroup[] = [createGroup, verifyGroup, swarmGroup];
