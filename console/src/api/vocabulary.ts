// The values the console offers, each one the server's own: the enums and rules of its
// OpenAPI document (docs/openapi.json). The types come from the generated schema, so a
// value the server does not know does not compile; `satisfies` with `Exhaustive` makes a
// value the server added and the console lacks fail to compile too, and
// vocabulary.test.ts compares every list with the document itself.
import type { components } from './schema';

type Schemas = components['schemas'];

/** `true` only when `List` holds every member of `All`. */
type Exhaustive<All, List extends readonly All[]> = [Exclude<All, List[number]>] extends [never] ? List : never;

const kinds = ['oceanbase', 'mysql', 'mariadb', 'kafka'] as const;
/** Every data source kind, in the order the console offers them. */
export const DATA_SOURCE_KINDS: Exhaustive<Schemas['DataSourceKind'], typeof kinds> = kinds;

const releases = ['0.9', '1.0', '2.x', '3.x', '4.x'] as const;
/** Every Kafka release line a Kafka data source can name. */
export const KAFKA_RELEASES: Exhaustive<Schemas['KafkaRelease'], typeof releases> = releases;

const mechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'GSSAPI'] as const;
/** Every SASL mechanism. */
export const SASL_MECHANISMS: Exhaustive<Schemas['SaslMechanism'], typeof mechanisms> = mechanisms;

const tlsModes = ['disabled', 'preferred', 'required', 'verify_ca', 'verify_identity'] as const;
/** Every TLS mode of a database source (MySQL's --ssl-mode values). */
export const SOURCE_TLS_MODES: Exhaustive<Schemas['SourceTlsMode'], typeof tlsModes> = tlsModes;

/** A data source's name, as DataSourceInput.name's `pattern`: 1–32 characters, no spaces. */
export const DATA_SOURCE_NAME = /^\S{1,32}$/;
