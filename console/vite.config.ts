import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the API to a local `obsync server` (OBSYNC_SERVER, default :8080),
// so the console can be developed with hot reload against the real server.
const server = process.env.OBSYNC_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  server: { proxy: { '/api': server } },
  build: {
    outDir: 'dist',
    // antd is one large chunk; keep it apart from the app code so app changes stay small.
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (id.includes('node_modules/antd') || id.includes('node_modules/@ant-design') || id.includes('node_modules/rc-')) return 'antd';
          if (id.includes('node_modules')) return 'vendor';
          return undefined;
        },
      },
    },
    chunkSizeWarningLimit: 2000,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
