// Where a checkpoint's journal sits, given its snapshot path.

/** `checkpoint.json` -> `checkpoint.jsonl`; any other name gets `.jsonl` appended. */
export function journalPathFor(snapshotPath: string): string {
  return snapshotPath.endsWith('.json') ? `${snapshotPath}l` : `${snapshotPath}.jsonl`;
}

/** A file-name-safe UTC timestamp, e.g. `20250101-120000-123`. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').replace('Z', '');
}
