// The server's vocabulary as lists the console can iterate (filters, dictionaries, form
// options). The types come from the OpenAPI document (schema.d.ts); the compiler checks that
// each list names every member, so a value the server adds fails the build until the console
// knows it, and vocabulary.test.ts compares the lists with the document itself.
import type { DataSourceKind, KafkaVersion, ProjectState, SaslMechanism, SourceTlsMode, Stage } from './types';

type Missing<T, L extends readonly T[]> = Exclude<T, L[number]>;

/** `list`, which must name every member of `T`. */
function every<T>() {
  return <const L extends readonly T[]>(list: L & ([Missing<T, L>] extends [never] ? unknown : { missing: Missing<T, L> })): L => list;
}

/** Every project state, in the order of a project's life. */
export const STATES = every<ProjectState>()(['not_started', 'prechecking', 'precheck_failed', 'running', 'paused', 'failed', 'finished', 'releasing', 'released']);

/** Every stage, in the order a run goes through them (also the sync types that ask for them). */
export const STAGES = every<Stage>()(['schema', 'full', 'incremental']);

/** Every data source kind, in the order the console offers them. */
export const DATA_SOURCE_KINDS = every<DataSourceKind>()(['oceanbase', 'mysql', 'mariadb', 'kafka']);

/** Every Kafka release line a Kafka data source can name. */
export const KAFKA_RELEASES = every<KafkaVersion>()(['0.9', '1.0', '2.x', '3.x', '4.x']);

/** Every SASL mechanism. */
export const SASL_MECHANISMS = every<SaslMechanism>()(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'GSSAPI']);

/** Every TLS mode of a database source (MySQL's --ssl-mode values). */
export const SOURCE_TLS_MODES = every<SourceTlsMode>()(['disabled', 'preferred', 'required', 'verify_ca', 'verify_identity']);

/**
 * How a state moves, for polling: `transitional` states change within seconds (polled
 * fast), `live` ones change on their own over time (a running project's lag and counts:
 * polled steadily), `settled` ones change only when someone acts (polled slowly, in case
 * another user does). A Record, so a state the server adds fails the build until it is
 * placed here.
 */
export const STATE_PACE: Record<ProjectState, 'transitional' | 'live' | 'settled'> = {
  not_started: 'settled',
  prechecking: 'transitional',
  precheck_failed: 'settled',
  running: 'live',
  paused: 'settled',
  failed: 'settled',
  finished: 'settled',
  releasing: 'transitional',
  released: 'settled',
};

/** Milliseconds between polls at each pace. */
export const POLL_MS = { transitional: 1000, live: 3000, settled: 30_000 } as const;

/**
 * How often to poll what shows projects in these states (and stages): the fastest pace of
 * any of them. A running project's schema and full stages move toward the next stage, so
 * they count as transitional; nothing shown (still loading) polls as transitional too.
 */
export function pollInterval(projects: readonly { state: ProjectState; stage?: Stage | null }[] | undefined): number {
  if (projects === undefined) return POLL_MS.transitional;
  let ms: number = POLL_MS.settled;
  for (const p of projects) {
    const pace = p.state === 'running' && p.stage && p.stage !== 'incremental' ? 'transitional' : STATE_PACE[p.state];
    ms = Math.min(ms, POLL_MS[pace]);
  }
  return ms;
}
