import { useMemo, useState } from 'react';
import { Alert, App, Button, Card, Col, Descriptions, Empty, List as AntList, Modal, Progress as AntProgress, Row, Space, Statistic, Steps, Table, Tag, Tooltip, Typography } from 'antd';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router';
import {
  projectKeys,
  useDeleteProject,
  useEvents,
  useExportProject,
  useMetrics,
  usePrecheck,
  usePrecheckProject,
  useProgress,
  useProject,
  useProjectAction,
  type LifecycleAction,
} from '../api/projects';
import type { ErrorInfo, Precheck, Progress, Project, ProjectAction, ProjectEvent, StageTimes, TableCounts, TableProgress } from '../api/types';
import { resyncTable, type BackfillProgress } from '../api/objects';
import { ownerOf, projectOwners, useCluster } from '../api/cluster';
import { ConfirmByName } from '../components/ConfirmByName';
import { ErrorAlert } from '../components/ErrorAlert';
import { PrecheckTable } from '../components/PrecheckTable';
import { StageText, StateTag, formatNumber, formatTime, useLagText } from '../components/ProjectBits';
import { TimeChart } from '../components/TimeChart';
import { TopicViewer } from '../components/TopicViewer';
import { useCan } from '../auth/role';
import { VerifyPanel } from './VerifyPanel';
import { canChangeObjects } from '../wizard/objectChange';
import { tableRows, type TableRow } from './projectTables';
import { eventMessage } from '../i18n/messages';

/** The lifecycle buttons, shown when the server lists the action as allowed. */
const ACTIONS = ['start', 'pause', 'resume', 'release'] as const satisfies readonly LifecycleAction[] & readonly ProjectAction[];

export function ProjectDetailPage() {
  const { id = '' } = useParams<{ id: string }>();
  const { t } = useTranslation();
  const { message } = App.useApp();
  const can = useCan();
  const navigate = useNavigate();
  const project = useProject(id);
  const progress = useProgress(id, project.data);
  const precheck = usePrecheck(id);
  const queryClient = useQueryClient();
  // A re-sync changes the project's progress and events: read them again at once.
  const refresh = () => queryClient.invalidateQueries({ queryKey: projectKeys.detail(id) });
  const rechecker = usePrecheckProject();
  const action = useProjectAction();
  const exporter = useExportProject();
  const [deleting, setDeleting] = useState(false);
  const [releasing, setReleasing] = useState(false);
  const [toml, setToml] = useState<string | null>(null);
  const busy = rechecker.isPending ? 'precheck' : action.isPending ? action.variables.action : null;
  // Each request resets the others, so at most one of them holds an error.
  const actionError = rechecker.error ?? action.error ?? exporter.error;
  const resetErrors = () => [rechecker, action, exporter].forEach((m) => m.reset());
  const act = (a: LifecycleAction) => {
    resetErrors();
    action.mutate({ id, action: a }, { onSuccess: () => void message.success(t(`detail.done.${a}`)) });
  };
  const recheck = () => {
    resetErrors();
    rechecker.mutate(id);
  };
  const exportToml = () => {
    resetErrors();
    exporter.mutate(id, { onSuccess: setToml });
  };

  if (project.isPending) return <Card loading />;
  if (project.isError) return <ErrorAlert error={project.error} />;
  const p = project.data;
  // A viewer sees the state and the export; acting on the project is an operator's.
  const operate = can('operator');
  const allowed = new Set(operate ? p.allowed_actions : []);
  const startBlocked = startBlockReason(precheck.data, precheck.isPending);

  return (
    <Space orientation="vertical" style={{ width: '100%' }} size="middle">
      <Card
        title={
          <Space>
            <span data-testid="detail-name">{p.spec.name}</span>
            <StateTag state={p.state} />
          </Space>
        }
        extra={
          <Space wrap>
            {ACTIONS.filter((a) => allowed.has(a)).map((a) => {
              // Start needs a passed precheck of the current definition: until then the
              // button says why it cannot be clicked instead of answering a 409.
              const blocked = a === 'start' ? startBlocked : null;
              const button = (
                <Button
                  key={a}
                  type={a === 'start' || a === 'resume' ? 'primary' : 'default'}
                  danger={a === 'release'}
                  disabled={blocked !== null}
                  loading={busy === a}
                  onClick={() => (a === 'release' ? setReleasing(true) : act(a))}
                  data-testid={`action-${a}`}
                >
                  {t(`detail.actions.${a}`)}
                </Button>
              );
              return blocked ? (
                <Tooltip key={a} title={t(`detail.startBlocked.${blocked}`)}>
                  <span data-testid="start-blocked" data-reason={blocked}>
                    {button}
                  </span>
                </Tooltip>
              ) : (
                button
              );
            })}
            {operate && canChangeObjects(p) && (
              <Button onClick={() => navigate(`/projects/${p.id}/objects`)} data-testid="action-objects">
                {t('objects.action')}
              </Button>
            )}
            {allowed.has('edit') && (
              <Button onClick={() => navigate(`/projects/${p.id}/edit`)} data-testid="action-edit">
                {t('detail.actions.edit')}
              </Button>
            )}
            {operate && (
              <Button onClick={() => navigate(`/projects/new?from=${p.id}`)} data-testid="action-clone">
                {t('detail.actions.clone')}
              </Button>
            )}
            <Button onClick={exportToml} data-testid="action-export">
              {t('detail.actions.export')}
            </Button>
            {operate && (
              <Button danger disabled={!allowed.has('delete')} onClick={() => setDeleting(true)} data-testid="action-delete">
                {t('detail.actions.delete')}
              </Button>
            )}
          </Space>
        }
      >
        <ErrorAlert error={actionError} style={{ marginBottom: 12 }} />
        {operate && allowed.has('start') && startBlocked && (
          <Alert type="info" showIcon style={{ marginBottom: 12 }} data-testid="start-blocked-hint" title={t(`detail.startBlocked.${startBlocked}`)} />
        )}
        <BasicInfo project={p} />
      </Card>
      {p.allowed_actions.includes('precheck') && <PrecheckPanel precheck={precheck.data} onRecheck={operate ? recheck : undefined} busy={busy === 'precheck'} />}
      <StageTimeline timeline={progress.data?.timeline ?? []} />
      <StagePanels project={p} progress={progress.data} error={progress.error} />
      <TablesPanel project={p} progress={progress.data} operate={operate} onResynced={refresh} />
      {!['not_started', 'prechecking', 'precheck_failed'].includes(p.state) && <VerifyPanel id={p.id} canRun={operate} />}
      {operate && <TopicViewer projectId={p.id} topics={progress.data?.schema?.topics ?? []} />}
      <MetricsPanel id={p.id} />
      <EventsPanel project={p} />
      <DeleteDialog project={p} open={deleting} onClose={() => setDeleting(false)} onDeleted={() => navigate('/projects')} />
      <ReleaseDialog
        project={p}
        open={releasing}
        onClose={() => setReleasing(false)}
        onReleased={() => {
          setReleasing(false);
          void message.success(t('detail.done.release'));
        }}
      />
      <Modal open={toml !== null} title={t('detail.exportTitle')} onCancel={() => setToml(null)} footer={null} width={760}>
        <Space orientation="vertical" style={{ width: '100%' }}>
          <a href={URL.createObjectURL(new Blob([toml ?? ''], { type: 'text/plain' }))} download={`${p.spec.name}.toml`}>
            {t('detail.download')}
          </a>
          <pre style={{ maxHeight: 480, overflow: 'auto', background: '#f6f8fa', padding: 12 }} data-testid="export-toml">
            {toml}
          </pre>
        </Space>
      </Modal>
    </Space>
  );
}

function BasicInfo({ project: p }: { project: Project }) {
  const { t } = useTranslation();
  const lag = useLagText();
  const owners = projectOwners(useCluster().data);
  return (
    <Descriptions
      size="small"
      column={{ xs: 1, md: 2, xl: 3 }}
      items={[
        { key: 'id', label: t('detail.id'), children: <Typography.Text copyable>{p.id}</Typography.Text> },
        { key: 'state', label: t('detail.state'), children: <>{t(`state.${p.state}`)} ({p.oms_status})</> },
        { key: 'stage', label: t('detail.stage'), children: <StageText stage={p.stage} /> },
        { key: 'tags', label: t('detail.tags'), children: p.tags.length ? p.tags.map((tag) => <Tag key={tag.id}>{tag.name}</Tag>) : '-' },
        { key: 'source', label: t('detail.source'), children: `${p.source.name} (${t(`kind.${p.source.kind}`)})` },
        { key: 'target', label: t('detail.target'), children: p.target.name },
        { key: 'types', label: t('detail.types'), children: p.spec.sync.types.map((x) => t(`stage.${x}`)).join(' · ') },
        { key: 'format', label: t('detail.format'), children: t(`format.${p.spec.sync.format ?? 'Default'}`) },
        { key: 'partition', label: t('detail.partitionRule'), children: t(`wizard.options.${partitionRule(p.spec.sync.partition_rule)}`) },
        { key: 'lag', label: t('projects.lag'), children: lag(p.lag_seconds) },
        ...(owners ? [{ key: 'owner', label: t('projects.owner'), children: <span data-testid="project-owner">{ownerOf(owners, p.id) ?? t('projects.noOwner')}</span> }] : []),
        { key: 'created', label: t('common.createdAt'), children: formatTime(p.created_at) },
        { key: 'updated', label: t('common.updatedAt'), children: formatTime(p.updated_at) },
      ]}
    />
  );
}

/**
 * Why start cannot be clicked yet, or null when it can: the server starts a project only
 * after a passed precheck of its current definition (else 409 PRECHECK_REQUIRED).
 */
export function startBlockReason(precheck: Precheck | undefined, pending: boolean): 'checking' | 'none' | 'failed' | 'stale' | null {
  if (pending) return 'checking';
  if (!precheck) return 'none';
  if (!precheck.passed) return 'failed';
  if (!precheck.current) return 'stale';
  return null;
}

function PrecheckPanel({ precheck, onRecheck, busy }: { precheck?: Precheck; onRecheck?: () => void; busy: boolean }) {
  const { t } = useTranslation();
  return (
    <Card
      title={t('detail.precheck')}
      extra={
        onRecheck && (
          <Button onClick={onRecheck} loading={busy} data-testid="detail-recheck">
            {t('wizard.precheck.recheck')}
          </Button>
        )
      }
    >
      {precheck ? <PrecheckTable precheck={precheck} /> : <Empty description={t('detail.noPrecheck')} />}
    </Card>
  );
}

function StagePanels({ project, progress, error }: { project: Project; progress?: Progress; error: unknown }) {
  const { t, i18n } = useTranslation();
  const lag = useLagText();
  const types = project.spec.sync.types;
  const lastError = progress?.last_error ?? project.last_error;
  const inc = progress?.incremental;
  const position = inc?.position ? [inc.position.file && `${inc.position.file}:${inc.position.pos ?? ''}`, inc.position.gtid].filter(Boolean).join(' · ') : '-';
  return (
    <>
      <ErrorAlert error={error} />
      {lastError && <LastError error={lastError} />}
      {progress?.warning && (
        <Alert
          type="warning"
          showIcon
          data-testid="detail-warning"
          message={
            <Space wrap>
              <Tag color="warning">{t('detail.warning')}</Tag>
              <Typography.Text type="secondary">{t('detail.warningSince', { time: formatTime(progress.warning.since) })}</Typography.Text>
            </Space>
          }
          description={eventMessage(t, i18n, progress.warning)}
        />
      )}
      {progress && progress.notices.length > 0 && (
        <Card size="small" title={t('detail.notices')}>
          <AntList size="small" dataSource={progress.notices} renderItem={(n) => <AntList.Item data-testid="notice">{eventMessage(t, i18n, n)}</AntList.Item>} />
        </Card>
      )}
      <Row gutter={[16, 16]}>
        {types.includes('schema') && (
          <Col xs={24} lg={8}>
            <Card title={t('stage.schema')} size="small" data-testid="panel-schema">
              <Typography.Text type="secondary" data-testid="topics-count">
                {t('detail.topicsCreated', { count: progress?.schema?.topics.length ?? 0 })}
              </Typography.Text>
              <div style={{ marginTop: 8 }}>
                {(progress?.schema?.topics ?? []).map((tp) => (
                  <Tag key={tp} data-testid={`schema-topic-${tp}`}>
                    {tp}
                  </Tag>
                ))}
              </div>
            </Card>
          </Col>
        )}
        {types.includes('full') && (
          <Col xs={24} lg={types.includes('schema') ? 16 : 24}>
            <Card title={t('stage.full')} size="small" data-testid="panel-full">
              <FullTables tables={progress?.full?.tables ?? []} rate={progress?.full?.rows_per_sec} complete={progress?.stage === 'incremental'} />
            </Card>
          </Col>
        )}
        {types.includes('incremental') && (
          <Col xs={24}>
            <Card title={t('stage.incremental')} size="small" data-testid="panel-incremental">
              <Row gutter={16}>
                <Col xs={12} md={6}>
                  <Statistic title={t('detail.checkpointTime')} value={formatTime(inc?.checkpoint_time)} valueStyle={{ fontSize: 16 }} />
                </Col>
                <Col xs={12} md={6}>
                  <Statistic title={t('detail.position')} value={position} valueStyle={{ fontSize: 16 }} />
                </Col>
                <Col xs={12} md={6}>
                  <Statistic title={t('projects.lag')} value={lag(inc?.lag_seconds)} valueStyle={{ fontSize: 16 }} data-testid="incremental-lag" />
                  {inc?.idle_since && (
                    <Typography.Text type="secondary" data-testid="idle-since">
                      {t('detail.idleSince', { time: formatTime(inc.idle_since) })}
                    </Typography.Text>
                  )}
                </Col>
                <Col xs={12} md={6}>
                  <Statistic title={t('detail.rowsPerSec')} value={formatNumber(inc?.rows_per_sec, 1)} valueStyle={{ fontSize: 16 }} />
                </Col>
              </Row>
              <Typography.Text type="secondary" data-testid="acked" data-count={progress?.acked_messages ?? 0}>
                {t('detail.acked', { count: progress?.acked_messages ?? 0, n: formatNumber(progress?.acked_messages) })}
              </Typography.Text>
            </Card>
          </Col>
        )}
      </Row>
    </>
  );
}

/** The project's error with its whole cause chain. */
function LastError({ error }: { error: ErrorInfo }) {
  const { t, i18n } = useTranslation();
  return (
    <Alert
      type="error"
      showIcon
      data-testid="last-error"
      title={error.code ? eventMessage(t, i18n, error) : `${t('errors.PROJECT_FAILED')}: ${error.message}`}
      description={
        error.chain.length > 0 && (
          <ol style={{ margin: 0 }}>
            {error.chain.map((c, i) => (
              <li key={i}>{c}</li>
            ))}
          </ol>
        )
      }
    />
  );
}

/**
 * Per-table snapshot progress. `complete`: the project is past the full stage (stages run in
 * order), which counts as 100 % also when the server no longer lists the tables.
 */
function FullTables({ tables, rate, complete }: { tables: TableProgress[]; rate?: number | null; complete: boolean }) {
  const { t } = useTranslation();
  const percent = (x: TableProgress) => (x.done || complete ? 100 : x.rows_estimated ? Math.min(99, Math.floor((100 * x.rows_done) / x.rows_estimated)) : 0);
  const total = complete ? 100 : tables.length === 0 ? 0 : Math.floor(tables.reduce((s, x) => s + percent(x), 0) / tables.length);
  return (
    <>
      <Space>
        <AntProgress percent={total} data-testid="full-total" data-percent={total} style={{ width: 320 }} />
        <Typography.Text type="secondary">
          {t('detail.rowsPerSec')}: {formatNumber(rate, 1)}
        </Typography.Text>
      </Space>
      <Table<TableProgress>
        size="small"
        rowKey="table"
        dataSource={tables}
        pagination={{ pageSize: 10, hideOnSinglePage: true }}
        columns={[
          { title: t('detail.table'), dataIndex: 'table' },
          { title: t('detail.progress'), width: 220, render: (_, x) => <AntProgress percent={percent(x)} size="small" /> },
          { title: t('detail.rows'), render: (_, x) => `${formatNumber(x.rows_done)} / ${formatNumber(x.rows_estimated)}` },
        ]}
      />
    </>
  );
}

/** The stages of the project's current life with their start, end and duration. */
function StageTimeline({ timeline }: { timeline: StageTimes[] }) {
  const { t } = useTranslation();
  const duration = useDurationText();
  return (
    <Card title={t('detail.timeline')} size="small" data-testid="timeline">
      {timeline.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('detail.timelineEmpty')} />
      ) : (
        <Steps
          size="small"
          current={timeline.length - 1}
          status={timeline[timeline.length - 1].ended_at ? 'finish' : 'process'}
          items={timeline.map((s) => ({
            title: t(`stage.${s.stage}`),
            subTitle: s.duration_ms != null ? t('detail.duration', { duration: duration(s.duration_ms) }) : undefined,
            description: (
              <span data-testid={`timeline-${s.stage}`} data-ended={s.ended_at ? 'true' : 'false'}>
                {t('detail.startedAt', { time: formatTime(s.started_at) })}
                <br />
                {s.ended_at ? t('detail.endedAt', { time: formatTime(s.ended_at) }) : t('detail.stageCurrent')}
              </span>
            ),
          }))}
        />
      )}
    </Card>
  );
}

/** A duration in the largest units that keep it readable. */
function useDurationText() {
  const { t } = useTranslation();
  return (ms: number) => {
    if (ms < 1000) return t('detail.durationValue.ms', { n: ms });
    const s = Math.floor(ms / 1000);
    if (s < 60) return t('detail.durationValue.s', { n: s });
    if (s < 3600) return t('detail.durationValue.m', { m: Math.floor(s / 60), s: s % 60 });
    return t('detail.durationValue.h', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  };
}

/**
 * Per table: snapshot rows, the incremental inserts, updates and deletes Kafka acknowledged,
 * the backfill of an added or re-synced table, and (for an operator) the re-sync action.
 */
function TablesPanel({ project, progress, operate, onResynced }: { project: Project; progress?: Progress; operate: boolean; onResynced: () => Promise<void> }) {
  const { t } = useTranslation();
  const [resync, setResync] = useState<string | null>(null);
  const rows = tableRows(project.spec.objects, progress?.tables ?? [], progress?.backfills ?? []);
  // The server re-syncs a table while the run reads the change log.
  const resyncable = operate && project.state === 'running';
  const cell = (key: 'snapshot_rows' | 'inserts' | 'updates' | 'deletes') => (_: unknown, x: TableCounts) => (
    <span data-testid={`count-${x.table}-${key}`} data-count={x[key]}>
      {formatNumber(x[key])}
    </span>
  );
  return (
    <Card title={t('detail.counts')} size="small" extra={<Typography.Text type="secondary">{t('detail.countsNote')}</Typography.Text>}>
      <Table<TableRow>
        size="small"
        rowKey="table"
        data-testid="counts"
        dataSource={rows}
        pagination={{ pageSize: 10, hideOnSinglePage: true }}
        columns={[
          { title: t('detail.table'), dataIndex: 'table' },
          { title: t('detail.snapshotRows'), align: 'right', render: cell('snapshot_rows') },
          { title: t('detail.inserts'), align: 'right', render: cell('inserts') },
          { title: t('detail.updates'), align: 'right', render: cell('updates') },
          { title: t('detail.deletes'), align: 'right', render: cell('deletes') },
          { title: t('objects.backfill'), render: (_, x) => <BackfillState table={x.table} backfill={x.backfill} /> },
          ...(resyncable
            ? [
                {
                  title: t('common.actions'),
                  render: (_: unknown, x: TableRow) =>
                    x.current && (
                      <Button type="link" size="small" onClick={() => setResync(x.table)} disabled={x.backfill && x.backfill.state !== 'done'} data-testid={`resync-${x.table}`}>
                        {t('objects.resync')}
                      </Button>
                    ),
                },
              ]
            : []),
        ]}
      />
      <ResyncDialog project={project} table={resync} onClose={() => setResync(null)} onDone={onResynced} />
    </Card>
  );
}

/** A table's backfill: pending, running with chunks and rows so far, or done (with rows and end time). */
function BackfillState({ table, backfill: b }: { table: string; backfill?: BackfillProgress }) {
  const { t } = useTranslation();
  if (!b) return <>-</>;
  const color = { pending: 'default', running: 'processing', done: 'success' }[b.state];
  const title = b.state === 'done' && b.finished_at ? t('objects.backfillFinished', { time: formatTime(b.finished_at) }) : b.started_at ? t('objects.backfillStarted', { time: formatTime(b.started_at) }) : undefined;
  return (
    <Tooltip title={title}>
      <span data-testid={`backfill-${table}`} data-state={b.state} data-rows={b.rows}>
        <Tag color={color}>{t(`objects.backfillState.${b.state}`)}</Tag>
        {b.state !== 'pending' && <Typography.Text type="secondary">{t('objects.backfillChunks', { count: b.chunks, rows: formatNumber(b.rows) })}</Typography.Text>}
      </span>
    </Tooltip>
  );
}

/** Re-sync says what follows before it runs: the table's rows go to its topic again. */
function ResyncDialog({ project, table, onClose, onDone }: { project: Project; table: string | null; onClose: () => void; onDone: () => Promise<void> }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    if (!table) return;
    setBusy(true);
    setError(null);
    try {
      await resyncTable(project.id, table);
      message.success(t('objects.resyncStarted', { table }));
      onClose();
      await onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      open={table !== null}
      title={t('objects.resyncTitle', { table })}
      onCancel={onClose}
      onOk={confirm}
      okText={t('objects.resync')}
      cancelText={t('common.cancel')}
      okButtonProps={{ loading: busy, ...{ 'data-testid': 'resync-confirm' } }}
      destroyOnHidden
    >
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Typography.Text data-testid="resync-explain">{t('objects.resyncExplain', { table })}</Typography.Text>
        <ErrorAlert error={error} />
      </Space>
    </Modal>
  );
}

function MetricsPanel({ id }: { id: string }) {
  const { t } = useTranslation();
  const metrics = useMetrics(id);
  const series = useMemo(() => {
    const points = metrics.data?.points ?? [];
    const times = points.map((pt) => (typeof pt.t === 'number' ? pt.t : Date.parse(pt.t) / 1000));
    return { times, lag: points.map((pt) => pt.lag_seconds ?? null), rate: points.map((pt) => pt.rows_per_sec ?? null) };
  }, [metrics.data]);
  return (
    <Card title={t('detail.history')} size="small" extra={<Typography.Text type="secondary">{t('detail.historyNote')}</Typography.Text>}>
      <ErrorAlert error={metrics.error} />
      {series.times.length === 0 && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('detail.noHistory')} data-testid="no-history" />}
      <Row gutter={16} style={series.times.length === 0 ? { display: 'none' } : undefined}>
        <Col xs={24} lg={12}>
          <Typography.Text strong>{t('detail.lagChart')}</Typography.Text>
          <TimeChart times={series.times} values={series.lag} label={t('detail.lagSeconds')} timeLabel={t('detail.time')} color="#fa8c16" testId="chart-lag" />
        </Col>
        <Col xs={24} lg={12}>
          <Typography.Text strong>{t('detail.rateChart')}</Typography.Text>
          <TimeChart times={series.times} values={series.rate} label={t('detail.rowsPerSec')} timeLabel={t('detail.time')} color="#006aff" testId="chart-rate" />
        </Col>
      </Row>
    </Card>
  );
}

function EventsPanel({ project }: { project: Project }) {
  const { t, i18n } = useTranslation();
  const [page, setPage] = useState(1);
  const events = useEvents(project.id, page, project);
  const color: Record<string, string> = { error: 'error', notice: 'warning', state: 'processing', audit: 'default' };
  return (
    <Card title={t('detail.events')} size="small">
      <ErrorAlert error={events.error} />
      <Table<ProjectEvent>
        size="small"
        rowKey="id"
        data-testid="events"
        dataSource={events.data?.items ?? []}
        pagination={{ current: page, pageSize: 20, total: events.data?.total ?? 0, onChange: setPage, hideOnSinglePage: true }}
        expandable={{
          rowExpandable: (e) => (e.chain?.length ?? 0) > 0,
          expandedRowRender: (e) => (
            <ol style={{ margin: 0 }}>
              {(e.chain ?? []).map((c, i) => (
                <li key={i}>
                  <Typography.Text code>{c}</Typography.Text>
                </li>
              ))}
            </ol>
          ),
        }}
        columns={[
          { title: t('detail.eventAt'), dataIndex: 'at', width: 180, render: (v: string) => formatTime(v) },
          { title: t('detail.eventKind'), dataIndex: 'kind', width: 110, render: (k: string) => <Tag color={color[k]}>{t(`events.${k}`)}</Tag> },
          { title: t('detail.eventActor'), dataIndex: 'actor', width: 120, render: (a?: string | null) => a ?? '-' },
          { title: t('detail.eventMessage'), dataIndex: 'message', render: (_: string, e: ProjectEvent) => eventMessage(t, i18n, e) },
        ]}
      />
    </Card>
  );
}

/** Delete asks for the project's name, typed, as OMS does. */
function DeleteDialog({ project, open, onClose, onDeleted }: { project: Project; open: boolean; onClose: () => void; onDeleted: () => void }) {
  const { t } = useTranslation();
  const remover = useDeleteProject();
  const name = project.spec.name;
  const remove = async () => {
    await remover.mutateAsync(project.id);
    onDeleted();
  };
  return <ConfirmByName name={name} open={open} title={t('detail.deleteTitle')} explain={t('detail.deleteExplain', { name })} okText={t('common.delete')} testId="delete" action={remove} onClose={onClose} />;
}

/** Release cannot be undone: it asks for the project's name, typed, and says what follows. */
function ReleaseDialog({ project, open, onClose, onReleased }: { project: Project; open: boolean; onClose: () => void; onReleased: () => void }) {
  const { t } = useTranslation();
  const action = useProjectAction();
  const name = project.spec.name;
  const release = async () => {
    await action.mutateAsync({ id: project.id, action: 'release' });
    onReleased();
  };
  return <ConfirmByName name={name} open={open} title={t('detail.releaseTitle')} explain={t('detail.releaseExplain', { name })} okText={t('detail.actions.release')} testId="release" action={release} onClose={onClose} />;
}

/** The partition rule a project runs with: the server reads it case-insensitively and takes hash when it is absent. */
export function partitionRule(rule: string | null | undefined): 'hash' | 'one' {
  return rule?.toLowerCase() === 'one' ? 'one' : 'hash';
}
