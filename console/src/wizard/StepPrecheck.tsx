import { useState } from 'react';
import { Alert, Button, Space, Spin } from 'antd';
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { usePrecheckProject, useProjectAction, useSaveProject } from '../api/projects';
import type { ProjectSpec } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { PrecheckTable } from '../components/PrecheckTable';

/**
 * The last step. Nothing is saved on entering it: Precheck saves the spec as a project (not
 * started; an update when it was saved before) and checks it; Start follows a passed
 * precheck; Save keeps the project to check and start later.
 */
export function StepPrecheck({
  spec,
  projectId,
  onSaved,
  onStarted,
  onKept,
  onSpecError,
  problemSteps,
  onGoToStep,
}: {
  spec: ProjectSpec;
  projectId: string | null;
  /** A refused save or precheck: its field problems go to the steps' fields. */
  onSpecError: (error: unknown) => void;
  /** The steps that show a problem of the server's. */
  problemSteps: number[];
  onGoToStep: (step: number) => void;
  onSaved: (id: string) => void;
  onStarted: (id: string) => void;
  onKept: (id: string) => void;
}) {
  const { t } = useTranslation();
  const [id, setId] = useState(projectId);
  const saver = useSaveProject();
  const prechecker = usePrecheckProject();
  const starter = useProjectAction();

  /** Saves the spec: creates the project the first time, updates it after. */
  const save = async (): Promise<string> => {
    const p = await saver.mutateAsync({ id, spec });
    if (id === null) {
      setId(p.id);
      onSaved(p.id);
    }
    return p.id;
  };
  const check = useMutation({ mutationFn: async () => prechecker.mutateAsync(await save()), onError: onSpecError });
  const keep = useMutation({ mutationFn: async () => (check.data && id ? id : save()), onSuccess: onKept, onError: onSpecError });
  const precheck = check.isPending ? null : (check.data ?? null);
  const busy = check.isPending ? 'check' : keep.isPending || keep.isSuccess ? 'save' : starter.isPending || starter.isSuccess ? 'start' : null;
  const error = check.error ?? keep.error ?? starter.error;
  const run = (what: 'check' | 'keep' | 'start') => {
    // The precheck's answer stays while saving or starting after it.
    if (what === 'check') {
      [keep, starter].forEach((m) => m.reset());
      check.mutate();
    }
    if (what === 'keep') {
      starter.reset();
      keep.mutate();
    }
    if (what === 'start' && id) {
      keep.reset();
      starter.mutate({ id, action: 'start' }, { onSuccess: () => onStarted(id) });
    }
  };

  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <ErrorAlert error={error} />
      {error != null && problemSteps.length > 0 && (
        <Space wrap data-testid="precheck-fix-steps">
          {problemSteps.map((n) => (
            <Button key={n} size="small" onClick={() => onGoToStep(n)} data-testid={`precheck-fix-step-${n + 1}`}>
              {t('wizard.fixAtStep', { step: n + 1 })}
            </Button>
          ))}
        </Space>
      )}
      {!precheck && busy === null && <Alert type="info" showIcon title={t(projectId ? 'wizard.precheck.notSavedEdit' : 'wizard.precheck.notSaved')} data-testid="precheck-not-saved" />}
      {busy === 'check' && <Spin description={t('wizard.precheck.running')} data-testid="precheck-running" />}
      {precheck && (
        <>
          <Alert
            type={precheck.passed ? 'success' : 'error'}
            showIcon
            title={precheck.passed ? t('wizard.precheck.passed') : t('wizard.precheck.failed')}
            data-testid="precheck-result"
            data-passed={String(precheck.passed)}
          />
          <PrecheckTable precheck={precheck} />
        </>
      )}
      <Space>
        <Button type={precheck ? 'default' : 'primary'} onClick={() => run('check')} disabled={busy !== null} loading={busy === 'check'} data-testid="precheck-run">
          {precheck ? t('wizard.precheck.recheck') : t('wizard.precheck.run')}
        </Button>
        <Button type="primary" onClick={() => run('start')} disabled={!precheck?.passed || busy !== null} loading={busy === 'start'} data-testid="wizard-start">
          {t('wizard.precheck.start')}
        </Button>
        <Button onClick={() => run('keep')} disabled={busy !== null} loading={busy === 'save'} data-testid="wizard-save">
          {t('wizard.precheck.save')}
        </Button>
      </Space>
    </Space>
  );
}
