// The REST API's shapes. What the server returns comes from its OpenAPI document
// (docs/openapi.json → schema.d.ts by `npm run gen:api`); what the console builds itself
// (the wizard's spec) is typed more narrowly here and checked to fit the server's input.
import type { components } from './schema';

type Schemas = components['schemas'];

export type DataSourceKind = Schemas['DataSourceKind'];
export type SourceKind = Exclude<DataSourceKind, 'kafka'>;
export type KafkaVersion = Schemas['KafkaRelease'];
export type SaslMechanism = Schemas['SaslMechanism'];

/** An error answer; the console makes some itself (network failures), so advice may be absent. */
export type ApiErrorBody = Pick<Schemas['ErrorBody'], 'code' | 'message'> & { params?: Record<string, string>; advice?: string | null; field?: string | null; details?: FieldProblem[]; rule?: Schemas['RuleText'] | null };

/** One more problem of a request, on its field. */
export type FieldProblem = Schemas['FieldProblem'];

export interface List<T> {
  items: T[];
  total: number;
}

export type ErrorInfo = Schemas['ErrorInfo'];

export type ProjectRef = Schemas['ProjectRef'];

export type DataSource = Schemas['DataSource'];

/** Create/update body: like DataSource with write-only secrets in place of the *_set flags. */
/** Create/update body: write-only secrets in place of the *_set flags. */
export type DataSourceBody = Schemas['DataSourceInput'];

/** How connections to a database source use TLS (MySQL's --ssl-mode values). */
export type SourceTlsMode = Schemas['SourceTlsMode'];

export type TestResult = Schemas['TestResult'];

export type DatabaseInfo = Schemas['NameItem'];
export type TableInfo = Schemas['TableItem'];
export type ColumnInfo = Schemas['ColumnItem'];
export type TopicInfo = Schemas['TopicItem'];

export type Tag = Schemas['Tag'];

export type Role = Schemas['Role'];
export type Me = Schemas['Me'];
export type User = Schemas['User'];
export type ApiToken = Schemas['ApiToken'];

/** A sync type asks for the stage of the same name. */
export type SyncType = Stage;
export type Format =
  | 'Default'
  | 'Canal'
  | 'DataWorks'
  | 'SharePlex'
  | 'DefaultExtendColumnType'
  | 'Debezium'
  | 'DebeziumFlattened'
  | 'Maxwell'
  | 'DebeziumAvro';
export type DebeziumOptions = Schemas['DebeziumSpec'];

/** `[sync.format_options]`: each key belongs to one format; absent = the format's default. */
export type FormatOptions = Schemas['FormatOptionsSpec'];
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
    debezium?: DebeziumOptions | null;
    format_options?: FormatOptions | null;
    start_time: number | null;
  };
  objects: ObjectMapping[];
}

export type ProjectState = Schemas['ProjectState'];
export type ProjectAction = Schemas['Action'];
export type Stage = Schemas['Stage'];
export type OmsStatus = Schemas['OmsStatus'];

export type Project = Schemas['Project'];

export type PrecheckItem = Omit<Schemas['PrecheckItem'], 'status'> & { status: 'pass' | 'fail' | 'warn' | 'not_checked' };
export type Precheck = Omit<Schemas['Precheck'], 'items'> & { items: PrecheckItem[] };

export type TableProgress = Schemas['TableProgress'];
export type Progress = Schemas['Progress'];
export type TableCounts = Schemas['TableCounts'];
export type StageTimes = Schemas['StageTimes'];
export type Verify = Omit<Schemas['Verify'], 'state'> & { state: 'none' | 'running' | 'finished' | 'failed' };
export type VerifyTable = Schemas['VerifyTable'];
export type VerifyKeys = Schemas['VerifyKeys'];

export type MetricPoint = Schemas['MetricPoint'];

export type ProjectEvent = Schemas['Event'];

export type PreviewRecord = Schemas['PreviewRecord'];

/** Compile-time check that the wizard's narrower spec is what the server accepts. */
type Fits<T extends U, U> = T;
export type SpecFitsServer = Fits<ProjectSpec, Schemas['ProjectSpec']>;

export type TopicMessages = Schemas['TopicMessages'];
export type TopicMessage = Schemas['TopicMessage'];

export type ClusterView = Schemas['ClusterView'];
