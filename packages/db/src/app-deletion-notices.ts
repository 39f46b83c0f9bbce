import type postgres from 'postgres';
import { APP_DELETED_CHANNEL, APP_IMAGES_REMOVED_CHANNEL } from './channels.ts';

/** What the worker did with a deleted app's images; no secret in it (it travels as a NOTIFY payload). */
export interface AppImagesRemoved {
  app: string;
  /** Images removed. */
  images: number;
  /** How much the engine's image layers shrank meanwhile (`ContainerRuntime.imageDiskBytes`), never below 0. */
  freedBytes: number;
}

/** Tells whoever waits on the app's deletion (the API answering its DELETE) what was removed. */
export async function notifyAppImagesRemoved(sql: postgres.Sql, notice: AppImagesRemoved): Promise<void> {
  await sql`select pg_notify(${APP_IMAGES_REMOVED_CHANNEL}, ${JSON.stringify(notice)})`;
}

/** A LISTEN made before the deletion commits, so that the worker's answer cannot come before it. */
export interface AppImagesWatch {
  /** The worker's notice for the app, or null when none came within `timeoutMs`. */
  result(timeoutMs: number): Promise<AppImagesRemoved | null>;
  close(): Promise<void>;
}

export async function watchAppImagesRemoved(sql: postgres.Sql, app: string): Promise<AppImagesWatch> {
  let settle: (notice: AppImagesRemoved) => void = () => {};
  const arrived = new Promise<AppImagesRemoved>((resolve) => {
    settle = resolve;
  });
  const listener = await sql.listen(APP_IMAGES_REMOVED_CHANNEL, (payload) => {
    const notice = readNotice(payload);
    if (notice?.app === app) settle(notice);
  });
  return {
    async result(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      });
      try {
        return await Promise.race([arrived, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => listener.unlisten(),
  };
}

/** Calls `onApp` with the name of each app deleted from now on; resolves once listening, to the way to stop. */
export async function onAppDeleted(sql: postgres.Sql, onApp: (name: string) => void): Promise<() => Promise<void>> {
  const listener = await sql.listen(APP_DELETED_CHANNEL, (name) => {
    if (name) onApp(name);
  });
  return () => listener.unlisten();
}

function readNotice(payload: string): AppImagesRemoved | null {
  try {
    const value = JSON.parse(payload) as Partial<AppImagesRemoved>;
    if (typeof value.app !== 'string' || typeof value.images !== 'number' || typeof value.freedBytes !== 'number') return null;
    return { app: value.app, images: value.images, freedBytes: value.freedBytes };
  } catch {
    return null;
  }
}
