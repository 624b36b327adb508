/** Errors raised by the kernel; each names the actor path (and correlation id where there is one). */

export class QueryTimeoutError extends Error {
  override readonly name = 'QueryTimeoutError';
  constructor(readonly path: string, readonly correlationId: number, readonly timeoutMs: number) {
    super(`query ${correlationId} to ${path} timed out after ${timeoutMs} ms`);
  }
}

export class ActorStoppedError extends Error {
  override readonly name = 'ActorStoppedError';
  constructor(readonly path: string, detail = 'is stopped') {
    super(`actor ${path} ${detail}`);
  }
}

export class MailboxFullError extends Error {
  override readonly name = 'MailboxFullError';
  constructor(readonly path: string, readonly capacity: number) {
    super(`mailbox of ${path} is full (capacity ${capacity})`);
  }
}

export class ActorStartError extends Error {
  override readonly name = 'ActorStartError';
  constructor(readonly path: string, override readonly cause: unknown) {
    super(`actor ${path} failed to start: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export class SystemStoppedError extends Error {
  override readonly name = 'SystemStoppedError';
  constructor(readonly reason: string) {
    super(`actor system stopped: ${reason}`);
  }
}
