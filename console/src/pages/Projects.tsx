import { useState } from 'react';
import { App, Button, Card, Input, Modal, Select, Space, Table, Tag, Typography, Upload } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { useImportProject, usePrecheckProject, useProjectAction, useProjects, type ProjectFilter } from '../api/projects';
import { useTags } from '../api/tags';
import { ownerOf, projectOwners, useCluster } from '../api/cluster';
import type { Project } from '../api/types';
import { STATES } from '../api/vocabulary';
import { ErrorAlert, useErrorText } from '../components/ErrorAlert';
import { useCan } from '../auth/role';
import { StageText, StateTag, formatTime, useLagText } from '../components/ProjectBits';
import { canChangeObjects } from '../wizard/objectChange';

export function ProjectsPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const can = useCan();
  const lag = useLagText();
  const [filter, setFilter] = useState<ProjectFilter>({});
  const [page, setPage] = useState({ page: 1, page_size: 20 });
  const [importing, setImporting] = useState(false);
  const tags = useTags();
  const list = useProjects(filter, page);
  const owners = projectOwners(useCluster().data);

  return (
    <Card
      title={t('projects.title')}
      extra={
        can('operator') && (
          <Space>
            <Button onClick={() => setImporting(true)} data-testid="project-import">
              {t('projects.import')}
            </Button>
            <Button type="primary" onClick={() => navigate('/projects/new')} data-testid="project-create">
              {t('projects.create')}
            </Button>
          </Space>
        )
      }
    >
      <ImportDialog open={importing} onClose={() => setImporting(false)} onImported={(p) => navigate(`/projects/${p.id}`)} />
      <Space wrap style={{ marginBottom: 16 }}>
        <Input.Search
          allowClear
          placeholder={t('projects.searchName')}
          style={{ width: 240 }}
          onSearch={(q) => {
            setFilter((f) => ({ ...f, q: q || undefined }));
            setPage((p) => ({ ...p, page: 1 }));
          }}
          data-testid="project-search"
        />
        <Select
          allowClear
          placeholder={t('projects.filterState')}
          style={{ width: 180 }}
          options={STATES.map((s) => ({ value: s, label: t(`state.${s}`) }))}
          onChange={(state?: string) => {
            setFilter((f) => ({ ...f, state }));
            setPage((p) => ({ ...p, page: 1 }));
          }}
        />
        <Select
          allowClear
          placeholder={t('projects.filterTag')}
          style={{ width: 180 }}
          options={(tags.data?.items ?? []).map((tag) => ({ value: tag.id, label: tag.name }))}
          onChange={(tag?: string) => {
            setFilter((f) => ({ ...f, tag }));
            setPage((p) => ({ ...p, page: 1 }));
          }}
        />
      </Space>
      <ErrorAlert error={list.error} />
      <Table<Project>
        rowKey="id"
        loading={list.isPending}
        dataSource={list.data?.items ?? []}
        data-testid="project-table"
        pagination={{
          current: page.page,
          pageSize: page.page_size,
          total: list.data?.total ?? 0,
          showSizeChanger: true,
          pageSizeOptions: [10, 20, 50, 100, 150],
          showTotal: (total) => t('common.total', { total }),
          onChange: (p, size) => setPage({ page: p, page_size: size }),
        }}
        columns={[
          { title: t('projects.name'), dataIndex: ['spec', 'name'], render: (name: string, p) => <Link to={`/projects/${p.id}`}>{name}</Link> },
          { title: t('projects.tags'), render: (_, p) => p.tags.map((tag) => <Tag key={tag.id}>{tag.name}</Tag>) },
          { title: t('projects.state'), render: (_, p) => <StateTag state={p.state} /> },
          { title: t('projects.stage'), render: (_, p) => <StageText stage={p.stage} /> },
          { title: t('projects.route'), render: (_, p) => `${p.source.name} → ${p.target.name}` },
          { title: t('projects.lag'), render: (_, p) => lag(p.lag_seconds) },
          ...(owners ? [{ title: t('projects.owner'), key: 'owner', render: (_: unknown, p: Project) => ownerOf(owners, p.id) ?? t('projects.noOwner') }] : []),
          { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v) },
          { title: t('projects.actions'), key: 'actions', render: (_, p) => <RowActions project={p} operate={can('operator')} /> },
        ]}
      />
    </Card>
  );
}

/** The quick actions of a list row: ones that need no confirmation run here; release,
 * delete and start (which needs a passed precheck) are on the detail page. */
const ROW_ACTIONS = ['precheck', 'pause', 'resume'] as const;

function RowActions({ project, operate }: { project: Project; operate: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const errorText = useErrorText();
  const precheck = usePrecheckProject();
  const action = useProjectAction();
  const busy = precheck.isPending ? 'precheck' : action.isPending ? action.variables.action : null;
  const run = (a: (typeof ROW_ACTIONS)[number]) => {
    const callbacks = {
      onSuccess: () => void message.success(t(`projects.rowDone.${a}`, { name: project.spec.name })),
      onError: (e: unknown) => {
        const { title, detail } = errorText(e);
        void message.error(`${title}: ${detail}`);
      },
    };
    if (a === 'precheck') precheck.mutate(project.id, callbacks);
    else action.mutate({ id: project.id, action: a }, callbacks);
  };
  const allowed = operate ? ROW_ACTIONS.filter((a) => project.allowed_actions.includes(a)) : [];
  return (
    <Space size={0} wrap>
      <Link to={`/projects/${project.id}`} data-testid={`row-detail-${project.spec.name}`}>
        <Button type="link" size="small">
          {t('projects.details')}
        </Button>
      </Link>
      {operate && canChangeObjects(project) && (
        <Link to={`/projects/${project.id}/objects`} data-testid={`row-objects-${project.spec.name}`}>
          <Button type="link" size="small">
            {t('objects.action')}
          </Button>
        </Link>
      )}
      {allowed.map((a) => (
        <Button key={a} type="link" size="small" loading={busy === a} onClick={() => run(a)} data-testid={`row-${a}-${project.spec.name}`}>
          {t(`projects.rowActions.${a}`)}
        </Button>
      ))}
    </Space>
  );
}

/**
 * Creates a project from a project file (the TOML `obsync run` takes and Export writes):
 * chosen from disk or pasted. Data sources are matched by address and user, or created.
 */
function ImportDialog({ open, onClose, onImported }: { open: boolean; onClose: () => void; onImported: (p: Project) => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const importer = useImportProject();
  const [text, setText] = useState('');
  const submit = () =>
    importer.mutate(text, {
      onSuccess: (p) => {
        void message.success(t('projects.imported', { name: p.spec.name }));
        setText('');
        onImported(p);
      },
    });
  return (
    <Modal
      open={open}
      title={t('projects.importTitle')}
      onCancel={onClose}
      onOk={submit}
      okText={t('projects.importOk')}
      cancelText={t('common.cancel')}
      okButtonProps={{ disabled: text.trim() === '', loading: importer.isPending, ...{ 'data-testid': 'import-ok' } }}
      width={720}
      destroyOnHidden
    >
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('projects.importExplain')}</Typography.Text>
        <Upload
          accept=".toml,text/plain"
          maxCount={1}
          showUploadList={false}
          beforeUpload={async (file) => {
            setText(await file.text());
            return false;
          }}
        >
          <Button data-testid="import-file">{t('projects.importFile')}</Button>
        </Upload>
        <Input.TextArea value={text} onChange={(e) => setText(e.target.value)} rows={14} style={{ fontFamily: 'monospace' }} placeholder={t('projects.importPlaceholder')} data-testid="import-text" />
        <ErrorAlert error={importer.error} />
      </Space>
    </Modal>
  );
}
