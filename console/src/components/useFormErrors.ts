import { useState } from 'react';
import type { FormInstance } from 'antd';
import { placeFieldErrors, sameFields, type FieldMap } from '../api/errors';
import { useTranslation } from 'react-i18next';
import { problemMessage } from '../i18n/messages';
import { useErrorText } from './ErrorAlert';

/**
 * A form's server errors: the field problems of a failed request are set on their fields
 * (`form.setFields`); what no field of the form holds stays for the alert (`alert`).
 * `onError` goes to the mutation, `clear` before a new request.
 */
export function useFormErrors<T>(form: FormInstance<T>, map: FieldMap = sameFields) {
  const { t, i18n } = useTranslation();
  const errorText = useErrorText();
  const [alert, setAlert] = useState<unknown>(null);
  const onError = (error: unknown) => {
    const { title } = errorText(error);
    const placed = placeFieldErrors(error, map, (p) => `${title}: ${problemMessage(t, i18n, p)}`);
    form.setFields(placed.fields as Parameters<FormInstance<T>['setFields']>[0]);
    setAlert(placed.complete ? null : error);
  };
  return { alert, onError, clear: () => setAlert(null) };
}
