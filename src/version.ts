/** @module The Roster version, reported where Consul reports its own. */
export const VERSION = '0.1.0';
