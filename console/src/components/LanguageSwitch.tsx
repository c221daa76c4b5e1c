import { Segmented } from 'antd';
import { useTranslation } from 'react-i18next';
import { setLanguage, type Language } from '../i18n';

/** 中文 / English, on the login page and in the header. */
export function LanguageSwitch() {
  const { i18n } = useTranslation();
  return (
    <Segmented
      data-testid="language-switch"
      size="small"
      value={i18n.language}
      onChange={(v) => setLanguage(v as Language)}
      options={[
        { label: '中文', value: 'zh-CN' },
        { label: 'English', value: 'en' },
      ]}
    />
  );
}
