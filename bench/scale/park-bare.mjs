// The peer of bench/scale/park.ts: a bare node:http server that holds every request it gets (no routing,
// no parsing beyond node's own), so that what parked watchers cost Roster can be compared with what the
// same connections cost Node itself. Prints its port on stdout; a request is let go when its socket closes.
import http from 'node:http';

const held = new Set();
const srv = http.createServer((req, res) => { held.add(res); res.on('close', () => held.delete(res)); });
srv.listen(0, '127.0.0.1', () => process.stdout.write(`${srv.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
