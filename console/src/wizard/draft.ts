// The wizard's draft: what it collects, and how it becomes a project's spec and back.
// Its own module so that the wizard and its steps import it, not each other.
import type { DataSource, DebeziumOptions, Format, FormatOptions, ObjectMapping, PartitionRule, Project, ProjectSpec, SyncType } from '../api/types';
import { PROJECT_NAME_MAX } from '../rules';
import { fromObjects, toObjects, type TableMapping } from './mapping';

/** Everything the wizard collects; a draft until step 4 saves it as a project. */
export interface Draft {
  name: string;
  tag_ids: string[];
  source_id?: string;
  target_id?: string;
  types: SyncType[];
  mappings: TableMapping[];
  format: Format;
  partition_rule: PartitionRule;
  tx_sequence: boolean;
  /** `[sync.debezium]`: sent only with a Debezium format. */
  debezium: DebeziumOptions;
  /** The chosen format's options; reset when the format changes. */
  format_options: FormatOptions;
  /** Unix seconds; null = now. Ignored with full sync (the project's start time is used). */
  start_time: number | null;
  /** Objects of a saved project the mapping cannot show (patterns, excludes): kept as they are. */
  kept: ObjectMapping[];
}

export type DraftUpdate = (change: Partial<Draft>) => void;

export function toSpec(d: Draft): ProjectSpec {
  return {
    name: d.name,
    tag_ids: d.tag_ids,
    source_id: d.source_id ?? '',
    target_id: d.target_id ?? '',
    sync: {
      types: d.types,
      format: d.format,
      partition_rule: d.partition_rule,
      tx_sequence: d.format === 'SharePlex' && d.tx_sequence,
      debezium: isDebezium(d.format) ? debeziumFor(d.format, d.debezium) : null,
      format_options: Object.keys(d.format_options).length > 0 ? d.format_options : null,
      start_time: d.types.includes('full') ? null : d.start_time,
    },
    objects: [...toObjects(d.mappings), ...d.kept],
  };
}

/** A saved project's definition as a draft (edit), or as a new project's (clone). */
export function fromProject(p: Project, clone: boolean): Draft {
  const { mappings, kept } = fromObjects(p.spec.objects as ObjectMapping[]);
  const sync = p.spec.sync;
  return {
    name: clone ? [...p.spec.name].slice(0, PROJECT_NAME_MAX - 4).join('') + 'copy' : p.spec.name,
    tag_ids: p.tags.map((tag) => tag.id),
    source_id: p.source.id,
    target_id: p.target.id,
    types: sync.types as SyncType[],
    mappings,
    format: (sync.format ?? 'Default') as Format,
    partition_rule: (sync.partition_rule ?? 'hash') as PartitionRule,
    tx_sequence: sync.tx_sequence ?? false,
    debezium: sync.debezium ?? {},
    format_options: sync.format_options ?? {},
    start_time: sync.start_time ?? null,
    kept,
  };
}

export const isDebezium = (f: Format) => f === 'Debezium' || f === 'DebeziumFlattened';

/** The schema registry URL of the chosen target data source, if it has one. */
export const targetRegistry = (dataSources: DataSource[] | undefined, targetId: string | null | undefined): string | null =>
  dataSources?.find((d) => d.id === targetId)?.kafka?.schema_registry?.url ?? null;

/** The Debezium options a format takes: the flattened format's own only with it. */
function debeziumFor(format: Format, o: DebeziumOptions): DebeziumOptions {
  return format === 'DebeziumFlattened' ? o : { ...o, delete_handling: null, add_fields: null };
}

export const INITIAL: Draft = {
  name: '',
  tag_ids: [],
  types: ['schema', 'full', 'incremental'],
  mappings: [],
  format: 'Default',
  partition_rule: 'hash',
  tx_sequence: false,
  debezium: {},
  format_options: {},
  start_time: null,
  kept: [],
};
