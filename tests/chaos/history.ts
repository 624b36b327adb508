/**
 * The chaos suite's history: what the driver asked for and what it saw, per request, as a
 * Jepsen-style record the checker judges afterwards together with the store. Pure data.
 */

/** One request of the workload, as the driver plans it. */
export interface WorkItem {
  readonly requestId: string;
  readonly strategy: string;
  readonly traceparent: string;
  /** The stand-in service fails every attempt of a poison request. */
  readonly poison: boolean;
}

export type ServiceAnswer = 'ok' | 'error' | 'twice' | 'late' | 'garbage' | 'hang' | 'lost';

export interface RequestHistory {
  readonly item: WorkItem;
  /** When the host was told the request is durable ("enqueued" or "exists"); undefined if never. */
  acceptedAt?: number;
  /** Every frame for this request the service took off its socket: when, and the traceparent it carried. */
  readonly sends: { at: number; traceparent?: string }[];
  /** What the service did with each of them. */
  readonly answers: { at: number; answer: ServiceAnswer }[];
}

export class History {
  readonly requests = new Map<string, RequestHistory>();
  readonly faults: { cycle: number; at: number; fault: string; detail: string }[] = [];

  plan(item: WorkItem): void {
    if (!this.requests.has(item.requestId)) this.requests.set(item.requestId, { item, sends: [], answers: [] });
  }

  accepted(requestId: string, at: number): void {
    const r = this.requests.get(requestId);
    if (r && r.acceptedAt === undefined) r.acceptedAt = at;
  }

  sent(requestId: string, at: number, traceparent: string | undefined): void {
    this.requests.get(requestId)?.sends.push({ at, traceparent });
  }

  answered(requestId: string, at: number, answer: ServiceAnswer): void {
    this.requests.get(requestId)?.answers.push({ at, answer });
  }

  fault(cycle: number, at: number, fault: string, detail: string): void {
    this.faults.push({ cycle, at, fault, detail });
  }
}
