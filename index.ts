/**
 * shoal: a fault-tolerant actor runtime with OTP-style supervision, and on it the durable OOS
 * validation flow of the trading host. This is the package's one public entry for a host: the
 * facade and the types it takes and gives. The reusable kernel is `shoal/runtime` and
 * `shoal/supervisors`; everything else is internal.
 */
export { Shoal, type EnqueueOptions, type ShoalOptions } from './app/shoal.ts';
export { oosConfig, type OosConfig, type OosConfigInput } from './app/config.ts';
export type { TelemetryOptions } from './app/telemetry.ts';
export type { EnqueueResult, OosResult, RequestOutcome, ShoalEvent, ShoalEventType, ShoalStatus, Strategy } from './app/api.ts';
export type { OosRequestInput, RequestState } from './domain/request.ts';
export type { Rank } from './domain/ranks.ts';
