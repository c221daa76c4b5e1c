import { useEffect, useState } from 'react';
import { App as AntApp, Button, ConfigProvider, Layout, Menu, Space, Spin, Typography } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router';
import { meQuery, useLogout } from './api/session';
import { roleAllows } from './auth/role';
import { LanguageSwitch } from './components/LanguageSwitch';
import { type Language } from './i18n';
import { LoginPage } from './pages/Login';
import { OverviewPage } from './pages/Overview';
import { DataSourcesPage } from './pages/DataSources';
import { TagsPage } from './pages/Tags';
import { ProjectsPage } from './pages/Projects';
import { ProjectDetailPage } from './pages/ProjectDetail';
import { UsersPage } from './pages/Users';
import { PasswordDialog } from './pages/PasswordDialog';
import { WizardPage } from './wizard/Wizard';
import { ChangeObjectsPage } from './wizard/ChangeObjects';

// OceanBase's blue, so the console looks like the OMS console its users know.
const THEME = { token: { colorPrimary: '#006aff', borderRadius: 6 } };

export function App() {
  const { i18n } = useTranslation();
  const language = (i18n.language === 'zh-CN' ? 'zh-CN' : 'en') as Language;
  useEffect(() => {
    dayjs.locale(language === 'zh-CN' ? 'zh-cn' : 'en');
    document.documentElement.lang = language;
  }, [language]);
  return (
    <ConfigProvider locale={language === 'zh-CN' ? zhCN : enUS} theme={THEME}>
      <AntApp>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route path="*" element={<Shell />} />
        </Routes>
      </AntApp>
    </ConfigProvider>
  );
}

function Shell() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const location = useLocation();
  const logout = useLogout(() => navigate('/login'));
  const me = useQuery(meQuery);
  const [expired, setExpired] = useState(false);
  const [changingPassword, setChangingPassword] = useState(false);
  useEffect(() => {
    const onExpired = () => setExpired(true);
    window.addEventListener('obsync:unauthenticated', onExpired);
    return () => window.removeEventListener('obsync:unauthenticated', onExpired);
  }, []);

  if (me.isPending) return <Spin style={{ margin: 80 }} />;
  if (me.isError || expired) return <Navigate to="/login" replace state={{ from: location.pathname }} />;

  const section = '/' + (location.pathname.split('/')[1] ?? '');
  const isAdmin = roleAllows(me.data.role, 'admin');
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Header style={{ display: 'flex', alignItems: 'center', gap: 24, background: '#fff', borderBottom: '1px solid #f0f0f0' }}>
        <Typography.Title level={4} style={{ margin: 0, color: '#006aff', whiteSpace: 'nowrap' }}>
          obsync
        </Typography.Title>
        <Menu
          mode="horizontal"
          style={{ flex: 1, borderBottom: 'none' }}
          selectedKeys={[section === '/' ? '/overview' : section]}
          onClick={(e) => navigate(e.key)}
          items={[
            { key: '/overview', label: t('nav.overview') },
            { key: '/projects', label: t('nav.projects') },
            { key: '/datasources', label: t('nav.datasources') },
            { key: '/tags', label: t('nav.tags') },
            ...(isAdmin ? [{ key: '/users', label: t('nav.users') }] : []),
          ]}
        />
        <Space>
          <LanguageSwitch />
          <Typography.Text type="secondary" data-testid="me" data-role={me.data.role}>
            {me.data.username} · {t(`users.roles.${me.data.role}`)}
          </Typography.Text>
          <Button size="small" onClick={() => setChangingPassword(true)} data-testid="change-password">
            {t('password.title')}
          </Button>
          <Button size="small" onClick={() => logout.mutate()} data-testid="logout">
            {t('nav.logout')}
          </Button>
        </Space>
      </Layout.Header>
      <Layout.Content style={{ padding: 24, maxWidth: 1400, width: '100%', margin: '0 auto' }}>
        <Routes>
          <Route path="/" element={<Navigate to="/overview" replace />} />
          <Route path="/overview" element={<OverviewPage />} />
          <Route path="/projects" element={<ProjectsPage />} />
          <Route path="/projects/new" element={<WizardPage />} />
          <Route path="/projects/:id/edit" element={<WizardPage />} />
          <Route path="/projects/:id/objects" element={<ChangeObjectsPage />} />
          <Route path="/projects/:id" element={<ProjectDetailPage />} />
          <Route path="/datasources" element={<DataSourcesPage />} />
          <Route path="/tags" element={<TagsPage />} />
          {isAdmin && <Route path="/users" element={<UsersPage />} />}
          <Route path="*" element={<Navigate to="/overview" replace />} />
        </Routes>
      </Layout.Content>
      <PasswordDialog open={changingPassword} onClose={() => setChangingPassword(false)} />
    </Layout>
  );
}
