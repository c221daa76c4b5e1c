import { useState } from 'react';
import { App, Button, Form, Input, Modal } from 'antd';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { put } from '../api/client';
import { ErrorAlert } from '../components/ErrorAlert';

/** The server's minimum password length (auth::MIN_PASSWORD_CHARS). */
export const MIN_PASSWORD = 12;

export function passwordRules(t: TFunction) {
  return [
    { required: true, message: t('password.required') },
    { min: MIN_PASSWORD, message: t('password.minLength', { count: MIN_PASSWORD }) },
  ];
}

/** Changes the logged-in user's password; the server ends the user's other sessions. */
export function PasswordDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (values: { current_password: string; new_password: string }) => {
    setBusy(true);
    setError(null);
    try {
      await put('/me/password', { current_password: values.current_password, new_password: values.new_password });
      message.success(t('password.changed'));
      onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open={open} title={t('password.title')} onCancel={onClose} footer={null} destroyOnHidden>
      <Form layout="vertical" onFinish={submit}>
        <Form.Item name="current_password" label={t('password.current')} rules={[{ required: true, message: t('password.required') }]}>
          <Input.Password autoFocus autoComplete="current-password" data-testid="password-current" />
        </Form.Item>
        <Form.Item name="new_password" label={t('password.new')} extra={t('password.minLength', { count: MIN_PASSWORD })} rules={passwordRules(t)}>
          <Input.Password autoComplete="new-password" data-testid="password-new" />
        </Form.Item>
        <Form.Item
          name="confirm"
          label={t('password.confirm')}
          dependencies={['new_password']}
          rules={[
            { required: true, message: t('password.required') },
            ({ getFieldValue }) => ({
              validator: (_, value) => (value === getFieldValue('new_password') ? Promise.resolve() : Promise.reject(new Error(t('password.mismatch')))),
            }),
          ]}
        >
          <Input.Password autoComplete="new-password" data-testid="password-confirm" />
        </Form.Item>
        <ErrorAlert error={error} style={{ marginBottom: 12 }} />
        <Button type="primary" htmlType="submit" loading={busy} data-testid="password-save">
          {t('password.save')}
        </Button>
      </Form>
    </Modal>
  );
}
