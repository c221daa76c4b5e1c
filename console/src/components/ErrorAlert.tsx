import { Alert } from 'antd';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import type { ApiErrorBody } from '../api/types';
import { errorMessage } from '../i18n/messages';

/** The server's error in the user's language: title, message and advice by its code and params. */
export function useErrorText() {
  const { t, i18n } = useTranslation();
  return (error: unknown): { title: string; advice: string | null; detail: string } => {
    const body: ApiErrorBody =
      error instanceof ApiError
        ? error.body
        : typeof error === 'object' && error !== null && 'code' in error
          ? (error as ApiErrorBody)
          : { code: 'UNKNOWN', message: String(error) };
    const key = `errors.${body.code}`;
    const title = i18n.exists(key) ? t(key) : t('errors.UNKNOWN_CODE', { code: body.code });
    const { message, advice } = errorMessage(t, i18n, body);
    // A message that only repeats the title (BAD_CREDENTIALS) is said once.
    return { title, advice, detail: message === title ? '' : message };
  };
}

export function ErrorAlert({ error, style }: { error: unknown; style?: React.CSSProperties }) {
  const { t } = useTranslation();
  const text = useErrorText();
  if (!error) return null;
  const { title, advice, detail } = text(error);
  return (
    <Alert
      type="error"
      showIcon
      style={style}
      data-testid="error-alert"
      title={title}
      description={
        <div>
          {detail && <div>{detail}</div>}
          {advice && (
            <div>
              <b>{t('common.advice')}:</b> {advice}
            </div>
          )}
        </div>
      }
    />
  );
}
