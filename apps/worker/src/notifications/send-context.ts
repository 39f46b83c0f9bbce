/** What every send needs besides the channel and the message. */
export interface SendContext {
  /** Loopback ports of Pier's own services: never reached, whoever made the channel. */
  reservedPorts: readonly number[];
  /** Each send's limit, connect to answer. */
  timeoutMs: number;
  /** Certificates trusted besides the system's (tests' receivers; an operator's CA). */
  extraCa?: readonly string[];
}
