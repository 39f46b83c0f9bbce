import { useRef, useState } from 'preact/hooks';

/**
 * A secret Pier shows once (a new API token, a generated webhook secret):
 * a read-only field, a copy button and a warning. "Done" forgets it.
 */
export function ShowOnce(props: { label: string; value: string; what: string; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied('yes');
    } catch {
      // No clipboard access (an insecure origin, a refused permission): select it for Ctrl-C instead.
      input.current?.select();
      setCopied('no');
    }
  };
  return (
    <fieldset class="panel show-once">
      <legend>{props.label}</legend>
      <p class="show-once-warning">
        <strong>Copy {props.what} now:</strong> Pier does not show it again. Anyone who has it can use it.
      </p>
      <div class="field">
        <label for="show-once-value">The value</label>
        <input
          id="show-once-value"
          ref={input}
          class="mono"
          readOnly
          value={props.value}
          autocomplete="off"
          spellcheck={false}
          onFocus={(e) => e.currentTarget.select()}
        />
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={props.onDone}>
          Done, hide it
        </button>
        <span role="status">
          {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'Selected: press Ctrl-C (⌘-C) to copy it.' : ''}
        </span>
      </div>
    </fieldset>
  );
}
