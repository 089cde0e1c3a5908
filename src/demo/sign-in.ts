// Signing in to the demo portal: the session cookie, the password form, the second factor, the licence, signing
// out, and which session a request has (checked against its headers when sessions are bound).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { licencePage, loginPage, totpPage } from './pages.js';
import type { PortalOptions } from './portal-options.js';
import type { PortalStats } from './portal-stats.js';
import { readCookie, readForm } from './request-parts.js';
import { headerFingerprint, SessionBinding } from './session-binding.js';
import type { Session, SessionStore } from './session-store.js';
import { TotpStep } from './totp-step.js';

const COOKIE = 'pp_session';
const CLEAR_COOKIE = `${COOKIE}=; HttpOnly; Path=/; SameSite=Lax; Max-Age=0`;

const sessionCookie = (id: string): string => `${COOKIE}=${id}; HttpOnly; Path=/; SameSite=Lax`;

/** What sign-in uses of the portal: its options, counters, sessions, clock and ways to answer. */
export interface SignInContext {
  opts: Readonly<PortalOptions>;
  stats: PortalStats;
  sessions: SessionStore;
  delay: (ms: number) => Promise<void>;
  sendHtml: (res: ServerResponse, status: number, page: string) => Promise<void>;
  redirect: (
    res: ServerResponse,
    status: 302 | 303,
    location: string,
    headers?: Record<string, string>,
  ) => void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface SignIn {
  /**
   * The request's live session. A bound session whose headers differ is re-validated first; when that rotates
   * its id, the new cookie is set on `res`.
   */
  sessionOf(req: IncomingMessage, res: ServerResponse): Promise<Session | undefined>;
  /** The redirect to /login, clearing a cookie that names a session the portal no longer knows. */
  toLogin(req: IncomingMessage, res: ServerResponse, session: Session | undefined): void;
  /** GET: the form (or, with `loginRedirects`, /inventory for a signed-in visitor); POST: the password. */
  login: Handler;
  /** /login/code: the second factor, between the password and the licence. */
  loginCode: Handler;
  licence: Handler;
  logout: Handler;
  /** Re-validations of bound sessions so far. */
  revalidations(): number;
}

export function createSignIn({ opts, stats, sessions, delay, sendHtml, redirect }: SignInContext): SignIn {
  const binding = new SessionBinding(sessions, opts.revalidateMs, delay);
  const totp = opts.totpSecret === '' ? undefined : new TotpStep(opts.totpSecret);

  const sessionOf: SignIn['sessionOf'] = async (req, res) => {
    const session = sessions.get(readCookie(req, COOKIE));
    if (!session || !opts.bindSession) return session;
    const checked = await binding.check(session, req);
    if (checked && checked.id !== session.id) res.setHeader('Set-Cookie', sessionCookie(checked.id));
    return checked;
  };

  const toLogin: SignIn['toLogin'] = (req, res, session) => {
    // A live session that has not accepted the licence keeps its cookie: the browser's own side requests
    // (favicon, prefetch) land here too, and must not log the user out halfway through the licence page.
    const stale = session === undefined && readCookie(req, COOKIE) !== undefined;
    redirect(res, 302, '/login', stale ? { 'Set-Cookie': CLEAR_COOKIE } : {});
  };

  const login: Handler = async (req, res) => {
    if (req.method !== 'POST') {
      // Rails/Devise send a signed-in visitor away from the sign-in form.
      if (opts.loginRedirects && readCookie(req, COOKIE) !== undefined) {
        const session = await sessionOf(req, res);
        if (res.destroyed) return;
        if (session?.licenceAccepted) return redirect(res, 302, '/inventory');
      }
      return sendHtml(res, 200, loginPage());
    }
    const form = await readForm(req);
    if (!form) return sendHtml(res, 413, loginPage('The form was too large.'));
    const username = form.get('username') ?? '';
    if (username !== opts.username || (form.get('password') ?? '') !== opts.password) {
      stats.loginFailures++;
      return sendHtml(res, 401, loginPage('Invalid username or password', username));
    }
    stats.logins++;
    const session = sessions.create(headerFingerprint(req), totp !== undefined);
    redirect(res, 303, totp ? '/login/code' : '/licence', { 'Set-Cookie': sessionCookie(session.id) });
  };

  const loginCode: Handler = async (req, res) => {
    const session = await sessionOf(req, res);
    if (res.destroyed) return;
    if (!totp || !session) return toLogin(req, res, session);
    if (!session.awaitingCode) return redirect(res, 302, '/licence');
    if (req.method !== 'POST') return sendHtml(res, 200, totpPage());
    const form = await readForm(req);
    if (!totp.accepts((form?.get('code') ?? '').trim())) {
      stats.totpFailures++;
      return sendHtml(res, 401, totpPage('That code is not valid. Enter the current 6-digit code.'));
    }
    session.awaitingCode = false;
    redirect(res, 303, '/licence');
  };

  const licence: Handler = async (req, res) => {
    const session = await sessionOf(req, res);
    if (res.destroyed) return;
    if (!session) return toLogin(req, res, session);
    if (session.awaitingCode) return redirect(res, 302, '/login/code');
    if (req.method !== 'POST') return sendHtml(res, 200, licencePage());
    const form = await readForm(req);
    if (form?.get('accept') !== 'on') {
      return sendHtml(res, 400, licencePage('You must accept the licence agreement to continue.'));
    }
    session.licenceAccepted = true;
    redirect(res, 303, '/inventory');
  };

  const logout: Handler = (req, res) => {
    const id = readCookie(req, COOKIE);
    if (id !== undefined) sessions.delete(id);
    redirect(res, 303, '/login', { 'Set-Cookie': CLEAR_COOKIE });
  };

  return { sessionOf, toLogin, login, loginCode, licence, logout, revalidations: () => binding.count };
}
