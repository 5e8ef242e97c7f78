/** @module Node socket errors worded like Go's net package errors, as Consul's check output shows them. */

/** `dial tcp 127.0.0.1:1: connect: connection refused`, `dial tcp 10.0.0.1:80: i/o timeout`, ... */
export function goError(err: NodeJS.ErrnoException, net: 'tcp' | 'udp', addr: string): string {
  switch (err.code) {
    case 'ECONNREFUSED': return `dial ${net} ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH': return `dial ${net} ${addr}: connect: no route to host`;
    case 'ENETUNREACH': return `dial ${net} ${addr}: connect: network is unreachable`;
    case 'ECONNRESET': return `read ${net} ${addr}: read: connection reset by peer`;
    case 'ETIMEDOUT': case 'ABORT_ERR': return `dial ${net} ${addr}: i/o timeout`;
    case 'ENOTFOUND': case 'EAI_AGAIN': return `dial ${net}: lookup ${addr.replace(/:\d+$/, '')}: no such host`;
    default: return `dial ${net} ${addr}: ${err.message}`;
  }
}
