/**
 * @module TCP check runner, as Consul's CheckTCP: a connect that succeeds is passing
 * (`TCP connect <addr>: Success`), an error or timeout is critical with Go's error text.
 */
import { connect } from 'node:net';
import type { CheckDefinition } from '../../catalog/model.ts';
import type { RunResult } from '../types.ts';
import { goError } from './errors.ts';
import { splitHostPort } from './addr.ts';

/** Runs one TCP probe (connect, then close). */
export function runTcp(def: CheckDefinition, signal: AbortSignal): Promise<RunResult> {
  const addr = def.TCP ?? '';
  return new Promise<RunResult>(resolve => {
    const hp = splitHostPort(addr);
    if (!hp) { resolve({ status: 'critical', output: `dial tcp ${addr}: address ${addr}: missing port in address` }); return; }
    let done = false;
    const sock = connect({ host: hp.host, port: hp.port });
    const finish = (r: RunResult) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(r);
    };
    const onAbort = () => finish({ status: 'critical', output: `dial tcp ${addr}: i/o timeout` });
    if (signal.aborted) { onAbort(); return; }
    signal.addEventListener('abort', onAbort);
    sock.once('connect', () => finish({ status: 'passing', output: `TCP connect ${addr}: Success` }));
    sock.once('error', err => finish({ status: 'critical', output: goError(err as NodeJS.ErrnoException, 'tcp', addr) }));
  });
}
