// The demo vehicles adapter with each item holding a browser page from its start and reading its detail page there
// (scripts run), as adapters did before pages could be read over HTTP: for tests of what pages do (recycling,
// snapshots with a screenshot, traces, scripts: false). The built-in adapter reads its pages over HTTP.
import demoVehicles, { type VehicleRef } from '../../src/sites/demo-vehicles.js';
import { defineSite, type Site } from '../../src/sites/site.js';

export function demoOnThePage(options: { scripts?: boolean } = {}): Site<VehicleRef> {
  return defineSite<VehicleRef>({
    ...demoVehicles,
    ...options,
    pageOnDemand: false,
    process(job) {
      const read: typeof job.read = (url, extract, readOptions) =>
        job.read(url, extract, { ...readOptions, via: 'page' });
      return demoVehicles.process(Object.assign(Object.create(job) as typeof job, { read }));
    },
  });
}
