/**
 * What every client of Pier's REST API shares — the `pier` CLI and the web
 * dashboard: plain functions with no imports at all (a dependency rule keeps
 * it so), which run the same in Node.js and in a browser.
 */

export * from './api-types.ts';
export * from './dotenv.ts';
export * from './promote-differences.ts';
