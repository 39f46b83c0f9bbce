import type { FunctionComponent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { PageProps } from './page.ts';
import { match, useLocation } from './router.ts';
import { ROUTES } from './routes.ts';
import { onSession, restoreSession, type Session, signOut } from './session.ts';
import { SignIn } from './sign-in.tsx';

const loaded = new Map<string, FunctionComponent<PageProps>>();

/** The whole page: sign-in until there is a session, then the header and the page the hash names. */
export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    const off = onSession(setSession);
    void restoreSession();
    return off;
  }, []);
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

  useEffect(() => {
    if (!found) return;
    const { route, params } = found;
    document.title = params?.app ? `${params.app} · ${route.title} · Pier` : `${route.title} · Pier`;
    const ready = loaded.get(route.pattern);
    if (ready) {
      setPage({ pattern: route.pattern, component: ready });
      return;
    }
    route.load().then(
      (module) => {
        loaded.set(route.pattern, module.default);
        setPage({ pattern: route.pattern, component: module.default });
      },
      (err: Error) => setLoadError(err),
    );
  }, [found?.route.pattern, found?.params?.app]);

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
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
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
