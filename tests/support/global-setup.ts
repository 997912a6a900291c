import type { TestProject } from 'vitest/node';
import { buildTemplates, startTestServer, type ServerUrls } from '../../scripts/lib/test-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    sgServer: ServerUrls;
    sgServerVersion: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const server = await startTestServer();
  try {
    const version = await buildTemplates(server.urls);
    project.provide('sgServer', server.urls);
    project.provide('sgServerVersion', version);
    console.log(`scrapeguard tests on ${version.split(' on ')[0]}${server.external ? ' (DATABASE_URL)' : ' (embedded)'}`);
  } catch (err) {
    server.dispose();
    throw err;
  }
  return () => server.dispose();
}
