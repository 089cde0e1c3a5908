// The demo portal's counters: what it served, refused and saw, for tests and benchmarks to read.

export interface PortalStats {
  logins: number;
  loginFailures: number;
  /** Per item key (stock number or card id): file responses that started a 200/206 body (truncated ones count). */
  filesServed: Record<string, number>;
  /**
   * Per item key: file bodies sent from byte 0 (a 200, or a 206 from 0). Above 1, a download started over
   * instead of resuming its `.part`.
   */
  filesFromZero: Record<string, number>;
  /** File bodies sent from a later byte: 206 answers that resumed a `.part`. */
  filesResumed: number;
  /** Per item key: detail and card HTML pages answered 200. */
  pagesServed: Record<string, number>;
  sent5xx: number;
  sent429: number;
  stuck: number;
  truncated: number;
  /** File bodies that stalled (the first KiB, then 1 byte per second). */
  stalled: number;
  /** File requests answered with the 200 "session expired" page (the session itself stayed valid). */
  htmlExpired: number;
  /** Sessions the portal dropped for outliving `sessionLifetimeMs`. */
  expiredSessions: number;
  requests: number;
  /** File requests (PDF, PNG) open right now: from arrival until their response closes. */
  filesInFlight: number;
  /** The most file requests ever open at once. */
  peakFilesInFlight: number;
  /** Requests whose headers did not match their bound session: re-validated, the session id rotated. */
  revalidations: number;
  /** Pages and files answered 403 to a logged-in user (`forbiddenEvery`, `forbiddenListing`). */
  sent403: number;
  /** Second-factor codes refused (wrong, from too far off, or not six digits). */
  totpFailures: number;
  /** File requests answered 304 Not Modified (If-None-Match, If-Modified-Since). */
  notModified: number;
  /** Bytes of file bodies (PDF, PNG) written to sockets, as sent (cut bodies count what was sent). */
  fileBodyBytes: number;
}

/** Every counter at zero. */
export function emptyStats(): PortalStats {
  return {
    logins: 0,
    loginFailures: 0,
    filesServed: {},
    filesFromZero: {},
    filesResumed: 0,
    pagesServed: {},
    sent5xx: 0,
    sent429: 0,
    stuck: 0,
    truncated: 0,
    stalled: 0,
    htmlExpired: 0,
    expiredSessions: 0,
    requests: 0,
    filesInFlight: 0,
    peakFilesInFlight: 0,
    revalidations: 0,
    sent403: 0,
    totpFailures: 0,
    notModified: 0,
    fileBodyBytes: 0,
  };
}
