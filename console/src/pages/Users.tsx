import { useState } from 'react';
import { App, Button, Card, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import type { Role, User } from '../api/types';
import { useCreateUser, useDeleteUser, useSetRole, useUsers } from '../api/users';
import { ErrorAlert, useErrorText } from '../components/ErrorAlert';
import { useFormErrors } from '../components/useFormErrors';
import { nameRules } from '../rules';
import { formatTime } from '../components/ProjectBits';
import { useMe } from '../auth/role';
import { MIN_PASSWORD, passwordRules } from './PasswordDialog';

export const ROLES: Role[] = ['viewer', 'operator', 'admin'];

function RoleSelect({ value, onChange, testId }: { value?: Role; onChange?: (r: Role) => void; testId: string }) {
  const { t } = useTranslation();
  return (
    <Select<Role>
      value={value}
      onChange={onChange}
      style={{ minWidth: 140 }}
      data-testid={testId}
      options={ROLES.map((r) => ({ value: r, label: t(`users.roles.${r}`) }))}
    />
  );
}

type NewUser = { username: string; password: string; role: Role };

function CreateUserDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return open ? <CreateUserForm onClose={onClose} /> : null;
}

/** Mounted only while open, so every opening starts from a fresh form. */
function CreateUserForm({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<NewUser>();
  const create = useCreateUser();
  const errors = useFormErrors(form);
  const submit = (values: NewUser) => {
    errors.clear();
    create.mutate(values, { onSuccess: onClose, onError: errors.onError });
  };
  return (
    <Modal open title={t('users.createTitle')} onCancel={onClose} footer={null} destroyOnHidden>
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ role: 'viewer' }}>
        <Form.Item
          name="username"
          label={t('users.username')}
          rules={[{ required: true, message: t('users.usernameRequired') }, ...nameRules(t, 'username')]}
        >
          <Input autoFocus autoComplete="off" data-testid="user-name" />
        </Form.Item>
        <Form.Item name="password" label={t('users.password')} extra={t('password.minLength', { count: MIN_PASSWORD })} rules={passwordRules(t)}>
          <Input.Password autoComplete="new-password" data-testid="user-password" />
        </Form.Item>
        <Form.Item name="role" label={t('users.role')} extra={t('users.roleNote')}>
          <RoleSelect testId="user-role" />
        </Form.Item>
        <ErrorAlert error={errors.alert} style={{ marginBottom: 12 }} />
        <Button type="primary" htmlType="submit" loading={create.isPending} data-testid="user-save">
          {t('common.save')}
        </Button>
      </Form>
    </Modal>
  );
}

/** Admins only (the menu shows it to them; the server refuses everyone else). */
export function UsersPage() {
  const { t } = useTranslation();
  const { message, modal } = App.useApp();
  const errorText = useErrorText();
  const me = useMe();
  const list = useUsers();
  const roleSetter = useSetRole();
  const remover = useDeleteUser();
  const [creating, setCreating] = useState(false);
  const fail = (e: unknown) => {
    const x = errorText(e);
    modal.error({ title: x.title, content: [x.detail, x.advice].filter(Boolean).join('\n') });
  };
  const setRole = (user: User, role: Role) =>
    roleSetter.mutate(
      { username: user.username, role },
      { onSuccess: () => void message.success(t('users.roleChanged', { name: user.username, role: t(`users.roles.${role}`) })), onError: fail },
    );
  const remove = (user: User) =>
    remover.mutate(user.username, { onSuccess: () => void message.success(t('users.deleted', { name: user.username })), onError: fail });
  return (
    <Card
      title={t('users.title')}
      extra={
        <Button type="primary" onClick={() => setCreating(true)} data-testid="user-create">
          {t('users.create')}
        </Button>
      }
    >
      <ErrorAlert error={list.error} style={{ marginBottom: 12 }} />
      <Table<User>
        rowKey="username"
        loading={list.isPending}
        dataSource={list.data?.items ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        data-testid="users-table"
        columns={[
          {
            title: t('users.username'),
            dataIndex: 'username',
            render: (name: string) => (name === me?.username ? <Space>{name}<Tag>{t('users.you')}</Tag></Space> : name),
          },
          {
            title: t('users.role'),
            render: (_, user) => <RoleSelect value={user.role} onChange={(r) => setRole(user, r)} testId={`user-role-${user.username}`} />,
          },
          { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => (v ? formatTime(v) : '-') },
          {
            title: t('common.actions'),
            render: (_, user) => (
              <Popconfirm title={t('users.deleteConfirm', { name: user.username })} onConfirm={() => remove(user)} okText={t('common.delete')} cancelText={t('common.cancel')}>
                <Button size="small" danger disabled={user.username === me?.username} data-testid={`user-delete-${user.username}`}>
                  {t('common.delete')}
                </Button>
              </Popconfirm>
            ),
          },
        ]}
      />
      <CreateUserDialog open={creating} onClose={() => setCreating(false)} />
    </Card>
  );
}
