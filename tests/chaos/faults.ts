/** The faults both modes end cycles with: SIGKILLs of the runtime at chosen points (inside a commit: commit-kill.ts), and the service's process SIGKILLed (chaos-service.ts). */
export const SHARED_FAULTS = ['kill-after-enqueue', 'kill-after-send', 'kill-after-result', 'kill-anytime', 'kill-during-replay', 'kill-inside-commit', 'service-crash'] as const;
