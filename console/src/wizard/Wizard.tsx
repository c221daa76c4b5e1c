import { useEffect, useState } from 'react';
import { Alert, App, Button, Card, Space, Steps } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { get } from '../api/client';
import type {
  DebeziumOptions,
  Format,
  FormatOptions,
  ObjectMapping,
  PartitionRule,
  Project,
  ProjectSpec,
  SyncType,
} from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { PROJECT_NAME_MAX, checkProjectName, checkStartTime } from '../rules';
import { fromObjects, toObjects, type TableMapping } from './mapping';
import { StepSourceTarget } from './StepSourceTarget';
import { StepObjects } from './StepObjects';
import { StepOptions } from './StepOptions';
import { StepPrecheck } from './StepPrecheck';

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

/** The Debezium options a format takes: the flattened format's own only with it. */
function debeziumFor(format: Format, o: DebeziumOptions): DebeziumOptions {
  return format === 'DebeziumFlattened' ? o : { ...o, delete_handling: null, add_fields: null };
}

const INITIAL: Draft = {
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

/**
 * The project wizard: a new project, an edit of a saved one that has not started
 * (`/projects/:id/edit`), or a clone (`/projects/new?from=:id`, prefilled, saved as new).
 * Nothing is saved until the user saves or runs the precheck in step 4.
 */
export function WizardPage() {
  const { id: editId } = useParams<{ id: string }>();
  const [search] = useSearchParams();
  const fromId = editId ?? search.get('from');
  const source = useQuery({ queryKey: ['project', fromId], queryFn: () => get<Project>(`/projects/${fromId}`), enabled: !!fromId });
  if (fromId && source.isPending) return <Card loading />;
  if (fromId && source.isError) return <ErrorAlert error={source.error} />;
  const initial = source.data ? fromProject(source.data, !editId) : INITIAL;
  return <Wizard key={fromId ?? 'new'} initial={initial} editId={editId ?? null} cloneOf={editId ? null : (source.data ?? null)} />;
}

function Wizard({ initial, editId, cloneOf }: { initial: Draft; editId: string | null; cloneOf: Project | null }) {
  const { t } = useTranslation();
  const { message, modal } = App.useApp();
  const navigate = useNavigate();
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState<Draft>(initial);
  const [projectId, setProjectId] = useState<string | null>(editId);
  const update: DraftUpdate = (change) => setDraft((d) => ({ ...d, ...change }));
  const dirty = projectId === editId && JSON.stringify(draft) !== JSON.stringify(initial);
  // A reload or a closed tab would lose the input too: the browser asks first.
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);
  const leave = () => navigate(editId ? `/projects/${editId}` : '/projects');
  const cancel = () => {
    if (!dirty) return leave();
    modal.confirm({
      title: t('wizard.discardTitle'),
      content: t('wizard.discardExplain'),
      okText: t('wizard.discard'),
      okButtonProps: { danger: true, ...{ 'data-testid': 'wizard-discard' } },
      cancelText: t('wizard.keepEditing'),
      onOk: leave,
    });
  };

  /** The first problem that keeps the user on this step, as a dictionary key. */
  const blocker = (): string | null => {
    if (step === 0) {
      if (checkProjectName(draft.name)) return 'wizard.fixName';
      if (!draft.source_id) return 'wizard.pickSource';
      if (!draft.target_id) return 'wizard.pickTarget';
    }
    if (step === 1) {
      if (draft.types.length === 0) return 'wizard.pickType';
      if (draft.mappings.length === 0) return 'wizard.pickObjects';
    }
    if (step === 2 && !draft.types.includes('full') && checkStartTime(draft.start_time, Math.floor(Date.now() / 1000))) return 'wizard.fixStartTime';
    if (step === 2 && draft.format === 'DebeziumAvro' && !draft.format_options.schema_registry_url?.trim()) return 'wizard.fixRegistryUrl';
    return null;
  };
  const next = () => {
    const problem = blocker();
    if (problem) {
      void message.error(t(problem));
      return;
    }
    setStep((s) => s + 1);
  };

  return (
    <Card title={editId ? t('wizard.editTitle', { name: initial.name }) : cloneOf ? t('wizard.cloneTitle', { name: cloneOf.spec.name }) : t('wizard.title')}>
      {cloneOf && <Alert type="info" showIcon style={{ marginBottom: 16 }} data-testid="wizard-clone-note" title={t('wizard.cloneNote', { name: cloneOf.spec.name })} />}
      {step === 1 && draft.kept.length > 0 && <Alert type="info" showIcon style={{ marginBottom: 16 }} data-testid="wizard-kept" title={t('wizard.keptObjects', { count: draft.kept.length })} />}
      <Steps
        current={step}
        style={{ marginBottom: 24 }}
        data-testid="wizard-steps"
        items={[{ title: t('wizard.step1') }, { title: t('wizard.step2') }, { title: t('wizard.step3') }, { title: t('wizard.step4') }]}
      />
      <div style={{ minHeight: 300 }}>
        {step === 0 && <StepSourceTarget draft={draft} update={update} />}
        {step === 1 && <StepObjects draft={draft} update={update} />}
        {step === 2 && <StepOptions draft={draft} update={update} />}
        {step === 3 && (
          <StepPrecheck
            spec={toSpec(draft)}
            projectId={projectId}
            onSaved={setProjectId}
            onStarted={(id) => navigate(`/projects/${id}`)}
            onKept={(id) => navigate(`/projects/${id}`)}
          />
        )}
      </div>
      <Space style={{ marginTop: 24 }}>
        {step > 0 && (
          <Button onClick={cancel} data-testid="wizard-cancel">
            {t('common.cancel')}
          </Button>
        )}
        <Button onClick={() => (step === 0 ? cancel() : setStep((s) => s - 1))} data-testid="wizard-back">
          {step === 0 ? t('common.cancel') : t('wizard.previous')}
        </Button>
        {step < 3 && (
          <Button type="primary" onClick={next} data-testid="wizard-next">
            {t('wizard.next')}
          </Button>
        )}
      </Space>
    </Card>
  );
}
