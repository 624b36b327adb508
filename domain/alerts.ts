/**
 * The alert kinds, as data: for each kind its severity, what its deduplication key is made of,
 * what it means and what to do (docs/operations.md repeats the table). The builders below turn the
 * facts of one occurrence into an alert; the notifier (actors/notifier.ts) stores it before it is
 * sent, and an alert of the same kind and key within the deduplication window is counted on the
 * first one instead of being sent again. Pure: no I/O, no clock.
 */

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

export interface AlertKindSpec {
  /** The severity an alert of this kind is raised with unless its builder says otherwise. */
  readonly severity: Severity;
  /** What the deduplication key is made of (the same key within the window is sent once). */
  readonly keyedBy: string;
  readonly meaning: string;
  readonly action: string;
}

export const ALERT_KINDS = {
  gate_rejected: {
    severity: 'critical',
    keyedBy: 'the candle file and the classes of its problems',
    meaning: 'The data gate refused a candle file: an OOS request was blocked and nothing was sent.',
    action: 'Fix or regenerate the file named in the alert (the problems list the first lines); the rank evaluator asks again after oosRetryMs.',
  },
  dead_letters: {
    severity: 'warning',
    keyedBy: 'the threshold crossed',
    meaning: 'More dead letters wait for a decision than alerts.deadLetterThreshold.',
    action: '`shoal dead-letters` lists them with their errors; replay them once the cause is fixed (`shoal replay`), or discard them.',
  },
  supervisor_gave_up: {
    severity: 'critical',
    keyedBy: 'the supervisor path',
    meaning: 'A supervisor exceeded its restart intensity and stopped its children; messages to them become dead letters.',
    action: 'Read the error in the alert and the restart lines of the log; fix the cause. At the root the service exits 1 and the service manager restarts it.',
  },
  store_unwritable: {
    severity: 'critical',
    keyedBy: 'the store error class (full or readonly)',
    meaning: 'A write to the database failed because the disk (or max_page_count) is full or the database is read-only; nothing of that batch was committed.',
    action: 'Free disk space, or fix the permissions or mount of the database directory; the writer retries the batch once the store takes writes again.',
  },
  service_silent: {
    severity: 'critical',
    keyedBy: 'the request endpoint',
    meaning: 'Requests are waiting (pending or in flight) but the backtest service has sent no result for alerts.serviceSilentMinutes.',
    action: 'Check that the backtest service runs and reaches the result socket; the requests are retried when their leases run out.',
  },
  daily_summary: {
    severity: 'info',
    keyedBy: 'the UTC day',
    meaning: "The previous UTC day's figures (warning when requests died, failures or restarts happened).",
    action: 'Nothing, unless the figures say otherwise.',
  },
  daily_summary_failed: {
    severity: 'warning',
    keyedBy: 'its title (one such alert per window)',
    meaning: "The daily summary could not be computed or recorded.",
    action: 'Read the error; the reporter tries again at the next day boundary and reports the missed days then.',
  },
} as const satisfies Record<string, AlertKindSpec>;

export type AlertKind = keyof typeof ALERT_KINDS;
export const ALERT_KIND_NAMES = Object.keys(ALERT_KINDS) as AlertKind[];

export interface AlertField {
  readonly name: string;
  readonly value: string;
}

/** One occurrence, as raised (before it has an id or a time). */
export interface AlertInput {
  readonly kind: AlertKind;
  readonly key: string;
  readonly severity: Severity;
  readonly title: string;
  readonly body: string;
  readonly fields?: readonly AlertField[];
}

/** An alert as stored and sent: its id is the idempotency id receivers dedup on. */
export interface Alert extends AlertInput {
  readonly id: string;
  /** Unix ms. */
  readonly createdAt: number;
}

export function isAlertKind(v: unknown): v is AlertKind {
  return typeof v === 'string' && Object.hasOwn(ALERT_KINDS, v);
}

/** An alert of `kind` with the table's severity unless one is given. */
export function alertOf(kind: AlertKind, key: string, text: { title: string; body: string; fields?: readonly AlertField[]; severity?: Severity }): AlertInput {
  return { kind, key, severity: text.severity ?? ALERT_KINDS[kind].severity, title: text.title, body: text.body, ...(text.fields ? { fields: text.fields } : {}) };
}

// ---- the sources' facts -> alerts ------------------------------------------------------------

export function deadLettersAlert(waiting: number, threshold: number): AlertInput | undefined {
  if (waiting <= threshold) return undefined;
  return alertOf('dead_letters', `over ${threshold}`, {
    title: `${waiting} dead letters wait for a decision`,
    body: `More than ${threshold} dead letters are in state dead.`,
    fields: [
      { name: 'dead letters', value: String(waiting) },
      { name: 'threshold', value: String(threshold) },
    ],
  });
}

export function supervisorGaveUpAlert(path: string, reason: string | undefined): AlertInput {
  return alertOf('supervisor_gave_up', path, { title: `supervisor ${path} gave up`, body: reason ?? 'restart intensity exceeded', fields: [{ name: 'path', value: path }] });
}

/** The store error classes that mean the database cannot take writes, with what they are called. */
export const UNWRITABLE_STORE_CODES: Readonly<Record<string, string>> = { full: 'the disk is full', readonly: 'the database is read-only' };

export function storeUnwritableAlert(code: string, error: string): AlertInput | undefined {
  const what = UNWRITABLE_STORE_CODES[code];
  if (what === undefined) return undefined;
  return alertOf('store_unwritable', code, { title: `database write failed: ${what}`, body: error, fields: [{ name: 'error class', value: code }] });
}

export interface ServiceActivity {
  readonly now: number;
  /** Requests in flight. */
  readonly inFlight: number;
  /** When the oldest live (pending or in-flight) request was enqueued; undefined when none is live. */
  readonly oldestLiveSince: number | undefined;
  /** When the last result (of any kind) arrived, Unix ms, or when the watch began if none has since. */
  readonly lastResultAt: number;
}

/**
 * Silent: requests are live, and for `silentMs` neither a result arrived nor was the oldest live
 * request younger (a request just enqueued is not silence yet). Leases that run out send requests
 * again, so send times say nothing about the service: only results do.
 */
export function serviceSilentAlert(a: ServiceActivity, silentMs: number, endpoint: string): AlertInput | undefined {
  if (a.oldestLiveSince === undefined) return undefined;
  const since = Math.max(a.lastResultAt, a.oldestLiveSince);
  if (a.now - since < silentMs) return undefined;
  const minutes = Math.floor((a.now - since) / 60_000);
  return alertOf('service_silent', endpoint, {
    title: `backtest service silent for ${minutes} min`,
    body: `Requests are waiting (${a.inFlight} in flight) and no result has arrived since ${new Date(since).toISOString()}.`,
    fields: [
      { name: 'in flight', value: String(a.inFlight) },
      { name: 'endpoint', value: endpoint },
    ],
  });
}
