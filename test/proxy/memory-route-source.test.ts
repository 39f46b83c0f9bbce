import { MemoryRouteSource } from '../../packages/proxy/src/testing/memory-route-source.ts';
import { describeRouteSourceConformance } from './route-source-conformance.ts';

// The in-memory source the RouteFeed tests use must keep the same contract as the Postgres adapter.
describeRouteSourceConformance('MemoryRouteSource', async () => {
  const source = new MemoryRouteSource();
  return { source, commit: async (routes) => source.set(routes) };
});
