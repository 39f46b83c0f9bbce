export * from './job-catalog.ts';
export * from './job-queue.ts';
