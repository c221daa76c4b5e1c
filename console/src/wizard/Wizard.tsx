import { useEffect, useState } from 'react';
import { Alert, App, Button, Card, Space, Steps } from 'antd';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { useProject } from '../api/projects';
import type { Project } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { checkProjectName, checkStartTime } from '../rules';
import { fieldProblems } from '../api/errors';
import type { FieldProblem } from '../api/types';
import { useDataSources } from '../api/datasources';
import { INITIAL, fromProject, targetRegistry, toSpec, type Draft, type DraftUpdate } from './draft';
import { problemText, stepOfField, withoutChanged } from './serverErrors';
import { StepSourceTarget } from './StepSourceTarget';
import { StepObjects } from './StepObjects';
import { StepOptions } from './StepOptions';
import { StepPrecheck } from './StepPrecheck';

/**
 * The project wizard: a new project, an edit of a saved one that has not started
 * (`/projects/:id/edit`), or a clone (`/projects/new?from=:id`, prefilled, saved as new).
 * Nothing is saved until the user saves or runs the precheck in step 4.
 */
export function WizardPage() {
  const { id: editId } = useParams<{ id: string }>();
  const [search] = useSearchParams();
  const fromId = editId ?? search.get('from');
  // Read once: the wizard starts from the project as it was when opened.
  const source = useProject(fromId, { poll: false });
  if (fromId && source.isPending) return <Card loading />;
  if (fromId && source.isError) return <ErrorAlert error={source.error} />;
  const initial = source.data ? fromProject(source.data, !editId) : INITIAL;
  return <Wizard key={fromId ?? 'new'} initial={initial} editId={editId ?? null} cloneOf={editId ? null : (source.data ?? null)} />;
}

function Wizard({ initial, editId, cloneOf }: { initial: Draft; editId: string | null; cloneOf: Project | null }) {
  const { t, i18n } = useTranslation();
  const { message, modal } = App.useApp();
  const navigate = useNavigate();
  const dataSources = useDataSources();
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState<Draft>(initial);
  const [projectId, setProjectId] = useState<string | null>(editId);
  // The server's problems with the spec, shown at their fields until those are changed.
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const update: DraftUpdate = (change) => {
    setDraft((d) => ({ ...d, ...change }));
    setProblems((ps) => withoutChanged(ps, Object.keys(change) as (keyof Draft)[]));
  };
  const onSpecError = (error: unknown) => setProblems(fieldProblems(error));
  const stepProblems = (n: number) => problems.filter((p) => stepOfField(p.field) === n);
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
    if (
      step === 2 &&
      draft.format === 'DebeziumAvro' &&
      !draft.format_options.schema_registry_url?.trim() &&
      !targetRegistry(dataSources.data?.items, draft.target_id)
    )
      return 'wizard.fixRegistryUrl';
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
        {/* Step 1's problems sit at its fields; the mapping and the options list theirs here. */}
        {step > 0 && step < 3 && stepProblems(step).length > 0 && (
          <Alert
            type="error"
            showIcon
            style={{ marginBottom: 16 }}
            data-testid="wizard-field-problems"
            title={t('wizard.serverProblems')}
            description={
              <ul style={{ margin: 0, paddingLeft: 20 }}>
                {stepProblems(step).map((p) => (
                  <li key={p.field + p.message} data-field={p.field}>
                    <b>{p.field}</b>: {problemText(t, i18n, p)}
                  </li>
                ))}
              </ul>
            }
          />
        )}
        {step === 0 && <StepSourceTarget draft={draft} update={update} problems={problems} />}
        {step === 1 && <StepObjects draft={draft} update={update} />}
        {step === 2 && <StepOptions draft={draft} update={update} />}
        {step === 3 && (
          <StepPrecheck
            spec={toSpec(draft)}
            projectId={projectId}
            onSpecError={onSpecError}
            problemSteps={[0, 1, 2].filter((n) => stepProblems(n).length > 0)}
            onGoToStep={setStep}
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
