import type { PageProps } from '../page.ts';

/** Placeholder until the page is written. */
export default function Page(_props: PageProps) {
  return <h1>app</h1>;
}
