import { useState } from 'preact/hooks';
import { ErrorNote, Field } from './components/ui.tsx';
import { useAction } from './hooks.ts';
import { signIn } from './session.ts';

/** Sign in with an API token (admin or app); it is exchanged for a session cookie at once. */
export function SignIn() {
  const [token, setToken] = useState('');
  const action = useAction((t: string) => signIn(t));
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to Pier</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(token).then(() => setToken(''));
        }}
      >
        <Field
          label="API token"
          name="token"
          error={action.error}
          hint="PIER_ADMIN_TOKEN, or a token from `pier tokens create`. It is exchanged for a session; the page does not keep it."
        >
          {(attrs) => (
            <input
              {...attrs}
              type="password"
              autocomplete="current-password"
              required
              value={token}
              onInput={(e) => setToken(e.currentTarget.value)}
            />
          )}
        </Field>
        <ErrorNote error={action.error} fields={['token']} />
        <button type="submit" class="primary" disabled={action.pending}>
          {action.pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
