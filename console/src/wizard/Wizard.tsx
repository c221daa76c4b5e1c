import { useState } from 'react';
import { App, Button, Card, Space, Steps } from 'antd';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import type { DebeziumOptions, Format, PartitionRule, ProjectSpec, SyncType } from '../api/types';
import { checkProjectName, checkStartTime } from '../rules';
import { toObjects, type TableMapping } from './mapping';
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
  /** Unix seconds; null = now. Ignored with full sync (the project's start time is used). */
  start_time: number | null;
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
      start_time: d.types.includes('full') ? null : d.start_time,
    },
    objects: toObjects(d.mappings),
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
  start_time: null,
};

export function WizardPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState<Draft>(INITIAL);
  const [projectId, setProjectId] = useState<string | null>(null);
  const update: DraftUpdate = (change) => setDraft((d) => ({ ...d, ...change }));

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
    <Card title={t('wizard.title')}>
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
        <Button onClick={() => (step === 0 ? navigate('/projects') : setStep((s) => s - 1))} data-testid="wizard-back">
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
