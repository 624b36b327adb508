/** The faults both modes end cycles with: SIGKILLs of the runtime at chosen points, and the service crashing. */
export const SHARED_FAULTS = ['kill-after-enqueue', 'kill-after-send', 'kill-after-result', 'kill-anytime', 'kill-during-replay', 'service-crash'] as const;
