import { useState } from 'react';
import { Alert, Button, Space, Spin } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { post, put } from '../api/client';
import type { Precheck, Project, ProjectSpec } from '../api/types';
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
}: {
  spec: ProjectSpec;
  projectId: string | null;
  onSaved: (id: string) => void;
  onStarted: (id: string) => void;
  onKept: (id: string) => void;
}) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [id, setId] = useState(projectId);
  const [precheck, setPrecheck] = useState<Precheck | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<'check' | 'save' | 'start' | null>(null);

  /** Saves the spec: creates the project the first time, updates it after. */
  const save = async (): Promise<string> => {
    if (id !== null) {
      await put<Project>(`/projects/${id}`, { spec });
      return id;
    }
    const p = await post<Project>('/projects', { spec });
    setId(p.id);
    onSaved(p.id);
    return p.id;
  };

  const check = async () => {
    setBusy('check');
    setError(null);
    setPrecheck(null);
    try {
      const current = await save();
      setPrecheck(await post<Precheck>(`/projects/${current}/precheck`));
      await queryClient.invalidateQueries({ queryKey: ['projects'] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  const keep = async () => {
    setBusy('save');
    setError(null);
    try {
      const current = precheck && id ? id : await save();
      await queryClient.invalidateQueries({ queryKey: ['projects'] });
      await queryClient.invalidateQueries({ queryKey: ['project', current] });
      onKept(current);
    } catch (e) {
      setError(e);
      setBusy(null);
    }
  };

  const start = async () => {
    if (!id) return;
    setBusy('start');
    setError(null);
    try {
      await post<Project>(`/projects/${id}/start`);
      await queryClient.invalidateQueries({ queryKey: ['projects'] });
      onStarted(id);
    } catch (e) {
      setError(e);
      setBusy(null);
    }
  };

  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <ErrorAlert error={error} />
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
        <Button type={precheck ? 'default' : 'primary'} onClick={check} disabled={busy !== null} loading={busy === 'check'} data-testid="precheck-run">
          {precheck ? t('wizard.precheck.recheck') : t('wizard.precheck.run')}
        </Button>
        <Button type="primary" onClick={start} disabled={!precheck?.passed || busy !== null} loading={busy === 'start'} data-testid="wizard-start">
          {t('wizard.precheck.start')}
        </Button>
        <Button onClick={keep} disabled={busy !== null} loading={busy === 'save'} data-testid="wizard-save">
          {t('wizard.precheck.save')}
        </Button>
      </Space>
    </Space>
  );
}
