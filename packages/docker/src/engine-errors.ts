/** Whether an error from dockerode is the Engine answering with this HTTP status. */
export function isStatus(error: unknown, statusCode: number): boolean {
  return typeof error === 'object' && error !== null && (error as { statusCode?: unknown }).statusCode === statusCode;
}

/** The Engine's own explanation in a dockerode error, without dockerode's `(HTTP code 500) server error - ` prefix. */
export function engineMessage(error: unknown): string {
  const json = typeof error === 'object' && error !== null ? (error as { json?: { message?: unknown } }).json : undefined;
  if (typeof json?.message === 'string') return json.message;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}
