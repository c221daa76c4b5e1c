// The REST API's shapes (docs/api-contract.md). Kept by hand until the server's generated
// docs/openapi.json is on main; then these become aliases of the generated schema.

export type SourceKind = 'oceanbase' | 'mysql' | 'mariadb';
export type DataSourceKind = SourceKind | 'kafka';
export type KafkaVersion = '0.9' | '1.0' | '2.x' | '3.x';
export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'GSSAPI';

export interface ApiErrorBody {
  code: string;
  message: string;
  advice?: string | null;
  field?: string | null;
}

export interface List<T> {
  items: T[];
  total: number;
}

/** An error with its cause chain, outermost first. */
export interface ErrorInfo {
  message: string;
  chain: string[];
}

export interface ProjectRef {
  id: string;
  name: string;
}

export interface DataSource {
  id: string;
  name: string;
  kind: DataSourceKind;
  description: string;
  source?: { host: string; port: number; user: string; password_set: boolean } | null;
  kafka?: {
    bootstrap_servers: string;
    version: KafkaVersion;
    sasl?: {
      mechanism: SaslMechanism;
      username?: string | null;
      password_set: boolean;
      kerberos_service_name?: string | null;
      kerberos_principal?: string | null;
      kerberos_keytab?: string | null;
    } | null;
    tls?: {
      enabled: boolean;
      verify_hostname: boolean;
      ca_set: boolean;
      client_cert_set: boolean;
      client_key_set: boolean;
    } | null;
  } | null;
  used_by: ProjectRef[];
  created_at: string;
  updated_at: string;
}

/** Create/update body: like DataSource with write-only secrets in place of the *_set flags. */
export interface DataSourceBody {
  name: string;
  kind: DataSourceKind;
  description: string;
  source?: { host: string; port: number; user: string; password?: string } | null;
  kafka?: {
    bootstrap_servers: string;
    version: KafkaVersion;
    sasl?: {
      mechanism: SaslMechanism;
      username?: string | null;
      password?: string;
      kerberos_service_name?: string | null;
      kerberos_principal?: string | null;
      kerberos_keytab?: string | null;
    } | null;
    tls?: {
      enabled: boolean;
      verify_hostname: boolean;
      ca_pem?: string;
      client_cert_pem?: string;
      client_key_pem?: string;
    } | null;
  } | null;
}

export interface TestResult {
  ok: boolean;
  summary: string;
  details?: Record<string, unknown> | null;
  error?: ApiErrorBody | null;
}

export interface DatabaseInfo {
  name: string;
}
export interface TableInfo {
  name: string;
  has_primary_key: boolean;
  rows_estimate?: number | null;
  invalid_reason?: string | null;
}
export interface ColumnInfo {
  name: string;
  type: string;
  primary_key: boolean;
  invalid_reason?: string | null;
}
export interface TopicInfo {
  name: string;
  partitions: number;
}

export interface Tag {
  id: string;
  name: string;
}

export type SyncType = 'schema' | 'full' | 'incremental';
export type Format = 'Default' | 'Canal' | 'DataWorks' | 'SharePlex' | 'DefaultExtendColumnType';
export type PartitionRule = 'hash' | 'one';

export interface ObjectMapping {
  tables: string[];
  topic?: string | null;
  topic_rule?: 'batch' | null;
  exclude?: string[];
  shard_columns?: Record<string, string[]>;
}

export interface ProjectSpec {
  name: string;
  tag_ids: string[];
  source_id: string;
  target_id: string;
  sync: {
    types: SyncType[];
    format: Format;
    partition_rule: PartitionRule;
    tx_sequence: boolean;
    start_time: number | null;
  };
  objects: ObjectMapping[];
}

export type ProjectState =
  | 'not_started'
  | 'prechecking'
  | 'precheck_failed'
  | 'running'
  | 'paused'
  | 'failed'
  | 'finished'
  | 'releasing'
  | 'released';

export type ProjectAction = 'start' | 'pause' | 'resume' | 'release' | 'clone' | 'delete' | 'precheck';

export interface Project {
  id: string;
  spec: ProjectSpec;
  tags: Tag[];
  state: ProjectState;
  oms_status: string;
  stage?: SyncType | null;
  source: { id: string; name: string; kind: string };
  target: { id: string; name: string };
  lag_seconds?: number | null;
  last_error?: ErrorInfo | null;
  created_by?: string;
  created_at: string;
  updated_at: string;
  allowed_actions: string[];
}

export interface PrecheckItem {
  name: string;
  status: 'pass' | 'fail' | 'warn' | 'not_checked';
  message: string;
  fix?: string | null;
}
export interface Precheck {
  passed: boolean;
  checked_at?: string | null;
  /** Whether it checked the project's current spec (start needs a passed, current one). */
  current?: boolean;
  items: PrecheckItem[];
}

export interface TableProgress {
  table: string;
  rows_done: number;
  rows_estimated?: number | null;
  rows_per_sec?: number | null;
  done: boolean;
}
export interface Progress {
  state: ProjectState;
  stage?: SyncType | null;
  acked_messages: number;
  last_error?: ErrorInfo | null;
  schema?: { topics: string[] } | null;
  full?: { tables: TableProgress[]; rows_per_sec?: number | null } | null;
  incremental?: {
    checkpoint_time?: string | null;
    position?: { file?: string | null; pos?: number | null; gtid?: string | null } | null;
    lag_seconds?: number | null;
    rows_per_sec?: number | null;
  } | null;
  notices: string[];
}

export interface MetricPoint {
  t: string | number;
  lag_seconds?: number | null;
  rows_per_sec?: number | null;
  acked_messages?: number | null;
}

export interface ProjectEvent {
  id: string | number;
  at: string;
  kind: 'state' | 'audit' | 'error' | 'notice';
  actor?: string | null;
  message: string;
  chain?: string[];
}

export interface PreviewRecord {
  topic: string;
  partition: number;
  key?: string | null;
  value?: string | null;
}
