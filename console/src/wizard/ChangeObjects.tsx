import { useEffect, useMemo, useState } from 'react';
import { Alert, App, Button, Card, Radio, Space, Spin, Steps, Table, Tag, Typography } from 'antd';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { projectKeys, useProject } from '../api/projects';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiError } from '../api/client';
import { applyToDefinition, previewObjects, type ObjectChange, type ObjectChangePreview, type TableRoute } from '../api/objects';
import type { Project } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { PrecheckTable } from '../components/PrecheckTable';
import { topicOf, type TableMapping } from './mapping';
import { backfillTables, canChangeObjects, diffMappings, isEmptyDiff, type ObjectDiff } from './objectChange';
import { StepObjects } from './StepObjects';
import { fromProject, toSpec, type Draft, type DraftUpdate } from './draft';

/**
 * `/projects/:id/objects`: the wizard's object step on a running or paused project's
 * current objects, then a review of the change (the server's diff and the precheck of the
 * changed part) before it is applied. After a revision conflict the page starts over from
 * the project as it is now.
 */
export function ChangeObjectsPage() {
  const { id = '' } = useParams<{ id: string }>();
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [generation, setGeneration] = useState(0);
  const project = useProject(id, { poll: false });
  if (project.isPending) return <Card loading />;
  if (project.isError) return <ErrorAlert error={project.error} />;
  if (!canChangeObjects(project.data)) {
    return (
      <Alert
        type="warning"
        showIcon
        data-testid="objects-not-possible"
        title={t('objects.notPossible', { state: t(`state.${project.data.state}`) })}
        description={<Link to={`/projects/${id}`}>{t('objects.backToProject')}</Link>}
      />
    );
  }
  const reload = async () => {
    await queryClient.refetchQueries({ queryKey: projectKeys.detail(id), exact: true });
    setGeneration((g) => g + 1);
  };
  return <ChangeObjects key={generation} project={project.data} onReload={reload} />;
}

function ChangeObjects({ project, onReload }: { project: Project; onReload: () => Promise<void> }) {
  const { t } = useTranslation();
  const { message, modal } = App.useApp();
  const navigate = useNavigate();
  // The project as the user started editing it: its revision is what the change applies to,
  // whatever a background refetch brings meanwhile.
  const [base] = useState(project);
  const initial = useMemo(() => fromProject(base, false), [base]);
  const inProject = useMemo(() => new Set(initial.mappings.map((m) => m.table)), [initial]);
  const [draft, setDraft] = useState<Draft>(initial);
  const [fromNowOn, setFromNowOn] = useState<ReadonlySet<string>>(new Set());
  const [step, setStep] = useState(0);
  const update: DraftUpdate = (change) => setDraft((d) => ({ ...d, ...change }));
  const diff = useMemo(() => diffMappings(initial.mappings, draft.mappings), [initial, draft.mappings]);
  const change: ObjectChange = { objects: toSpec(draft).objects, backfill: backfillTables(diff.added, fromNowOn) };
  const dirty = !isEmptyDiff(diff);

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const leave = () => navigate(`/projects/${base.id}`);
  const cancel = () => {
    if (!dirty) return leave();
    modal.confirm({
      title: t('wizard.discardTitle'),
      content: t('objects.discardExplain'),
      okText: t('wizard.discard'),
      okButtonProps: { danger: true, ...{ 'data-testid': 'wizard-discard' } },
      cancelText: t('wizard.keepEditing'),
      onOk: leave,
    });
  };
  const next = () => {
    if (draft.mappings.length === 0 && draft.kept.length === 0) return void message.error(t('wizard.pickObjects'));
    if (!dirty) return void message.error(t('objects.nothingChanged'));
    setStep(1);
  };
  const conflict = () => {
    modal.warning({ title: t('objects.conflictTitle'), content: t('objects.conflictExplain'), okButtonProps: { ...{ 'data-testid': 'objects-conflict-ok' } } });
    void onReload();
  };

  return (
    <Card title={t('objects.title', { name: base.spec.name })} data-testid="objects-change">
      <Alert type="info" showIcon style={{ marginBottom: 16 }} title={t(base.state === 'running' ? 'objects.whenRunning' : 'objects.whenPaused')} data-testid="objects-when" />
      <Steps current={step} style={{ marginBottom: 24 }} items={[{ title: t('objects.stepObjects') }, { title: t('objects.stepReview') }]} />
      <div style={{ minHeight: 300 }}>
        {step === 0 && (
          <Space orientation="vertical" style={{ width: '100%' }} size="large">
            {draft.kept.length > 0 && <Alert type="info" showIcon data-testid="wizard-kept" title={t('wizard.keptObjects', { count: draft.kept.length })} />}
            <StepObjects draft={draft} update={update} inProject={inProject} />
            <ChangeSummary diff={diff} fromNowOn={fromNowOn} setFromNowOn={setFromNowOn} />
          </Space>
        )}
        {step === 1 && (
          <Review
            project={base}
            change={change}
            onApplied={() => {
              message.success(t('objects.applied', { name: base.spec.name }));
              leave();
            }}
            onConflict={conflict}
          />
        )}
      </div>
      <Space style={{ marginTop: 24 }}>
        <Button onClick={cancel} data-testid="wizard-cancel">
          {t('common.cancel')}
        </Button>
        {step === 1 && (
          <Button onClick={() => setStep(0)} data-testid="wizard-back">
            {t('wizard.previous')}
          </Button>
        )}
        {step === 0 && (
          <Button type="primary" onClick={next} data-testid="wizard-next">
            {t('objects.toReview')}
          </Button>
        )}
      </Space>
    </Card>
  );
}

/** Below the object step: each added table's start (with backfill or from now on), what removal means, the changed routes. */
function ChangeSummary({ diff, fromNowOn, setFromNowOn }: { diff: ObjectDiff; fromNowOn: ReadonlySet<string>; setFromNowOn: (s: ReadonlySet<string>) => void }) {
  const { t } = useTranslation();
  const choose = (table: string, backfill: boolean) => {
    const next = new Set(fromNowOn);
    if (backfill) next.delete(table);
    else next.add(table);
    setFromNowOn(next);
  };
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      {diff.added.length > 0 && (
        <Card size="small" title={t('objects.addedTables', { count: diff.added.length })} data-testid="objects-added">
          <Typography.Paragraph type="secondary">{t('objects.backfillExplain')}</Typography.Paragraph>
          <Table<TableMapping>
            size="small"
            rowKey="table"
            dataSource={diff.added}
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            columns={[
              { title: t('detail.table'), dataIndex: 'table' },
              { title: t('wizard.objects.topic'), render: (_, m) => topicOf(m) },
              {
                title: t('objects.start'),
                render: (_, m) => (
                  <Radio.Group
                    value={fromNowOn.has(m.table) ? 'now' : 'backfill'}
                    onChange={(e) => choose(m.table, e.target.value === 'backfill')}
                    data-testid={`objects-start-${m.table}`}
                    options={[
                      { value: 'backfill', label: <span data-testid={`objects-backfill-${m.table}`}>{t('objects.withBackfill')}</span> },
                      { value: 'now', label: <span data-testid={`objects-from-now-${m.table}`}>{t('objects.fromNowOn')}</span> },
                    ]}
                  />
                ),
              },
            ]}
          />
        </Card>
      )}
      {diff.removed.length > 0 && (
        <Alert
          type="warning"
          showIcon
          data-testid="objects-removed"
          title={t('objects.removedTables', { tables: diff.removed.map((m) => m.table).join(', ') })}
          description={t('objects.removedExplain')}
        />
      )}
      {diff.changed.length > 0 && (
        <Alert
          type="info"
          showIcon
          data-testid="objects-changed"
          title={t('objects.changedTables', { tables: diff.changed.map((c) => c.after.table).join(', ') })}
          description={t('objects.changedExplain')}
        />
      )}
    </Space>
  );
}

/** The server's view of the change with the precheck of its changed part; Apply sends it. */
function Review({ project, change, onApplied, onConflict }: { project: Project; change: ObjectChange; onApplied: () => void; onConflict: () => void }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const preview = useQuery({
    queryKey: [...projectKeys.detail(project.id), 'objects-preview', change],
    queryFn: () => previewObjects(project.id, change),
    retry: false,
    refetchOnWindowFocus: false,
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const failed = preview.data?.precheck.some((i) => i.status === 'fail') ?? false;
  const empty = preview.data ? preview.data.added.length + preview.data.removed.length + preview.data.changed.length === 0 : false;

  const apply = async () => {
    setBusy(true);
    setError(null);
    try {
      await applyToDefinition(project, change);
      await queryClient.invalidateQueries({ queryKey: projectKeys.all });
      onApplied();
    } catch (e) {
      setBusy(false);
      if (e instanceof ApiError && e.body.code === 'REVISION_CONFLICT') onConflict();
      else setError(e);
    }
  };

  if (preview.isPending) return <Spin description={t('objects.previewing')} data-testid="objects-previewing" />;
  if (preview.isError) return <ErrorAlert error={preview.error} />;
  const p = preview.data;
  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle" data-testid="objects-review">
      <DiffTables preview={p} />
      <Card size="small" title={t('objects.precheck')}>
        <Alert
          type={failed ? 'error' : 'success'}
          showIcon
          style={{ marginBottom: 8 }}
          data-testid="objects-precheck-result"
          data-passed={String(!failed)}
          title={t(failed ? 'objects.precheckFailed' : 'objects.precheckPassed')}
        />
        <PrecheckTable precheck={{ passed: !failed, current: true, items: p.precheck }} />
      </Card>
      <ErrorAlert error={error} />
      {empty && <Alert type="info" showIcon title={t('objects.nothingChanged')} />}
      <Button type="primary" onClick={apply} loading={busy} disabled={failed || empty} data-testid="objects-apply">
        {t(project.state === 'running' ? 'objects.applyNow' : 'objects.applyAtResume')}
      </Button>
    </Space>
  );
}

function DiffTables({ preview }: { preview: ObjectChangePreview }) {
  const { t } = useTranslation();
  const route = (r: TableRoute) => (
    <>
      {r.topic}
      {r.shard_columns && r.shard_columns.length > 0 && <Tag style={{ marginLeft: 8 }}>{t('wizard.objects.shardShort', { columns: r.shard_columns.join(', ') })}</Tag>}
    </>
  );
  return (
    <>
      {preview.added.length > 0 && (
        <Card size="small" title={t('objects.addedTables', { count: preview.added.length })}>
          <Table
            size="small"
            rowKey="table"
            data-testid="review-added"
            dataSource={preview.added}
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            columns={[
              { title: t('detail.table'), dataIndex: 'table' },
              { title: t('wizard.objects.topic'), dataIndex: 'topic' },
              {
                title: t('objects.start'),
                render: (_, a) => (
                  <span data-testid={`review-added-${a.table}`} data-backfill={String(a.backfill)}>
                    {a.backfill ? <Tag color="blue">{t('objects.withBackfill')}</Tag> : <Tag>{t('objects.fromNowOn')}</Tag>}
                  </span>
                ),
              },
            ]}
          />
        </Card>
      )}
      {preview.removed.length > 0 && (
        <Card size="small" title={t('objects.removedCount', { count: preview.removed.length })}>
          <Alert type="warning" showIcon style={{ marginBottom: 8 }} title={t('objects.removedExplain')} />
          <Table
            size="small"
            rowKey="table"
            data-testid="review-removed"
            dataSource={preview.removed}
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            columns={[{ title: t('detail.table'), dataIndex: 'table', render: (table: string) => <span data-testid={`review-removed-${table}`}>{table}</span> }]}
          />
        </Card>
      )}
      {preview.changed.length > 0 && (
        <Card size="small" title={t('objects.changedCount', { count: preview.changed.length })}>
          <Typography.Paragraph type="secondary">{t('objects.changedExplain')}</Typography.Paragraph>
          <Table
            size="small"
            rowKey="table"
            data-testid="review-changed"
            dataSource={preview.changed}
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            columns={[
              { title: t('detail.table'), dataIndex: 'table', render: (table: string) => <span data-testid={`review-changed-${table}`}>{table}</span> },
              { title: t('objects.before'), render: (_, c) => route(c.from) },
              { title: t('objects.after'), render: (_, c) => route(c.to) },
            ]}
          />
        </Card>
      )}
    </>
  );
}
