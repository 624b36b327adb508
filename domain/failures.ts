/**
 * What can go wrong with a request or a message, as recorded in failure events and counted in
 * reports. The store's column has no CHECK, so a new kind needs no table rebuild.
 */
export type FailureKind =
  | 'data_invalid'
  | 'send_failure'
  | 'timeout'
  | 'lease_expired'
  | 'error_result'
  | 'db_error'
  | 'decode_error'
  | 'dead_letter'
  | 'orphan_result'
  | 'duplicate_result'
  | 'replay_failed'
  /** The service's connection dropped while the request was in flight to it: sent again when it returns. */
  | 'service_lost'
  /** Bridge mode: a result could not be handed to the host within its bounds; dead-lettered with the frame. */
  | 'forward_dead'
  /** A socket refused a connection (a CURVE client key not allowed, no CURVE) or was refused. */
  | 'connection_refused';

