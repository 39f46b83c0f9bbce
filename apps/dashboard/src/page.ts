import type { Params } from './router.ts';

/** What every page is given: its route's params and the query of the hash. */
export interface PageProps {
  params: Params;
  query: URLSearchParams;
}
