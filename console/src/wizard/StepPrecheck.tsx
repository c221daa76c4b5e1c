import { useEffect, useRef, useState } from 'react';
import { Alert, Button, Space, Spin } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { post, put } from '../api/client';
import type { Precheck, Project, ProjectSpec } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { PrecheckTable } from '../components/PrecheckTable';

/**
 * Saves the spec as a project (not started; an update when it was saved before), runs its
 * precheck, and offers Start (after a passed precheck) or Save (keep it to start later).
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
  const [busy, setBusy] = useState<'check' | 'start' | null>(null);
  const started = useRef(false);

  const check = async (savedId: string | null) => {
    setBusy('check');
    setError(null);
    setPrecheck(null);
    try {
      let current = savedId;
      if (current === null) {
        const p = await post<Project>('/projects', { spec });
        current = p.id;
        setId(current);
        onSaved(current);
      }
      setPrecheck(await post<Precheck>(`/projects/${current}/precheck`));
      await queryClient.invalidateQueries({ queryKey: ['projects'] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  // Entering the step saves the current spec (again, if the user came back to edit) and checks it.
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void (async () => {
      if (projectId !== null) {
        try {
          await put<Project>(`/projects/${projectId}`, { spec });
        } catch (e) {
          setError(e);
          return;
        }
      }
      await check(projectId);
    })();
    // run once per visit of the step
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

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
        <Button onClick={() => check(id)} disabled={busy !== null} data-testid="precheck-recheck">
          {t('wizard.precheck.recheck')}
        </Button>
        <Button type="primary" onClick={start} disabled={!precheck?.passed || busy !== null} loading={busy === 'start'} data-testid="wizard-start">
          {t('wizard.precheck.start')}
        </Button>
        <Button onClick={() => id && onKept(id)} disabled={!id || busy !== null} data-testid="wizard-save">
          {t('wizard.precheck.save')}
        </Button>
      </Space>
    </Space>
  );
}
