import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import type { ApiError } from '../api.ts';
import { useTick } from '../hooks.ts';

/** A labelled input whose API error (the field the message names) shows under it and is announced. */
export function Field(props: {
  label: string;
  name: string;
  error?: ApiError | undefined;
  hint?: string;
  children: (attrs: { id: string; name: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => JSX.Element;
}) {
  // Unique on the page even when two forms have a field of the same name.
  const id = `${useId()}-${props.name}`;
  const own = props.error && props.error.field === props.name ? props.error : undefined;
  const described = [own ? `${id}-error` : '', props.hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  return (
    <div class={`field${own ? ' invalid' : ''}`}>
      <label for={id}>{props.label}</label>
      {props.children({
        id,
        name: props.name,
        'aria-invalid': Boolean(own),
        ...(described ? { 'aria-describedby': described } : {}),
      })}
      {props.hint && (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      {own && (
        <p id={`${id}-error`} class="field-error" role="alert">
          {own.message.replace(/^[\w.[\]-]+:\s*/, '')}
        </p>
      )}
    </div>
  );
}

/**
 * An action's error that no field of `fields` claims (those show under their field), or any error when no
 * fields are given; `role="alert"` so that it is announced.
 */
export function ErrorNote(props: { error: ApiError | undefined; fields?: readonly string[] }) {
  const { error, fields } = props;
  if (!error) return null;
  if (fields && error.field && fields.includes(error.field)) return null;
  return (
    <p class="error-note" role="alert">
      {error.message}
      {error.code && error.code !== 'http_error' && <span class="code"> ({error.code})</span>}
    </p>
  );
}

/** A result to say out loud after an action (a polite live region). */
export function Notice(props: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {props.children}
    </p>
  );
}

const STATE_CLASS: Record<string, string> = {
  live: 'ok',
  succeeded: 'ok',
  issued: 'ok',
  verified: 'ok',
  healthy: 'ok',
  ok: 'ok',
  serving: 'ok',
  ready: 'ok',
  provisioning: 'busy',
  verifying: 'busy',
  deleting: 'busy',
  draining: 'busy',
  starting: 'busy',
  expired: 'bad',
  sent: 'ok',
  passed: 'ok',
  dead: 'bad',
  suppressed: 'muted',
  running: 'busy',
  deploying: 'busy',
  building: 'busy',
  queued: 'busy',
  pending: 'busy',
  waiting_for_checks: 'busy',
  failed: 'bad',
  'crash-looping': 'bad',
  crash_looping: 'bad',
  unhealthy: 'bad',
  critical: 'bad',
  warning: 'warn',
  cancelled: 'muted',
  superseded: 'muted',
  skipped: 'muted',
  new: 'muted',
};

/** A state as a word on a coloured badge (the word carries the meaning; the colour only helps). */
export function StateBadge(props: { state: string }) {
  return <span class={`badge badge-${STATE_CLASS[props.state] ?? 'muted'}`}>{props.state.replace(/_/g, ' ')}</span>;
}

export function ago(at: string | Date, now = Date.now()): string {
  const s = Math.round((now - new Date(at).getTime()) / 1000);
  if (s < 0) return 'in the future';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** "3m ago", kept current, with the exact time on hover and for assistive tech. */
export function TimeAgo(props: { at: string | null | undefined }) {
  useTick(30_000);
  if (!props.at) return <span class="muted">never</span>;
  return (
    <time dateTime={props.at} title={new Date(props.at).toLocaleString()}>
      {ago(props.at)}
    </time>
  );
}

/**
 * A modal confirmation (`<dialog>`): focus moves into it, Escape cancels.
 * `confirmText` set: the user must type it first (deleting things).
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children?: ComponentChildren;
  confirmLabel: string;
  confirmText?: string;
  danger?: boolean;
  pending?: boolean;
  error?: ApiError | undefined;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const typed = useRef<HTMLInputElement>(null);
  // Several dialogs may be on one page: each names itself by its own heading.
  const id = useId();
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (props.open && !d.open) {
      // A typed confirmation is typed anew each time the dialog opens.
      if (typed.current) typed.current.value = '';
      d.showModal();
    }
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog
      ref={dialog}
      aria-labelledby={`${id}-title`}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (props.confirmText && typed.current?.value !== props.confirmText) {
            typed.current?.focus();
            return;
          }
          props.onConfirm();
        }}
      >
        <h2 id={`${id}-title`}>{props.title}</h2>
        {props.children}
        {props.confirmText && (
          <div class="field">
            <label for={`${id}-typed`}>
              Type <strong>{props.confirmText}</strong> to confirm
            </label>
            <input id={`${id}-typed`} ref={typed} autocomplete="off" required />
          </div>
        )}
        <ErrorNote error={props.error} />
        <div class="actions">
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={props.pending}>
            {props.pending ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** A page's loading state or its load error, else its content (under the error of a reload that failed). */
export function Loaded<T>(props: {
  resource: { data: T | undefined; error: ApiError | undefined; loading: boolean };
  children: (data: T) => ComponentChildren;
}) {
  const { data, error } = props.resource;
  if (data !== undefined)
    return (
      <>
        {error && <ErrorNote error={error} />}
        {props.children(data)}
      </>
    );
  if (error) return <ErrorNote error={error} />;
  return (
    <p class="muted" aria-busy="true">
      Loading…
    </p>
  );
}
