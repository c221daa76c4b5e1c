import { Alert } from 'antd';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import type { ApiErrorBody } from '../api/types';

/** The server's error in the user's language (by its code), with the server's advice. */
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
    return { title, advice: body.advice ?? null, detail: body.message };
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
