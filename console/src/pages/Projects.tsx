import { useState } from 'react';
import { Button, Card, Input, Select, Space, Table, Tag } from 'antd';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { get, qs } from '../api/client';
import type { List, Project, Tag as TagT } from '../api/types';
import { STATES } from '../api/vocabulary';
import { ErrorAlert } from '../components/ErrorAlert';
import { useCan } from '../auth/role';
import { StageText, StateTag, formatTime, useLagText } from '../components/ProjectBits';

/** How often lists and detail pages poll the server for live state. */
export const POLL_MS = 2000;

export function ProjectsPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const can = useCan();
  const lag = useLagText();
  const [filter, setFilter] = useState<{ state?: string; tag?: string; q?: string }>({});
  const [page, setPage] = useState({ page: 1, page_size: 20 });
  const tags = useQuery({ queryKey: ['tags'], queryFn: () => get<List<TagT>>('/tags') });
  const list = useQuery({
    queryKey: ['projects', filter, page],
    queryFn: () => get<List<Project>>('/projects' + qs({ ...filter, ...page })),
    refetchInterval: POLL_MS,
    placeholderData: keepPreviousData,
  });

  return (
    <Card
      title={t('projects.title')}
      extra={
        can('operator') && (
          <Button type="primary" onClick={() => navigate('/projects/new')} data-testid="project-create">
            {t('projects.create')}
          </Button>
        )
      }
    >
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
          { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v) },
        ]}
      />
    </Card>
  );
}
