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

/** A data source's name, as DataSourceInput.name's `pattern`: 1–32 characters, no spaces. */
export const DATA_SOURCE_NAME = /^\S{1,32}$/;
