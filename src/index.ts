// The public API: `import { run, defineSite } from 'pagepool'`.

/** The Playwright page an adapter gets (`login`, `list`, `job.page`): `import type { Page } from 'pagepool'`. */
export type { Page } from 'playwright';
export {
  type Portal as DemoPortal,
  type PortalOptions as DemoPortalOptions,
  startPortal as startDemoPortal,
} from './demo/portal.js';
export {
  ConfigError,
  classify,
  ForbiddenError,
  LoginError,
  NoItemsError,
  PagepoolError,
  PermanentError,
  RateLimitedError,
  SessionExpiredError,
  ShutdownError,
  TaskTimeoutError,
} from './errors.js';
export type { FetchOptions, FileKind, FileOptions, Files, SavedFile } from './files/types.js';
export {
  MetricsCollector,
  type MetricsCollectorOptions,
  type MetricsSnapshot,
} from './metrics/metrics-collector.js';
export {
  type MetricsServer,
  type MetricsServerOptions,
  openMetricsServer,
} from './metrics/metrics-server.js';
export { type RunOptions, run } from './run.js';
export type { RunEvents } from './run-events.js';
export type { Read, ReadOptions } from './sites/adaptive-read.js';
export { type CheckResponseOptions, checkResponse } from './sites/check-response.js';
export type { HtmlPage } from './sites/html-page.js';
export type { HttpReader, HttpReadOptions } from './sites/http-reader.js';
export { BUILT_IN_SITES, loadSite } from './sites/load-site.js';
export { type Credentials, defineSite, type Job, type ListContext, type Site } from './sites/site.js';
export { type TotpOptions, totp } from './sites/totp.js';
