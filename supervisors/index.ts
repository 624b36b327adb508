/** Generic supervision: specs are plain values, the mechanism knows nothing of what children do. */
export { Supervisor, SupervisorStartError, startSupervisor, type ChildInfo, type ChildCounts } from './supervisor.ts';
export {
  type ActorDefinition,
  type AnySupervisorSpec,
  type ChildSpec,
  type DynamicSupervisorSpec,
  type RestartType,
  type Shutdown,
  type Strategy,
  type SupervisorSpec,
  type SupervisorChildSpec,
  type WorkerChildSpec,
  SpecError,
  supervisorDefaults,
  validateSupervisorSpec,
} from './spec.ts';
export { recordRestart, restartsInWindow } from './intensity.ts';
