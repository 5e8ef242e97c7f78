/** Test helpers for waiting on real processes. */

import { waitFor } from '../../test/helpers/wait.ts';

export { sleep } from '../../test/helpers/wait.ts';

/** Polls fn until it returns a truthy value (errors count as "not yet"); throws after timeoutMs (test/helpers/wait.ts). */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  return (await waitFor(fn, timeoutMs, { what })) as T;
}
