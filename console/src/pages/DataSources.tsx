import { useState } from 'react';
import { App, Button, Card, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useDataSources, useDeleteDataSource, useTestDataSource } from '../api/datasources';
import type { DataSource } from '../api/types';
import { ErrorAlert, useErrorText } from '../components/ErrorAlert';
import { formatTime } from '../components/ProjectBits';
import { useCan } from '../auth/role';
import { connectionSummary } from '../i18n/messages';
import { DataSourceDialog } from './DataSourceDialog';

export function address(ds: DataSource): string {
  if (ds.source) return `${ds.source.host}:${ds.source.port} (${ds.source.user})`;
  return ds.kafka?.bootstrap_servers ?? '';
}

export function DataSourcesPage() {
  const { t, i18n } = useTranslation();
  const { message, modal } = App.useApp();
  const errorText = useErrorText();
  const can = useCan();
  const list = useDataSources();
  const tester = useTestDataSource();
  const remover = useDeleteDataSource();
  const [dialog, setDialog] = useState<{ open: boolean; editing: DataSource | null }>({ open: false, editing: null });

  const fail = (e: unknown) => {
    const x = errorText(e);
    modal.error({ title: x.title, content: [x.detail, x.advice].filter(Boolean).join('\n') });
  };
  const test = (ds: DataSource) =>
    tester.mutate(
      { id: ds.id },
      {
        onSuccess: (r) => {
          if (r.ok) return void message.success(`${ds.name}: ${connectionSummary(t, i18n, r)}`);
          const e = r.error ? errorText(r.error) : { title: connectionSummary(t, i18n, r), advice: null, detail: '' };
          modal.error({ title: `${ds.name}: ${e.title}`, content: [e.detail, e.advice && `${t('common.advice')}: ${e.advice}`].filter(Boolean).join('\n') });
        },
        onError: fail,
      },
    );
  const remove = (ds: DataSource) =>
    remover.mutate(ds.id, { onSuccess: () => void message.success(t('datasources.deleted', { name: ds.name })), onError: fail });

  return (
    <Card
      title={t('datasources.title')}
      extra={
        can('admin') && (
          <Button type="primary" onClick={() => setDialog({ open: true, editing: null })} data-testid="ds-add">
            {t('datasources.add')}
          </Button>
        )
      }
    >
      <ErrorAlert error={list.error} />
      <Table<DataSource>
        rowKey="id"
        loading={list.isPending}
        dataSource={list.data?.items ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        data-testid="ds-table"
        columns={[
          { title: t('datasources.name'), dataIndex: 'name' },
          { title: t('datasources.kind'), dataIndex: 'kind', render: (k: string) => <Tag>{t(`kind.${k}`)}</Tag> },
          { title: t('datasources.address'), render: (_, ds) => <Typography.Text code>{address(ds)}</Typography.Text> },
          {
            title: t('datasources.usedBy'),
            render: (_, ds) =>
              ds.used_by.length === 0 ? '-' : ds.used_by.map((p) => <Link key={p.id} to={`/projects/${p.id}`} style={{ marginRight: 8 }}>{p.name}</Link>),
          },
          { title: t('common.updatedAt'), dataIndex: 'updated_at', render: (v: string) => formatTime(v) },
          {
            title: t('common.actions'),
            hidden: !can('admin'),
            render: (_, ds) => (
              <Space>
                <Button size="small" onClick={() => test(ds)} data-testid={`ds-test-${ds.name}`}>
                  {t('datasources.testConnection')}
                </Button>
                <Button size="small" onClick={() => setDialog({ open: true, editing: ds })}>
                  {t('common.edit')}
                </Button>
                <Popconfirm title={t('datasources.deleteConfirm', { name: ds.name })} onConfirm={() => remove(ds)} okText={t('common.delete')} cancelText={t('common.cancel')}>
                  <Button size="small" danger>
                    {t('common.delete')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <DataSourceDialog open={dialog.open} editing={dialog.editing} onClose={() => setDialog({ open: false, editing: null })} />
    </Card>
  );
}
