import { useState } from 'react';
import { App, Button, Card, Form, Input, Modal, Popconfirm, Space, Table } from 'antd';
import { useTranslation } from 'react-i18next';
import { useDeleteTag, useSaveTag, useTags } from '../api/tags';
import type { Tag } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { useFormErrors } from '../components/useFormErrors';
import { useCan } from '../auth/role';
import { nameRules } from '../rules';

/** Create or rename a tag; the server's rule (as OMS: 1–20 characters without spaces). */
export function TagDialog({ open, editing, onClose }: { open: boolean; editing: Tag | null; onClose: (saved?: Tag) => void }) {
  return open ? <TagForm editing={editing} onClose={onClose} /> : null;
}

/** Mounted only while open, so every opening starts from a fresh form. */
function TagForm({ editing, onClose }: { editing: Tag | null; onClose: (saved?: Tag) => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ name: string }>();
  const save = useSaveTag();
  const errors = useFormErrors(form);
  const submit = ({ name }: { name: string }) => {
    errors.clear();
    save.mutate({ id: editing?.id ?? null, name }, { onSuccess: (saved) => onClose(saved), onError: errors.onError });
  };
  return (
    <Modal open title={editing ? t('tags.renameTitle') : t('tags.createTitle')} onCancel={() => onClose()} footer={null} destroyOnHidden>
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ name: editing?.name ?? '' }}>
        <Form.Item name="name" label={t('tags.name')} rules={[{ required: true, message: t('tags.nameRequired') }, ...nameRules(t, 'tag_name')]}>
          <Input autoFocus data-testid="tag-name" />
        </Form.Item>
        <ErrorAlert error={errors.alert} style={{ marginBottom: 12 }} />
        <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="tag-save">
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
  const list = useTags();
  const remover = useDeleteTag();
  const [dialog, setDialog] = useState<{ open: boolean; editing: Tag | null }>({ open: false, editing: null });
  const remove = (tag: Tag) => remover.mutate(tag.id, { onSuccess: () => void message.success(t('tags.deleted', { name: tag.name })) });
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
      <ErrorAlert error={list.error ?? remover.error} style={{ marginBottom: 12 }} />
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
