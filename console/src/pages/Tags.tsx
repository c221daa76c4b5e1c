import { useState } from 'react';
import { App, Button, Card, Form, Input, Modal, Popconfirm, Space, Table } from 'antd';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { del, get, post, put } from '../api/client';
import type { List, Tag } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { useCan } from '../auth/role';

/** Create or rename a tag; 1–20 characters without spaces, as OMS allows. */
export function TagDialog({ open, editing, onClose }: { open: boolean; editing: Tag | null; onClose: (saved?: Tag) => void }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async ({ name }: { name: string }) => {
    setBusy(true);
    setError(null);
    try {
      const saved = editing ? await put<Tag>(`/tags/${editing.id}`, { name }) : await post<Tag>('/tags', { name });
      await queryClient.invalidateQueries({ queryKey: ['tags'] });
      onClose(saved);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open={open} title={editing ? t('tags.renameTitle') : t('tags.createTitle')} onCancel={() => onClose()} footer={null} destroyOnHidden>
      <Form layout="vertical" onFinish={submit} initialValues={{ name: editing?.name ?? '' }}>
        <Form.Item
          name="name"
          label={t('tags.name')}
          rules={[
            { required: true, message: t('tags.nameRequired') },
            { max: 20, message: t('tags.nameTooLong') },
            { pattern: /^\S+$/, message: t('tags.nameNoSpaces') },
          ]}
        >
          <Input autoFocus data-testid="tag-name" />
        </Form.Item>
        <ErrorAlert error={error} style={{ marginBottom: 12 }} />
        <Button type="primary" htmlType="submit" loading={busy} data-testid="tag-save">
          {t('common.save')}
        </Button>
      </Form>
    </Modal>
  );
}

export function TagsPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const can = useCan();
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: ['tags'], queryFn: () => get<List<Tag>>('/tags') });
  const [dialog, setDialog] = useState<{ open: boolean; editing: Tag | null }>({ open: false, editing: null });
  const [error, setError] = useState<unknown>(null);
  const remove = async (tag: Tag) => {
    setError(null);
    try {
      await del(`/tags/${tag.id}`);
      message.success(t('tags.deleted', { name: tag.name }));
      await queryClient.invalidateQueries({ queryKey: ['tags'] });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Card
      title={t('tags.title')}
      extra={
        can('operator') && (
          <Button type="primary" onClick={() => setDialog({ open: true, editing: null })} data-testid="tag-create">
            {t('tags.create')}
          </Button>
        )
      }
    >
      <ErrorAlert error={list.error ?? error} style={{ marginBottom: 12 }} />
      <Table<Tag>
        rowKey="id"
        loading={list.isPending}
        dataSource={list.data?.items ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: t('tags.name'), dataIndex: 'name' },
          {
            title: t('common.actions'),
            hidden: !can('operator'),
            render: (_, tag) => (
              <Space>
                <Button size="small" onClick={() => setDialog({ open: true, editing: tag })}>
                  {t('tags.rename')}
                </Button>
                <Popconfirm title={t('tags.deleteConfirm', { name: tag.name })} onConfirm={() => remove(tag)} okText={t('common.delete')} cancelText={t('common.cancel')}>
                  <Button size="small" danger>
                    {t('common.delete')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <TagDialog open={dialog.open} editing={dialog.editing} onClose={() => setDialog({ open: false, editing: null })} />
    </Card>
  );
}
