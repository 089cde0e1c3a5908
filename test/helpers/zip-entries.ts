// A zip's entries, uncompressed, read by a real zip library (fflate), for tests that look inside a trace.
import { readFile } from 'node:fs/promises';
import { unzipSync } from 'fflate';

export interface ZipEntry {
  name: string;
  data: Buffer;
}

export async function readZipEntries(file: string): Promise<ZipEntry[]> {
  return Object.entries(unzipSync(await readFile(file))).map(([name, data]) => ({
    name,
    data: Buffer.from(data),
  }));
}
