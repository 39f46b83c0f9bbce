import type { FunctionComponent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';
import { useAction } from './hooks.ts';
import type { PageProps } from './page.ts';
import { match, useLocation } from './router.ts';
import { ROUTES } from './routes.ts';
import { onSession, restoreSession, type Session, signOut } from './session.ts';
import { SignIn } from './sign-in.tsx';

const loaded = new Map<string, FunctionComponent<PageProps>>();

/** While Pier does not answer on load, the session is asked for again this often. */
const UNREACHED_RETRY_MS = 5000;

/** The whole page: sign-in until there is a session, then the header and the page the hash names. */
export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  // The api did not answer on load (e.g. restarting): not a reason to ask for a token again.
  const [unreachable, setUnreachable] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => onSession(setSession), []);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    restoreSession().then(
      () => !stopped && setUnreachable(null),
      (err: unknown) => {
        if (stopped) return;
        setUnreachable(err instanceof ApiError ? err : new ApiError(0, 'network', String(err)));
        timer = setTimeout(() => setAttempt((a) => a + 1), UNREACHED_RETRY_MS);
      },
    );
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [attempt]);
  if (session === undefined && unreachable)
    return (
      <main id="main" class="sign-in">
        <h1>Pier</h1>
        <p class="error-note" role="alert">
          Pier did not answer: it may be restarting. This page asks again every few seconds.
        </p>
        <button type="button" class="primary" onClick={() => setAttempt((a) => a + 1)}>
          Retry
        </button>
      </main>
    );
  if (session === undefined)
    return (
      <main id="main" class="loading" aria-busy="true">
        Loading…
      </main>
    );
  if (session === null) return <SignIn />;
  return <Shell session={session} />;
}

function Shell(props: { session: Session }) {
  const location = useLocation();
  const found = ROUTES.map((r) => ({ route: r, params: match(r.pattern, location.path) })).find((m) => m.params !== null);
  const [page, setPage] = useState<{ pattern: string; component: FunctionComponent<PageProps> } | null>(null);
  const [loadError, setLoadError] = useState<Error | null>(null);
  const leave = useAction(() => signOut());

  useEffect(() => {
    // Another page: an earlier page's load error is not this one's.
    setLoadError(null);
    if (!found) return;
    const { route, params } = found;
    document.title = params?.app ? `${params.app} · ${route.title} · Pier` : `${route.title} · Pier`;
    const ready = loaded.get(route.pattern);
    if (ready) {
      setPage({ pattern: route.pattern, component: ready });
      return;
    }
    let current = true;
    route.load().then(
      (module) => {
        loaded.set(route.pattern, module.default);
        if (current) setPage({ pattern: route.pattern, component: module.default });
      },
      (err: Error) => current && setLoadError(err),
    );
    return () => {
      current = false;
    };
  }, [location.path, found?.route.pattern, found?.params?.app]);

  // After a move to another page, focus goes to its content (keyboard and screen-reader users start there);
  // on the first page it stays at the top, where the skip button is.
  const firstPath = useRef(location.path);
  useEffect(() => {
    if (location.path === firstPath.current && firstPath.current !== '') return;
    firstPath.current = '';
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [location.path]);

  const Page = page && found && page.pattern === found.route.pattern ? page.component : null;
  const admin = props.session.role === 'admin';
  return (
    <>
      {/* A button, not a link: the hash is the page's route. */}
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href="#/">
          Pier
        </a>
        <nav aria-label="Main">
          <ul>
            <li>
              <a href="#/" aria-current={location.path === '/' || location.path.startsWith('/apps') ? 'page' : undefined}>
                Apps
              </a>
            </li>
            {admin && (
              <li>
                <a href="#/services" aria-current={location.path.startsWith('/services') ? 'page' : undefined}>
                  Services
                </a>
              </li>
            )}
            <li>
              <a href="#/events" aria-current={location.path === '/events' ? 'page' : undefined}>
                Events
              </a>
            </li>
            <li>
              <a href="#/settings" aria-current={location.path === '/settings' ? 'page' : undefined}>
                Settings
              </a>
            </li>
          </ul>
        </nav>
        <div class="who">
          <span class="muted">{props.session.app ? `app token: ${props.session.app}` : 'admin'}</span>
          <button type="button" onClick={() => void leave.run()} disabled={leave.pending}>
            {leave.pending ? 'Signing out…' : 'Sign out'}
          </button>
          {leave.error && (
            <p class="error-note" role="alert">
              Signing out failed: {leave.error.message}
            </p>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {!found && (
          <>
            <h1>Not found</h1>
            <p>
              No page here. <a href="#/">Back to the apps</a>.
            </p>
          </>
        )}
        {loadError && (
          <p class="error-note" role="alert">
            This page could not be loaded ({loadError.message}): reload to get the current version of the dashboard.
          </p>
        )}
        {found && Page && <Page params={found.params ?? {}} query={location.query} />}
        {found && !Page && !loadError && (
          <p class="muted" aria-busy="true">
            Loading…
          </p>
        )}
      </main>
    </>
  );
}
