/** One node of the supervision tree snapshot, as shown by the inspector. */
export interface TreeNode {
  readonly path: string;
  readonly kind: 'supervisor' | 'worker' | 'actor';
  readonly status: 'starting' | 'running' | 'restarting' | 'stopped';
  /** Restarts since the node was first started. */
  readonly restartCount: number;
  /** Times (ms) of the restarts inside the current intensity window (supervisors). */
  readonly restartWindow: readonly number[];
  readonly mailboxLength: number;
  readonly processed?: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  /** When the node's current incarnation started (ms), while it runs: its uptime is now minus this. */
  readonly startedAt?: number;
  readonly childId?: string;
  readonly restartType?: string;
  readonly strategy?: string;
  readonly children: readonly TreeNode[];
}
