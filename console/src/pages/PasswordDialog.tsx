import { App, Button, Form, Input, Modal } from 'antd';
import type { RuleObject } from 'antd/es/form';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { useChangePassword } from '../api/session';
import { ErrorAlert } from '../components/ErrorAlert';
import { useFormErrors } from '../components/useFormErrors';
import { RULES, checkName } from '../rules';

/** The server's minimum password length (auth::MIN_PASSWORD_CHARS). */
export const MIN_PASSWORD = RULES.password.min_chars;

export function passwordRules(t: TFunction): RuleObject[] {
  return [
    { required: true, message: t('password.required') },
    {
      validator: (_, value: unknown) => {
        const problem = checkName('password', typeof value === 'string' ? value : '');
        if (!problem) return Promise.resolve();
        // Too short is the common case: the password dialog's own words for it.
        const text = problem.key === 'rules.generic.tooShort' ? t('password.minLength', { count: MIN_PASSWORD }) : t(problem.key, problem.values);
        return Promise.reject(new Error(text));
      },
    },
  ];
}

type Values = { current_password: string; new_password: string; confirm: string };

/** Changes the logged-in user's password; the server ends the user's other sessions. */
export function PasswordDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return open ? <PasswordForm onClose={onClose} /> : null;
}

/** Mounted only while open, so every opening starts from a fresh form. */
function PasswordForm({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const change = useChangePassword();
  const errors = useFormErrors(form);
  const submit = (values: Values) => {
    errors.clear();
    change.mutate(
      { current_password: values.current_password, new_password: values.new_password },
      {
        onSuccess: () => {
          void message.success(t('password.changed'));
          onClose();
        },
        onError: errors.onError,
      },
    );
  };
  return (
    <Modal open title={t('password.title')} onCancel={onClose} footer={null} destroyOnHidden>
      <Form form={form} layout="vertical" onFinish={submit}>
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
        <ErrorAlert error={errors.alert} style={{ marginBottom: 12 }} />
        <Button type="primary" htmlType="submit" loading={change.isPending} data-testid="password-save">
          {t('password.save')}
        </Button>
      </Form>
    </Modal>
  );
}
