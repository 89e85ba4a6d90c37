/**
 * Version of the host↔worker protocol. A host and a worker of different protocol versions
 * refuse each other at the handshake. Bump on any incompatible change to a message.
 */
export const PROTOCOL_VERSION = 5;

/** Version of the airlock packages (kept in step across protocol, worker and host). */
export const AIRLOCK_VERSION = '0.1.0';
