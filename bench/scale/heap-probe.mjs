// Loaded into the agent by bench/scale (NODE_OPTIONS=--import): on SIGUSR2, collect garbage and write
// process.memoryUsage() to $ROSTER_HEAP_PROBE. Touches nothing else.
import { writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const out = process.env.ROSTER_HEAP_PROBE;
if (out) process.on('SIGUSR2', () => { gc(); writeFileSync(out, JSON.stringify(process.memoryUsage())); });
