import type { ProxyConfig } from '@pier/config';
import { EdgeCache, EdgeCdn } from '@pier/proxy';

const MIB = 1024 * 1024;

/**
 * The edge's CDN role as configured: compression, and the response cache
 * unless PIER_PROXY_CACHE_MB_PER_APP is 0. The byte bounds are the proxy's:
 * with several serving processes, each keeps its share (`share`: 1/N).
 */
export function edgeCdnFrom(
  config: Pick<
    ProxyConfig,
    'PIER_PROXY_CACHE_MB_PER_APP' | 'PIER_PROXY_CACHE_MB_TOTAL' | 'PIER_PROXY_CACHE_MAX_ENTRY_KB' | 'PIER_PROXY_COMPRESSION'
  >,
  share = 1,
): EdgeCdn {
  const perApp = Math.floor(config.PIER_PROXY_CACHE_MB_PER_APP * MIB * share);
  const cache =
    perApp > 0
      ? new EdgeCache({
          maxBytesPerApp: perApp,
          maxBytesTotal: Math.floor(config.PIER_PROXY_CACHE_MB_TOTAL * MIB * share),
          maxEntryBytes: config.PIER_PROXY_CACHE_MAX_ENTRY_KB * 1024,
        })
      : null;
  return new EdgeCdn({ compression: config.PIER_PROXY_COMPRESSION, cache });
}
