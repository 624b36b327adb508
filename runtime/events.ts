/** A tiny synchronous event stream: subscribers are called in order; a throwing subscriber is isolated and counted. */
export class EventStream<E> {
  private readonly subscribers = new Set<(event: E) => void>();
  subscriberErrors = 0;

  /** Whether anyone listens (lets hot paths skip building events nobody reads). */
  get hasSubscribers(): boolean {
    return this.subscribers.size > 0;
  }

  subscribe(fn: (event: E) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  emit(event: E): void {
    for (const fn of this.subscribers) {
      try {
        fn(event);
      } catch {
        this.subscriberErrors++;
      }
    }
  }
}

/** Lifecycle events of actors and supervisors; persisted and exported by later layers. */
export interface SystemEvent {
  readonly type:
    | 'actor_started'
    | 'actor_crashed'
    | 'actor_restarted'
    | 'actor_stopped'
    | 'restart_scheduled'
    | 'start_failed'
    | 'child_killed'
    | 'poison_message'
    | 'give_up'
    | 'escalated'
    | 'supervisor_started'
    | 'supervisor_stopped'
    | 'system_stopped';
  readonly at: number;
  /** Path of the actor or supervisor the event is about. */
  readonly path: string;
  /** Path of the supervising node, when there is one. */
  readonly supervisor?: string;
  readonly childId?: string;
  readonly reason?: string;
  readonly error?: string;
  readonly delayMs?: number;
  readonly restartCount?: number;
}
