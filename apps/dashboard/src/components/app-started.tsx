import { useEffect, useRef } from 'preact/hooks';
import { href } from '../router.ts';

/**
 * The deployment an action started, linking to its page (a polite live
 * region, like `Notice`). `focus`: the link takes the focus when it appears,
 * for actions confirmed in a dialog that closes (the focus would else be lost).
 */
export function StartedNotice(props: { app: string; id: string; text: string; focus?: boolean }) {
  const link = useRef<HTMLAnchorElement>(null);
  useEffect(() => {
    if (props.focus) link.current?.focus();
  }, [props.focus]);
  return (
    <p class="notice" role="status">
      {props.text}:{' '}
      <a ref={link} href={href('apps', props.app, 'deployments', props.id)}>
        follow deployment {props.id.slice(0, 8)}
      </a>
    </p>
  );
}
